/**
 * The policy of a Sesame deployment (docs/ARCHITECTURE.md "Policy"): defaults, ranges and
 * validation. Stored and edited by the server; core only reads a validated `Policy`.
 */
import { z } from 'zod';
import { invalidArgument, type FieldViolation } from './errors.js';
import { parseHttpUrl, redirectRuleProblem } from './redirect.js';
import { zodViolations } from './violations.js';

export const PASSWORDLESS_TYPES = ['OTP', 'LINK', 'LINK_OTP'] as const;
export type PasswordlessType = (typeof PASSWORDLESS_TYPES)[number];

export const TEMPLATE_TYPES = ['SIGNIN', 'SIGNUP'] as const;
export type TemplateType = (typeof TEMPLATE_TYPES)[number];

export const OTP_FORMATS = ['NUMERIC', 'ALPHANUMERIC'] as const;
export type OtpFormat = (typeof OTP_FORMATS)[number];

export interface RedirectRule {
  readonly uri: string;
  readonly match: 'exact' | 'prefix';
}

export interface WindowLimit {
  readonly max: number;
  readonly windowMs: number;
}

export interface Policy {
  readonly passwordlessType: PasswordlessType;
  /** Default lifetime of an auth request, in seconds. */
  readonly expirySeconds: number;
  readonly otpFormat: OtpFormat;
  readonly otpLength: number;
  readonly sameBrowserEnforcement: boolean;
  /** Failed OTP tries after which an auth request is locked. */
  readonly otpAttemptsPerRequest: number;
  /** Emails (sends and resends together) per address per window. */
  readonly emailsPerAddress: WindowLimit;
  /** Failed OTP tries per address per window; past it OTP verify is refused for that address. */
  readonly failedOtpPerAddress: WindowLimit;
  readonly allowedRedirectUris: readonly RedirectRule[];
}

export const EXPIRY_RANGE = { min: 60, max: 3600 } as const;
export const DAY_MS = 24 * 60 * 60 * 1000;

const redirectRuleSchema = z.object({
  uri: z.string().min(1).max(1000),
  match: z.enum(['exact', 'prefix']),
});

const windowSchema = (max: { min: number; max: number }, window: { min: number; max: number }) =>
  z.object({
    max: z.number().int().min(max.min).max(max.max),
    windowMs: z.number().int().min(window.min).max(window.max),
  });

export const policySchema = z.object({
  passwordlessType: z.enum(PASSWORDLESS_TYPES),
  expirySeconds: z.number().int().min(EXPIRY_RANGE.min).max(EXPIRY_RANGE.max),
  otpFormat: z.enum(OTP_FORMATS),
  otpLength: z.number().int().min(6).max(8),
  sameBrowserEnforcement: z.boolean(),
  otpAttemptsPerRequest: z.number().int().min(1).max(20),
  emailsPerAddress: windowSchema({ min: 1, max: 60 }, { min: 1_000, max: DAY_MS }),
  failedOtpPerAddress: windowSchema({ min: 1, max: 10_000 }, { min: 60_000, max: 7 * DAY_MS }),
  allowedRedirectUris: z.array(redirectRuleSchema).max(100),
});

/**
 * The defaults (docs/ARCHITECTURE.md "Policy"). In development `http://localhost:3000/` is
 * allowed as a prefix.
 */
export function defaultPolicy(env: { production: boolean }): Policy {
  return {
    passwordlessType: 'LINK_OTP',
    expirySeconds: 300,
    otpFormat: 'NUMERIC',
    otpLength: 6,
    sameBrowserEnforcement: true,
    otpAttemptsPerRequest: 5,
    emailsPerAddress: { max: 2, windowMs: 60_000 },
    failedOtpPerAddress: { max: 50, windowMs: DAY_MS },
    allowedRedirectUris: env.production ? [] : [{ uri: 'http://localhost:3000/', match: 'prefix' }],
  };
}

