import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SesameError, normalizeEmail, parseInput, resendInputSchema, sendInputSchema, verifyInputSchema } from '@sesame/core';

function violationOf(run: () => unknown): { field: string; description: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SesameError);
    const e = error as SesameError;
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.fieldViolations.length).toBeGreaterThan(0);
    return e.fieldViolations[0]!;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

const manyVariables = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`var_${i}`, 'x']));

describe('send input', () => {
  it.each([
    ['missing email', {}, 'email', /required/],
    ['malformed email', { email: 'not-an-email' }, 'email', /valid email/],
    ['email with spaces inside', { email: 'a b@example.com' }, 'email', /valid email/],
    ['email with a header break', { email: 'a@example.com\r\nBcc: x@y.z' }, 'email', /valid email/],
    ['10 kB email', { email: `${'a'.repeat(10_000)}@example.com` }, 'email', /at most 320/],
    ['email of another type', { email: 42 }, 'email', /string/],
    ['unknown template', { email: 'a@example.com', template: 'WELCOME' }, 'template', /SIGNIN/],
    ['expires_in 5', { email: 'a@example.com', expiresIn: 5 }, 'expires_in', /60 and 3600/],
    ['expires_in 99999', { email: 'a@example.com', expiresIn: 99999 }, 'expires_in', /60 and 3600/],
    ['expires_in not whole', { email: 'a@example.com', expiresIn: 61.5 }, 'expires_in', /whole/],
    ['31 template variables', { email: 'a@example.com', templateVariables: manyVariables }, 'template_variables', /at most 30/],
    ['a key of 1 char', { email: 'a@example.com', templateVariables: { k: 'v' } }, 'template_variables.k', /2 to 25/],
    ['a value of 300 chars', { email: 'a@example.com', templateVariables: { team: 'v'.repeat(300) } }, 'template_variables.team', /256/],
    ['a reserved variable', { email: 'a@example.com', templateVariables: { otp: '000000' } }, 'template_variables', /reserved/],
    ['an empty state', { email: 'a@example.com', state: '' }, 'state', /empty/],
    ['a 1001-char state', { email: 'a@example.com', state: 's'.repeat(1001) }, 'state', /1000/],
    [
      'a 1001-char magic link URI',
      { email: 'a@example.com', magiclinkAuthUri: `http://x.test/${'a'.repeat(1000)}` },
      'magiclink_auth_uri',
      /1000/,
    ],
  ])('%s → INVALID_ARGUMENT on %s', (_name, body, field, description) => {
    const violation = violationOf(() => parseInput(sendInputSchema, body));
    expect(violation.field).toBe(field);
    expect(violation.description).toMatch(description);
  });

  it('never echoes the offending value back', () => {
    const secretish = 'zz-do-not-echo-zz';
    try {
      parseInput(sendInputSchema, { email: secretish, state: '', templateVariables: { k: secretish } });
    } catch (error) {
      expect(JSON.stringify({ m: (error as SesameError).message, v: (error as SesameError).fieldViolations })).not.toContain(secretish);
    }
  });

  it('accepts a full valid request, defaulting the template to SIGNIN', () => {
    const parsed = parseInput(sendInputSchema, {
      email: '  Ada.Lovelace@Example.COM ',
      magiclinkAuthUri: 'http://localhost:3000/api/auth/verify',
      state: 'xyz',
      expiresIn: 0,
      templateVariables: { team: 'Acme' },
    });
    expect(parsed.template).toBe('SIGNIN');
    expect(parsed.email).toBe('Ada.Lovelace@Example.COM');
    expect(parseInput(sendInputSchema, { email: 'a@b.co', template: 'SIGNUP' }).template).toBe('SIGNUP');
  });

  it('normalises the address into a key (trim, NFC, lower case) and keeps it as given for display', () => {
    const decomposed = 'Zoe\u0301@Example.com'; // "é" as e + combining acute
    const { address, key } = normalizeEmail(`  ${decomposed} `);
    expect(address).toBe('Zo\u00e9@Example.com');
    expect(key).toBe('zo\u00e9@example.com');
  });
});

describe('verify and resend input', () => {
  it.each([
    ['both code and link token', { code: '123456', linkToken: 'abc', authRequestId: 'r' }, 'code', /not both/],
    ['neither', { authRequestId: 'r' }, 'code', /required/],
    ['a code without auth_request_id', { code: '123456' }, 'auth_request_id', /required/],
    ['a 21-char code', { code: '1'.repeat(21), authRequestId: 'r' }, 'code', /20/],
    ['a 101-char link token', { linkToken: 't'.repeat(101) }, 'link_token', /100/],
    ['a 201-char auth_request_id', { linkToken: 't', authRequestId: 'r'.repeat(201) }, 'auth_request_id', /200/],
  ])('verify: %s → INVALID_ARGUMENT on %s', (_name, body, field, description) => {
    const violation = violationOf(() => parseInput(verifyInputSchema, body));
    expect(violation.field).toBe(field);
    expect(violation.description).toMatch(description);
  });

  it('resend needs an auth_request_id', () => {
    expect(violationOf(() => parseInput(resendInputSchema, {})).field).toBe('auth_request_id');
    expect(violationOf(() => parseInput(resendInputSchema, { authRequestId: '' })).field).toBe('auth_request_id');
  });

  it('a body that is not an object is INVALID_ARGUMENT on body', () => {
    for (const body of [null, 'x', 42, [], undefined]) {
      expect(violationOf(() => parseInput(sendInputSchema, body)).field).toBe('body');
    }
  });

  it('any JSON value either parses or fails with INVALID_ARGUMENT, never another error', () => {
    const anyBody = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          email: fc.oneof(fc.string(), fc.emailAddress(), fc.jsonValue()),
          template: fc.oneof(fc.constantFrom('SIGNIN', 'SIGNUP', 'X', 1, 2, 0), fc.jsonValue()),
          magiclinkAuthUri: fc.oneof(fc.webUrl(), fc.string()),
          state: fc.string(),
          expiresIn: fc.oneof(fc.integer(), fc.double(), fc.string()),
          templateVariables: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.jsonValue())),
          code: fc.string(),
          linkToken: fc.string(),
          authRequestId: fc.oneof(fc.string(), fc.jsonValue()),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(anyBody, (body) => {
        for (const schema of [sendInputSchema, verifyInputSchema, resendInputSchema]) {
          try {
            parseInput(schema, body);
          } catch (error) {
            if (!(error instanceof SesameError) || error.code !== 'INVALID_ARGUMENT') return false;
            if (error.fieldViolations.length === 0) return false;
          }
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });
});
