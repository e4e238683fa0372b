import type { z } from 'zod';
import type { FieldViolation } from './errors.js';

/** camelCase input keys → the snake_case names clients see on the wire. */
const WIRE_NAMES: Readonly<Record<string, string>> = {
  magiclinkAuthUri: 'magiclink_auth_uri',
  expiresIn: 'expires_in',
  templateVariables: 'template_variables',
  linkToken: 'link_token',
  authRequestId: 'auth_request_id',
  passwordlessType: 'passwordless_type',
  expirySeconds: 'expiry_seconds',
  otpFormat: 'otp_format',
  otpLength: 'otp_length',
  sameBrowserEnforcement: 'same_browser_enforcement',
  otpAttemptsPerRequest: 'otp_attempts_per_request',
  emailsPerAddress: 'emails_per_address',
  failedOtpPerAddress: 'failed_otp_per_address',
  allowedRedirectUris: 'allowed_redirect_uris',
  windowMs: 'window_ms',
};

export function wireName(key: string): string {
  return WIRE_NAMES[key] ?? key;
}

/**
 * Turns zod issues into field violations. The description comes from our own schema messages
 * and zod's generic text; input values are never echoed back.
 */
export function zodViolations(error: z.ZodError): FieldViolation[] {
  const seen = new Set<string>();
  const out: FieldViolation[] = [];
  for (const issue of error.issues) {
    const field = issue.path.length === 0 ? 'body' : issue.path.map((p) => wireName(String(p))).join('.');
    if (seen.has(field)) continue;
    seen.add(field);
    out.push({ field, description: describe(issue) });
  }
  return out;
}

/**
 * Our schemas write their own messages in lower case ("must be …", "is required"); zod's
 * defaults start with a capital ("Invalid input: …"). Keep ours, rewrite zod's into the same
 * voice, and never include the input value.
 */
function describe(issue: z.core.$ZodIssue): string {
  if (/^[a-z]/.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return issue.message.endsWith('received undefined')
        ? 'is required'
        : `must be ${issue.expected === 'int' ? 'a whole number' : issue.expected}`;
    case 'too_small':
      return issue.origin === 'string'
        ? `must be at least ${String(issue.minimum)} characters`
        : issue.origin === 'object' || issue.origin === 'array'
          ? `must have at least ${String(issue.minimum)} entries`
          : `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'string'
        ? `must be at most ${String(issue.maximum)} characters`
        : issue.origin === 'object' || issue.origin === 'array' || issue.origin === 'map'
          ? `must have at most ${String(issue.maximum)} entries`
          : `must be at most ${String(issue.maximum)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field(s): ${issue.keys.map((k) => wireName(k)).join(', ')}`;
    case 'invalid_key':
    case 'invalid_element': {
      const inner = issue.issues[0];
      return inner ? describe(inner) : 'is invalid';
    }
    default:
      return 'is invalid';
  }
}
