/**
 * The policy over the admin API (docs/ADMIN_API.md "Policy"): the wire's snake_case with window
 * lengths in seconds ↔ core's `Policy`, validated by core's schema and ranges. Saved as the
 * `policy` setting, which every engine call reads, so a change applies at once on every instance.
 */
import { parsePolicy, type Policy } from '@sesame/core';
import { Hono } from 'hono';
import type { AppEnv } from '../http/hono-env.js';
import { POLICY_SETTING } from '../passwordless/policy-source.js';
import { saveSettingAsAdmin } from './audit.js';
import { iso, parseWire, readObject, type AdminDeps } from './common.js';
import { assertTemplatesCarry } from './templates.js';
import { POLICY_RANGES, policyWireSchema, type Policy as WirePolicy } from './wire-schemas.js';

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

/** Parses a whole wire policy into core's `Policy`, or INVALID_ARGUMENT naming each field. */
export function parseWirePolicy(input: unknown): Policy {
  const wire = parseWire(policyWireSchema, input, 'policy');
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
    const now = await saveSettingAsAdmin(c, deps, POLICY_SETTING, 'policy.update', next, {
      before: toWirePolicy(before),
      after: toWirePolicy(next),
    });
    return c.json({ policy: toWirePolicy(next), updated_at: iso(now) });
  });

  return routes;
}
