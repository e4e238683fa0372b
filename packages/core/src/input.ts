/**
 * Request parsing at core's boundary (docs/WIRE.md "Validation"). Every request body is
 * parsed here once into a typed value; inside core, types are trusted.
 */
import { z } from 'zod';
import { invalidArgument } from './errors.js';
import { EXPIRY_RANGE, TEMPLATE_TYPES, type TemplateType } from './policy.js';
import { zodViolations } from './violations.js';

/** Names a request may not set: the server fills them. */
export const RESERVED_TEMPLATE_VARIABLES = ['otp', 'link', 'expiry_time_relative', 'expire_time', 'expiry_time'] as const;

export const MAX_EMAIL_LENGTH = 320;
export const MAX_TEMPLATE_VARIABLES = 30;

/**
 * An address as given (trimmed, NFC) for display and delivery, and the keys it is known by.
 * `key` names the mailbox exactly: the local part lower-cased, the domain in its IDNA (UTS-46)
 * ASCII form, so `w@bücher.de` and `w@XN--BCHER-KVA.DE` are one key; admins are keyed by it.
 * `limitKey` is `key` without a `+tag` in the local part: every per-address limit counts on it
 * (it is an auth request's `emailKey`), so `w+1@d`, `w+2@d` and `w@d` share one limit. It is
 * not an identity, since some mail systems treat `+` as an ordinary character.
 */
export interface NormalizedEmail {
  readonly address: string;
  readonly key: string;
  readonly limitKey: string;
}

/**
 * Characters an address may not contain. Invisible ones (zero-width, soft hyphen, variation
 * selectors, bidi controls, other format characters), private-use and lone surrogates: they let
 * one mailbox be spelled many ways, or make an address read as another.
 */
const INVISIBLE_OR_MALFORMED = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Bidi_Control}\p{Co}\p{Cs}]/u;
/**
 * Full stops other than ".": those IDNA reads as "." (。．｡) and look-alikes. Refused, not
 * mapped, so one mailbox has one spelling and no address hides a label boundary.
 */
const NON_ASCII_DOT = /[\u3002\uff0e\uff61\ufe52\u2024\u0701\u0702\u06d4\u2e3c\ua4f8\ua60e]/u;
/** A domain before IDNA: letters, marks, digits, "-" and "." only (so nothing is percent-decoded). */
const DOMAIN_CHARACTERS = /^[\p{L}\p{M}\p{N}.-]+$/u;
const ASCII_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

// One local part and a dotted domain with a TLD of two letters or more; no spaces, no angle
// brackets, no quotes: anything an SMTP header or a template could misread is refused.
const EMAIL_PATTERN = /^[^\s\p{Cc}@<>()[\]\\,;:"]+@[^\s\p{Cc}@<>()[\]\\,;:"_]+\.(?:\p{L}{2,}|xn--[a-z0-9-]{2,})$/iu;

/**
 * The domain's IDNA ASCII form, or null when it has none that DNS could hold. The WHATWG URL
 * host parser applies UTS-46 (the same algorithm as `url.domainToASCII` in Node, available in
 * every runtime core runs in); the characters were limited first, so nothing but the host is parsed.
 */
function asciiDomain(domain: string): string | null {
  if (!DOMAIN_CHARACTERS.test(domain)) return null;
  let host: string;
  try {
    host = new URL(`http://${domain}/`).hostname;
  } catch {
    return null;
  }
  if (host.length > 253 || !host.split('.').every((label) => ASCII_LABEL.test(label))) return null;
  return host;
}

/**
 * Why an address (already trimmed and NFC) is refused, or null. Compatibility forms (fullwidth
 * letters, ligatures, superscripts: anything NFKC would change) are refused rather than folded:
 * a refused spelling cannot open a second send limit, and honest addresses do not use them.
 */
export function emailProblem(address: string): string | null {
  return checkEmail(address).problem;
}

/** The refusal of an address, or its domain's ASCII form: one pass, so the domain is parsed once. */
function checkEmail(
  address: string,
): { readonly problem: string; readonly domain?: never } | { readonly problem: null; readonly domain: string } {
  if (address.length === 0) return { problem: 'is required' };
  if (address.length > MAX_EMAIL_LENGTH) return { problem: `must be at most ${MAX_EMAIL_LENGTH} characters` };
  if (INVISIBLE_OR_MALFORMED.test(address)) return { problem: 'must not contain invisible or text-direction characters' };
  if (NON_ASCII_DOT.test(address)) return { problem: 'must use "." as its only full stop' };
  if (address.normalize('NFKC') !== address) return { problem: 'must not contain fullwidth or compatibility characters' };
  if (!EMAIL_PATTERN.test(address) || address.includes('..')) return { problem: 'must be a valid email address' };
  const at = address.lastIndexOf('@');
  const domain = at > 64 ? null : asciiDomain(address.slice(at + 1));
  return domain === null ? { problem: 'must be a valid email address' } : { problem: null, domain };
}

