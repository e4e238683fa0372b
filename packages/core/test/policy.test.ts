import { describe, expect, it } from 'vitest';
import { SesameError, defaultPolicy, parsePolicy, parseRedirectRules, updatePolicy, isRedirectAllowed, buildMagicLink } from '@sesame/core';

describe('policy', () => {
  it('has the documented defaults', () => {
    const dev = defaultPolicy({ production: false });
    expect(dev).toMatchObject({
      passwordlessType: 'LINK_OTP',
      expirySeconds: 300,
      otpFormat: 'NUMERIC',
      otpLength: 6,
      sameBrowserEnforcement: true,
      otpAttemptsPerRequest: 5,
      emailsPerAddress: { max: 2, windowMs: 60_000 },
      failedOtpPerAddress: { max: 50, windowMs: 86_400_000 },
    });
    expect(dev.allowedRedirectUris).toEqual([{ uri: 'http://localhost:3000/', match: 'prefix' }]);
    expect(defaultPolicy({ production: true }).allowedRedirectUris).toEqual([]);
    expect(parsePolicy(dev)).toEqual(dev);
  });

  it.each([
    ['expirySeconds', 59],
    ['expirySeconds', 3601],
    ['otpLength', 5],
    ['otpLength', 9],
    ['otpAttemptsPerRequest', 0],
    ['otpAttemptsPerRequest', 21],
    ['emailsPerAddress', { max: 0, windowMs: 60_000 }],
    ['emailsPerAddress', { max: 61, windowMs: 60_000 }],
    ['passwordlessType', 'SMS'],
    ['otpFormat', 'HEX'],
  ])('refuses %s = %j with the field named', (field, value) => {
    const base = defaultPolicy({ production: false });
    try {
      updatePolicy(base, { [field]: value });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SesameError);
      const e = error as SesameError;
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.fieldViolations[0]?.field).toMatch(
        /^(expiry_seconds|otp_length|otp_attempts_per_request|emails_per_address|passwordless_type|otp_format)/,
      );
    }
  });

  it('accepts the ends of each range', () => {
    const base = defaultPolicy({ production: false });
    expect(updatePolicy(base, { expirySeconds: 60, otpLength: 8, otpAttemptsPerRequest: 20 }).expirySeconds).toBe(60);
    expect(updatePolicy(base, { expirySeconds: 3600, otpLength: 6, otpAttemptsPerRequest: 1 }).otpAttemptsPerRequest).toBe(1);
  });

  it('parses SESAME_ALLOWED_REDIRECT_URIS', () => {
    expect(parseRedirectRules(' https://app.example.com/auth/verify , https://app.example.com/cb/* ,')).toEqual([
      { uri: 'https://app.example.com/auth/verify', match: 'exact' },
      { uri: 'https://app.example.com/cb/', match: 'prefix' },
    ]);
    expect(() => parseRedirectRules('javascript:alert(1)')).toThrow();
    expect(() => parseRedirectRules('https://user:pw@example.com/')).toThrow();
  });
});

describe('redirect URIs', () => {
  const rules = [
    { uri: 'https://app.example.com/auth/verify', match: 'exact' as const },
    { uri: 'http://localhost:3000/', match: 'prefix' as const },
  ];

  it.each([
    ['https://app.example.com/auth/verify', true],
    ['https://APP.example.com:443/auth/verify', true],
    ['https://app.example.com/auth/verify2', false],
    ['https://app.example.com/auth/verify?x=1', false],
    ['http://app.example.com/auth/verify', false],
    ['http://localhost:3000/api/auth/verify', true],
    ['http://localhost:3000/a/../b', false],
    ['http://localhost:3001/api', false],
    ['http://localhost:3000.evil.test/api', false],
    ['http://evil.test/?http://localhost:3000/', false],
    ['http://user@localhost:3000/api', false],
    ['http://localhost:3000/api#frag', false],
    ['javascript://localhost:3000/', false],
    ['not a url', false],
  ])('%s → %s', (uri, allowed) => {
    expect(isRedirectAllowed(uri, rules)).toBe(allowed);
  });

  it('builds the emailed link with ? or &', () => {
    expect(buildMagicLink('https://a.test/v', 'T_-1')).toBe('https://a.test/v?link_token=T_-1');
    expect(buildMagicLink('https://a.test/v?next=%2Fx', 'T')).toBe('https://a.test/v?next=%2Fx&link_token=T');
  });
});
