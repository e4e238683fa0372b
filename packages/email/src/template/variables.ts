/** The variables a template can use, and how the time-based ones read. */
import { textColorOn, type Brand } from './brand.js';

/** Filled by Sesame for every email; a request's template_variables never override them. */
export const BUILT_IN_VARIABLES = [
  'otp',
  'link',
  'expiry_time_relative',
  'expire_time',
  // Reserved by the wire contract as a request key; kept as an alias so either spelling works.
  'expiry_time',
  'email',
  'app_name',
  'logo_url',
  'accent_color',
  'accent_text_color',
] as const;

export type BuiltInVariable = (typeof BUILT_IN_VARIABLES)[number];

export interface EmailFacts {
  readonly email: string;
  readonly otp: string | null;
  readonly link: string | null;
  readonly expiresAt: number;
  /** When the email is rendered: the relative expiry counts from here. */
  readonly now: number;
}

export function buildVariables(
  facts: EmailFacts,
  brand: Brand,
  requestVariables: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const expireTime = formatAbsoluteTime(facts.expiresAt);
  const builtIns: Record<BuiltInVariable, string> = {
    otp: facts.otp ?? '',
    link: facts.link ?? '',
    expiry_time_relative: formatRelativeDuration(facts.expiresAt - facts.now),
    expire_time: expireTime,
    expiry_time: expireTime,
    email: facts.email,
    app_name: brand.appName,
    logo_url: brand.logoUrl ?? '',
    accent_color: brand.accentColor,
    accent_text_color: textColorOn(brand.accentColor),
  };
  // A null-prototype object: request keys such as `__proto__` stay plain data.
  return Object.assign(Object.create(null) as Record<string, string>, requestVariables, builtIns);
}

/** "5 minutes", "1 hour", "1 hour 30 minutes", "45 seconds": what is left, rounded to the minute. */
export function formatRelativeDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return plural(seconds, 'second');
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes < 60) return plural(minutes, 'minute');
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? plural(hours, 'hour') : `${plural(hours, 'hour')} ${plural(rest, 'minute')}`;
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** "25 Nov 2025, 14:05 UTC": unambiguous in every locale, independent of the server's. */
export function formatAbsoluteTime(epochMs: number): string {
  const date = new Date(epochMs);
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()] ?? ''} ${date.getUTCFullYear()}, ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}