/**
 * Validates a whole policy about to be saved (e.g. edited in the dashboard); throws
 * INVALID_ARGUMENT. Redirect rules must be canonical URLs (they are kept as their `href`), and a
 * prefix rule must end in `/` and have no query: see `redirectRuleProblem`.
 */
export function parsePolicy(input: unknown): Policy {
  const parsed = policySchema.safeParse(input);
  if (!parsed.success) throw invalidArgument(zodViolations(parsed.error));
  const violations: FieldViolation[] = [];
  const rules = parsed.data.allowedRedirectUris.map((rule, index) => {
    const problem = redirectRuleProblem(rule);
    if (problem !== null) violations.push({ field: `allowed_redirect_uris.${index}.uri`, description: problem });
    return { uri: canonicalHref(rule.uri), match: rule.match };
  });
  if (violations.length > 0) throw invalidArgument(violations);
  return { ...parsed.data, allowedRedirectUris: rules };
}

/**
 * Reads a policy saved by an earlier version, which checked redirect rules less strictly: the
 * policy still loads, so an upgrade never stops a deployment. A prefix rule without a trailing
 * `/` is read with one appended (`https://app.example.com/auth` admits `/auth/…`, no longer
 * `/authority`); a rule that is not an absolute http(s) URL is refused as before. The dashboard
 * then shows, and a save keeps, the rule as it is applied.
 */
export function parseStoredPolicy(input: unknown): Policy {
  const parsed = policySchema.safeParse(input);
  if (!parsed.success) throw invalidArgument(zodViolations(parsed.error));
  const rules = parsed.data.allowedRedirectUris.map((rule) => {
    const url = parseHttpUrl(rule.uri);
    if (!url)
      throw invalidArgument([{ field: 'allowed_redirect_uris', description: `not an absolute http(s) URL: ${rule.uri.slice(0, 100)}` }]);
    if (rule.match === 'prefix' && url.search === '' && !url.pathname.endsWith('/')) {
      url.pathname = `${url.pathname}/`;
      return { uri: url.href, match: rule.match };
    }
    return rule;
  });
  return { ...parsed.data, allowedRedirectUris: rules };
}

/** Applies a partial change to a policy and validates the result. */
export function updatePolicy(current: Policy, change: Partial<Policy>): Policy {
  return parsePolicy({ ...current, ...change });
}

/**
 * Parses the `SESAME_ALLOWED_REDIRECT_URIS` style list: comma-separated URLs, where a trailing
 * `*` marks a prefix rule (`https://app.example.com/auth/*`); anything else is matched exactly.
 * Each rule must pass `redirectRuleProblem` (a prefix rule ends in `/`); rules come back as
 * their canonical `href`. Throws a RedirectRuleError naming the rule and the problem.
 */
export function parseRedirectRules(list: string): RedirectRule[] {
  const rules: RedirectRule[] = [];
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const prefix = item.endsWith('*');
    const rule: RedirectRule = { uri: prefix ? item.slice(0, -1) : item, match: prefix ? 'prefix' : 'exact' };
    const problem = redirectRuleProblem(rule);
    if (problem !== null) throw new RedirectRuleError(item, problem);
    rules.push({ uri: canonicalHref(rule.uri), match: rule.match });
  }
  return rules;
}

/** A rule written back the way `parseRedirectRules` reads it: a trailing `*` marks a prefix rule. */
export function formatRedirectRule(rule: RedirectRule): string {
  return rule.match === 'prefix' ? `${rule.uri}*` : rule.uri;
}

/** A redirect rule that may not be saved; `problem` reads as a field description. */
export class RedirectRuleError extends Error {
  override readonly name = 'RedirectRuleError';
  constructor(
    item: string,
    readonly problem: string,
  ) {
    super(`${item.slice(0, 200)}: ${problem}`);
  }
}

/** The WHATWG serialisation of a URL already checked by `redirectRuleProblem`. */
function canonicalHref(uri: string): string {
  return parseHttpUrl(uri)?.href ?? uri;
}
