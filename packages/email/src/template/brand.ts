/** Brand settings of the emails (docs/ARCHITECTURE.md "Email"): edited in the dashboard, validated here. */
import { invalidArgument, type FieldViolation } from '@sesame/core';

export interface Brand {
  /** Shown in subjects, headings and the footer. */
  readonly appName: string;
  /** An absolute http(s) URL of an image shown above the heading, or null for none. */
  readonly logoUrl: string | null;
  /** `#rrggbb`, lower case: the button and the code block's accents. */
  readonly accentColor: string;
  /** The display name of the From header; null falls back to the mail-from name, then the app name. */
  readonly fromName: string | null;
}

export const DEFAULT_BRAND: Brand = {
  appName: 'Sesame',
  logoUrl: null,
  accentColor: '#4f46e5',
  fromName: null,
};

const HEX_COLOR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
// Characters that could end a header or a display-name phrase early.
const UNSAFE_NAME = /[\r\n<>"\\]/;

/**
 * Validates a (partial) brand over `base` and returns the whole brand; throws INVALID_ARGUMENT
 * naming each bad field. The colour is normalised to `#rrggbb` because it is placed in style
 * attributes, where only a validated hex value is safe.
 */
export function parseBrand(input: unknown, base: Brand = DEFAULT_BRAND): Brand {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalidArgument([{ field: 'brand', description: 'must be an object' }]);
  }
  const raw = input as Record<string, unknown>;
  const violations: FieldViolation[] = [];
  const brand = {
    appName: text(raw, 'appName', base.appName, 100, violations) ?? base.appName,
    logoUrl: raw.logoUrl === undefined ? base.logoUrl : logoUrl(raw.logoUrl, violations),
    accentColor: raw.accentColor === undefined ? base.accentColor : color(raw.accentColor, violations),
    fromName:
      raw.fromName === undefined
        ? base.fromName
        : raw.fromName === null || raw.fromName === ''
          ? null
          : text(raw, 'fromName', null, 100, violations),
  };
  if (violations.length > 0) throw invalidArgument(violations);
  return brand;
}

function text(
  raw: Record<string, unknown>,
  key: 'appName' | 'fromName',
  fallback: string | null,
  max: number,
  violations: FieldViolation[],
): string | null {
  const value = raw[key];
  if (value === undefined) return fallback;
  const field = key === 'appName' ? 'app_name' : 'from_name';
  if (typeof value !== 'string' || value.trim() === '') {
    violations.push({ field, description: 'must be a non-empty string' });
    return fallback;
  }
  if (value.length > max) violations.push({ field, description: `must be at most ${max} characters` });
  if (UNSAFE_NAME.test(value))
    violations.push({ field, description: 'must not contain line breaks, quotes, backslashes or angle brackets' });
  return value.trim();
}

function logoUrl(value: unknown, violations: FieldViolation[]): string | null {
  if (value === null || value === '') return null;
  if (typeof value === 'string' && value.length <= 2000) {
    try {
      const url = new URL(value);
      if ((url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '') return url.href;
    } catch {
      // reported below
    }
  }
  violations.push({ field: 'logo_url', description: 'must be an absolute http(s) URL of at most 2000 characters' });
  return null;
}

function color(value: unknown, violations: FieldViolation[]): string {
  if (typeof value === 'string' && HEX_COLOR.test(value)) {
    const hex = value.slice(1).toLowerCase();
    return `#${hex.length === 3 ? hex.replace(/./g, (digit) => digit + digit) : hex}`;
  }
  violations.push({ field: 'accent_color', description: 'must be a hex colour such as #4f46e5' });
  return DEFAULT_BRAND.accentColor;
}

/** Black or white, whichever reads better on the accent colour (WCAG relative luminance). */
export function textColorOn(accentColor: string): '#ffffff' | '#111827' {
  const channel = (offset: number): number => {
    const value = Number.parseInt(accentColor.slice(offset, offset + 2), 16) / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  // Contrast against white is (1.05)/(L+0.05); against near-black ~ (L+0.05)/0.05.
  return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.0575 ? '#ffffff' : '#111827';
}
