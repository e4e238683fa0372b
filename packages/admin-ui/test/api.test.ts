/** The dashboard's reading of the admin API's shapes: ranges and field violations. */
import { describe, expect, it } from 'vitest';
import { rangeOf, violationFor } from '../src/api.js';

// As GET /admin/api/policy answers them (docs/ADMIN_API.md "Policy").
const RANGES = {
  passwordless_type: ['OTP', 'LINK', 'LINK_OTP'],
  expiry_seconds: { min: 60, max: 3600 },
  emails_per_address: { max: { min: 1, max: 60 }, window_seconds: { min: 1, max: 86400 } },
  allowed_redirect_uris: { max_items: 100 },
};

describe('rangeOf', () => {
  it('reads flat, nested and enumerated ranges', () => {
    expect(rangeOf(RANGES, 'expiry_seconds')).toEqual({ min: 60, max: 3600 });
    expect(rangeOf(RANGES, 'emails_per_address.max')).toEqual({ min: 1, max: 60 });
    expect(rangeOf(RANGES, 'emails_per_address.window_seconds')).toEqual({ min: 1, max: 86400 });
    expect(rangeOf(RANGES, 'passwordless_type')).toEqual({ values: ['OTP', 'LINK', 'LINK_OTP'] });
    expect(rangeOf({ otp_length: [6, 8] }, 'otp_length')).toEqual({ min: 6, max: 8 });
  });

  it('gives nothing for what is not a range', () => {
    expect(rangeOf(RANGES, 'allowed_redirect_uris')).toBeUndefined();
    expect(rangeOf(RANGES, 'otp_length')).toBeUndefined();
    expect(rangeOf(null, 'expiry_seconds')).toBeUndefined();
  });
});

describe('violationFor', () => {
  const violations = [
    { field: 'expiry_seconds', description: 'must be at least 60' },
    { field: 'policy.otp_length', description: 'must be at most 8' },
    { field: 'emails_per_address.window_seconds', description: 'must be a whole number' },
    { field: 'allowed_redirect_uris[1].uri', description: 'must not be empty' },
  ];

  it('finds a field by its wire path, prefixed or indexed', () => {
    expect(violationFor(violations, 'expiry_seconds')).toBe('must be at least 60');
    expect(violationFor(violations, 'otp_length')).toBe('must be at most 8');
    expect(violationFor(violations, 'emails_per_address.window_seconds')).toBe('must be a whole number');
    expect(violationFor(violations, 'allowed_redirect_uris.1.uri')).toBe('must not be empty');
  });

  it('does not pin a violation on a field it does not name', () => {
    expect(violationFor(violations, 'emails_per_address.max')).toBeUndefined();
    expect(violationFor(violations, 'seconds')).toBeUndefined();
  });
});