/** The address as given and its keys; throws INVALID_ARGUMENT (field `email`) for a refused one. */
export function normalizeEmail(raw: string): NormalizedEmail {
  const address = raw.trim().normalize('NFC');
  const checked = checkEmail(address);
  if (checked.problem !== null) throw invalidArgument([{ field: 'email', description: checked.problem }]);
  const { domain } = checked;
  const local = address.slice(0, address.lastIndexOf('@')).toLowerCase();
  const plus = local.indexOf('+');
  // "+tag@d" (nothing before the "+") is a mailbox of its own, not a tag.
  const untagged = plus > 0 ? local.slice(0, plus) : local;
  return { address, key: `${local}@${domain}`, limitKey: `${untagged}@${domain}` };
}

const emailSchema = z
  .string()
  .transform((value) => value.trim().normalize('NFC'))
  .superRefine((value, ctx) => {
    const problem = emailProblem(value);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

const optionalText = (max: number) => z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`).optional();

const templateSchema = z
  .union([z.enum(TEMPLATE_TYPES), z.literal('UNSPECIFIED'), z.literal(0), z.literal(1), z.literal(2)], {
    error: 'must be SIGNIN or SIGNUP',
  })
  .optional()
  .transform((value): TemplateType => (value === 'SIGNUP' || value === 2 ? 'SIGNUP' : 'SIGNIN'));

const expiresInSchema = z
  .number()
  .int('must be a whole number of seconds')
  .refine((value) => value === 0 || (value >= EXPIRY_RANGE.min && value <= EXPIRY_RANGE.max), {
    message: `must be between ${EXPIRY_RANGE.min} and ${EXPIRY_RANGE.max} seconds (0 for the policy default)`,
  })
  .optional();

const templateVariablesSchema = z
  .record(
    z.string().min(2, 'keys must be 2 to 25 characters').max(25, 'keys must be 2 to 25 characters'),
    z.string().max(256, 'values must be at most 256 characters'),
  )
  .refine((value) => Object.keys(value).length <= MAX_TEMPLATE_VARIABLES, {
    message: `must have at most ${MAX_TEMPLATE_VARIABLES} entries`,
  })
  .refine((value) => !Object.keys(value).some((key) => (RESERVED_TEMPLATE_VARIABLES as readonly string[]).includes(key)), {
    message: `must not set reserved names (${RESERVED_TEMPLATE_VARIABLES.join(', ')})`,
  })
  .optional();

export const sendInputSchema = z.object({
  email: emailSchema,
  template: templateSchema,
  magiclinkAuthUri: optionalText(1000),
  state: optionalText(1000),
  expiresIn: expiresInSchema,
  templateVariables: templateVariablesSchema,
});

export const verifyInputSchema = z
  .object({
    code: optionalText(20),
    linkToken: optionalText(100),
    authRequestId: z.string().max(200, 'must be at most 200 characters').optional(),
  })
  .superRefine((value, ctx) => {
    if (value.code !== undefined && value.linkToken !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['code'], message: 'give either code or link_token, not both' });
    } else if (value.code === undefined && value.linkToken === undefined) {
      ctx.addIssue({ code: 'custom', path: ['code'], message: 'code or link_token is required' });
    } else if (value.code !== undefined && !value.authRequestId) {
      ctx.addIssue({ code: 'custom', path: ['authRequestId'], message: 'is required when verifying a code' });
    }
  });

export const resendInputSchema = z.object({
  authRequestId: z.string().min(1, 'is required').max(200, 'must be at most 200 characters'),
});

export type SendInput = z.output<typeof sendInputSchema>;
export type VerifyInput = z.output<typeof verifyInputSchema>;
export type ResendInput = z.output<typeof resendInputSchema>;

/** Parses `input` with `schema`, or throws INVALID_ARGUMENT naming each offending field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalidArgument([{ field: 'body', description: 'must be a JSON object' }]);
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw invalidArgument(zodViolations(parsed.error));
  return parsed.data;
}
