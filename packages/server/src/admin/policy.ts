/**
 * The policy over the admin API (docs/ADMIN_API.md "Policy"): the wire's snake_case with window
 * lengths in seconds ↔ core's `Policy`, validated by core's schema and ranges. Saved as the
 * `policy` setting, which every engine call reads, so a change applies at once on every instance.
 */
import {
  OTP_FORMATS,
  PASSWORDLESS_TYPES,
  invalidArgument,
  parsePolicy,
  policySchema,
  type FieldViolation,
  type Policy,
  type RedirectRule,
} from '@sesame/core';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../http/hono-env.js';
import { POLICY_SETTING } from '../passwordless/policy-source.js';
import { auditJson } from './audit.js';
import { iso, readObject, type AdminDeps } from './common.js';
import { assertTemplatesCarry } from './templates.js';

export interface WirePolicy {
  passwordless_type: Policy['passwordlessType'];
  expiry_seconds: number;
  otp_format: Policy['otpFormat'];
  otp_length: number;
  same_browser_enforcement: boolean;
  otp_attempts_per_request: number;
  emails_per_address: { max: number; window_seconds: number };
  failed_otp_per_address: { max: number; window_seconds: number };
  allowed_redirect_uris: { uri: string; match: RedirectRule['match'] }[];
}

export function toWirePolicy(policy: Policy): WirePolicy {
  return {
    passwordless_type: policy.passwordlessType,
    expiry_seconds: policy.expirySeconds,
    otp_format: policy.otpFormat,
    otp_length: policy.otpLength,
    same_browser_enforcement: policy.sameBrowserEnforcement,
    otp_attempts_per_request: policy.otpAttemptsPerRequest,
    emails_per_address: { max: policy.emailsPerAddress.max, window_seconds: policy.emailsPerAddress.windowMs / 1000 },
    failed_otp_per_address: { max: policy.failedOtpPerAddress.max, window_seconds: policy.failedOtpPerAddress.windowMs / 1000 },
    allowed_redirect_uris: policy.allowedRedirectUris.map((rule) => ({ uri: rule.uri, match: rule.match })),
  };
}

interface Range {
  readonly min: number;
  readonly max: number;
}

function range(schema: unknown, scale = 1): Range {
  const number = schema as { minValue: number | null; maxValue: number | null };
  return { min: (number.minValue ?? 0) / scale, max: (number.maxValue ?? Number.MAX_SAFE_INTEGER) / scale };
}

const shape = policySchema.shape;
/** Core's ranges, on the wire (windows in seconds): the form's limits. */
export const POLICY_RANGES = {
  passwordless_type: [...PASSWORDLESS_TYPES],
  otp_format: [...OTP_FORMATS],
  expiry_seconds: range(shape.expirySeconds),
  otp_length: range(shape.otpLength),
  otp_attempts_per_request: range(shape.otpAttemptsPerRequest),
  emails_per_address: { max: range(shape.emailsPerAddress.shape.max), window_seconds: range(shape.emailsPerAddress.shape.windowMs, 1000) },
  failed_otp_per_address: {
    max: range(shape.failedOtpPerAddress.shape.max),
    window_seconds: range(shape.failedOtpPerAddress.shape.windowMs, 1000),
  },
  allowed_redirect_uris: {
    max_items:
      (shape.allowedRedirectUris as unknown as { def: { checks?: { _zod: { def: { maximum?: number } } }[] } }).def.checks?.[0]?._zod.def
        .maximum ?? 100,
  },
} as const;

const int = (r: Range) =>
  z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(r.min, `must be at least ${r.min}`)
    .max(r.max, `must be at most ${r.max}`);
const windowSchema = (ranges: { max: Range; window_seconds: Range }) =>
  z.object({ max: int(ranges.max), window_seconds: int(ranges.window_seconds) }, { error: 'must be an object {max, window_seconds}' });

