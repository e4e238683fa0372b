/**
 * Request parsing at core's boundary (SCALEKIT_WIRE.md "Validation"). Every request body is
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

/** An address as given (trimmed, NFC) for display and delivery, and the key limits are counted on. */
export interface NormalizedEmail {
  readonly address: string;
  readonly key: string;
}

export function normalizeEmail(raw: string): NormalizedEmail {
  const address = raw.trim().normalize('NFC');
  return { address, key: address.toLowerCase() };
}

// One local part and a dotted domain with a TLD of two letters or more; no spaces, no angle
// brackets, no quotes: anything an SMTP header or a template could misread is refused.
const EMAIL_PATTERN = /^[^\s\p{Cc}@<>()[\]\\,;:"]+@[^\s\p{Cc}@<>()[\]\\,;:"_]+\.(?:\p{L}{2,}|xn--[a-z0-9-]{2,})$/iu;

const emailSchema = z
  .string()
  .transform((value) => value.trim().normalize('NFC'))
  .pipe(
    z
      .string()
      .min(1, 'is required')
      .max(MAX_EMAIL_LENGTH, `must be at most ${MAX_EMAIL_LENGTH} characters`)
      .regex(EMAIL_PATTERN, 'must be a valid email address')
      .refine((value) => !value.includes('..') && value.split('@')[0]!.length <= 64, 'must be a valid email address'),
  );

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
  authRequestId: z
    .string()
    .min(1, 'is required')
    .max(200, 'must be at most 200 characters'),
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
