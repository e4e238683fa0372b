/** The policy form's model: the wire policy with numbers as typed text, and the hints beside each field. */
import { rangeOf, type FieldViolation, type Policy, type RedirectUri } from '../api.js';

/** The form keeps numbers as typed text; they become numbers on save. */
export interface PolicyForm {
  passwordless_type: Policy['passwordless_type'];
  expiry_seconds: string;
  otp_format: Policy['otp_format'];
  otp_length: string;
  same_browser_enforcement: boolean;
  otp_attempts_per_request: string;
  emails_max: string;
  emails_window: string;
  failed_max: string;
  failed_window: string;
  allowed_redirect_uris: RedirectUri[];
}

export function toForm(p: Policy): PolicyForm {
  return {
    passwordless_type: p.passwordless_type,
    expiry_seconds: String(p.expiry_seconds),
    otp_format: p.otp_format,
    otp_length: String(p.otp_length),
    same_browser_enforcement: p.same_browser_enforcement,
    otp_attempts_per_request: String(p.otp_attempts_per_request),
    emails_max: String(p.emails_per_address.max),
    emails_window: String(p.emails_per_address.window_seconds),
    failed_max: String(p.failed_otp_per_address.max),
    failed_window: String(p.failed_otp_per_address.window_seconds),
    allowed_redirect_uris: p.allowed_redirect_uris.map((r) => ({ ...r })),
  };
}

/** Numbers that are not whole numbers are sent as typed, so the server names the field. */
function num(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? Number.NaN : Number(trimmed);
}

export function fromForm(f: PolicyForm): Policy {
  return {
    passwordless_type: f.passwordless_type,
    expiry_seconds: num(f.expiry_seconds),
    otp_format: f.otp_format,
    otp_length: num(f.otp_length),
    same_browser_enforcement: f.same_browser_enforcement,
    otp_attempts_per_request: num(f.otp_attempts_per_request),
    emails_per_address: { max: num(f.emails_max), window_seconds: num(f.emails_window) },
    failed_otp_per_address: { max: num(f.failed_max), window_seconds: num(f.failed_window) },
    allowed_redirect_uris: f.allowed_redirect_uris.filter((r) => r.uri.trim() !== '').map((r) => ({ uri: r.uri.trim(), match: r.match })),
  };
}

/** The form's whole-number fields: label, wire path, and the unit and fallback of the range hint. */
export type NumberKey =
  'expiry_seconds' | 'otp_length' | 'otp_attempts_per_request' | 'emails_max' | 'emails_window' | 'failed_max' | 'failed_window';
export const NUMBER_FIELDS: Readonly<Record<NumberKey, { label: string; field: string; unit?: string; fallback?: string }>> = {
  expiry_seconds: { label: 'Expiry (seconds)', field: 'expiry_seconds', unit: ' s', fallback: '60–3600 s' },
  otp_length: { label: 'OTP length', field: 'otp_length', unit: ' characters', fallback: '6–8 characters' },
  otp_attempts_per_request: { label: 'OTP attempts per auth request', field: 'otp_attempts_per_request', fallback: '1–20' },
  emails_max: { label: 'Emails per address', field: 'emails_per_address.max', fallback: '1–60' },
  emails_window: { label: 'Email window (seconds)', field: 'emails_per_address.window_seconds', unit: ' s' },
  failed_max: { label: 'Failed OTP per address', field: 'failed_otp_per_address.max' },
  failed_window: { label: 'Failed OTP window (seconds)', field: 'failed_otp_per_address.window_seconds', unit: ' s' },
};

/** Client-side checks only for what JSON cannot carry (a non-number); ranges are the server's to judge. */
export function localViolations(f: PolicyForm): FieldViolation[] {
  return Object.entries(NUMBER_FIELDS)
    .filter(([key]) => !Number.isInteger(num(f[key as NumberKey])))
    .map(([, { field }]) => ({ field, description: 'Enter a whole number.' }));
}

/** The default of a (dotted) policy field, for the hint. */
export function defaultOf(defaults: Policy, field: string): number | undefined {
  const value = field
    .split('.')
    .reduce<unknown>((at, key) => (typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined), defaults);
  return typeof value === 'number' ? value : undefined;
}

export function rangeHint(ranges: unknown, field: string, unit = '', fallback?: string): string | undefined {
  const range = rangeOf(ranges, field);
  if (range?.min !== undefined && range.max !== undefined) return `${range.min}–${range.max}${unit}`;
  if (range?.min !== undefined) return `at least ${range.min}${unit}`;
  if (range?.max !== undefined) return `at most ${range.max}${unit}`;
  if (range?.values) return range.values.join(', ');
  return fallback;
}

export function maxItems(ranges: unknown, field: string): number | undefined {
  const node = typeof ranges === 'object' && ranges !== null ? (ranges as Record<string, unknown>)[field] : undefined;
  const max = typeof node === 'object' && node !== null ? (node as { max_items?: unknown }).max_items : undefined;
  return typeof max === 'number' ? max : undefined;
}

export function withDefault(hint: string | undefined, def: string | number | boolean | undefined, kind = 'Range'): string | undefined {
  const parts = [hint !== undefined ? `${kind} ${hint}` : undefined, def !== undefined ? `default ${String(def)}` : undefined].filter(
    Boolean,
  );
  return parts.length > 0 ? `${parts.join(' · ')}.` : undefined;
}