const wirePolicySchema = z.object({
  passwordless_type: z.enum(PASSWORDLESS_TYPES, { error: `must be one of ${PASSWORDLESS_TYPES.join(', ')}` }),
  expiry_seconds: int(POLICY_RANGES.expiry_seconds),
  otp_format: z.enum(OTP_FORMATS, { error: `must be one of ${OTP_FORMATS.join(', ')}` }),
  otp_length: int(POLICY_RANGES.otp_length),
  same_browser_enforcement: z.boolean({ error: 'must be true or false' }),
  otp_attempts_per_request: int(POLICY_RANGES.otp_attempts_per_request),
  emails_per_address: windowSchema(POLICY_RANGES.emails_per_address),
  failed_otp_per_address: windowSchema(POLICY_RANGES.failed_otp_per_address),
  allowed_redirect_uris: z
    .array(
      z.object({
        uri: z.string().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters'),
        match: z.enum(['exact', 'prefix'], { error: 'must be exact or prefix' }),
      }),
      {
        error: 'must be a list of {uri, match}',
      },
    )
    .max(POLICY_RANGES.allowed_redirect_uris.max_items, `must have at most ${POLICY_RANGES.allowed_redirect_uris.max_items} entries`),
});

/** Parses a whole wire policy into core's `Policy`, or INVALID_ARGUMENT naming each field. */
export function parseWirePolicy(input: unknown): Policy {
  const parsed = wirePolicySchema.safeParse(input);
  if (!parsed.success) {
    const seen = new Set<string>();
    const violations: FieldViolation[] = [];
    for (const issue of parsed.error.issues) {
      const field = issue.path.length === 0 ? 'policy' : issue.path.map(String).join('.');
      if (seen.has(field)) continue;
      seen.add(field);
      violations.push({ field, description: issue.message });
    }
    throw invalidArgument(violations);
  }
  const wire = parsed.data;
  return parsePolicy({
    passwordlessType: wire.passwordless_type,
    expirySeconds: wire.expiry_seconds,
    otpFormat: wire.otp_format,
    otpLength: wire.otp_length,
    sameBrowserEnforcement: wire.same_browser_enforcement,
    otpAttemptsPerRequest: wire.otp_attempts_per_request,
    emailsPerAddress: { max: wire.emails_per_address.max, windowMs: wire.emails_per_address.window_seconds * 1000 },
    failedOtpPerAddress: { max: wire.failed_otp_per_address.max, windowMs: wire.failed_otp_per_address.window_seconds * 1000 },
    allowedRedirectUris: wire.allowed_redirect_uris,
  });
}

export function policyRoutes(deps: AdminDeps): Hono<AppEnv> {
  const { store } = deps;
  const routes = new Hono<AppEnv>();

  routes.get('/', async (c) => {
    const [policy, entry] = await Promise.all([deps.policy(), store.getSettingEntry(POLICY_SETTING)]);
    return c.json({
      policy: toWirePolicy(policy),
      defaults: toWirePolicy(deps.defaultPolicy),
      ranges: POLICY_RANGES,
      updated_at: entry === null ? null : iso(entry.updatedAt),
    });
  });

  routes.put('/', async (c) => {
    const body = await readObject(c, deps);
    // The whole policy, or a body `{policy: {...}}` as GET answers it.
    const next = parseWirePolicy(Object.hasOwn(body, 'policy') && typeof body.policy === 'object' ? body.policy : body);
    const before = await deps.policy();
    // A saved template must still carry the credentials of the new type (see templates.ts).
    if (next.passwordlessType !== before.passwordlessType) await assertTemplatesCarry(deps, next.passwordlessType);
    const now = deps.clock.now();
    await store.changeSetting({
      key: POLICY_SETTING,
      value: JSON.stringify(next),
      now,
      audit: {
        at: now,
        actor: c.get('adminEmail'),
        action: 'policy.update',
        before: auditJson(toWirePolicy(before)),
        after: auditJson(toWirePolicy(next)),
      },
    });
    return c.json({ policy: toWirePolicy(next), updated_at: iso(now) });
  });

  return routes;
}
