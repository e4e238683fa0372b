/**
 * Prefix redirect rules admit whole path segments only: a prefix rule must end in `/`, and a
 * candidate whose path holds an encoded `/` or `\` or a dot segment (in any spelling a server
 * might decode) is refused, since it could reach outside the prefix once the app's server
 * decodes it. Policies saved before the `/` rule still load and match as if it were there.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as core from '@sesame/core';
import { SesameError, defaultPolicy, isRedirectAllowed, parsePolicy, parseRedirectRules, type RedirectRule } from '@sesame/core';

const PREFIX: RedirectRule = { uri: 'https://app.example.com/auth/', match: 'prefix' };

/** Every spelling of "." a server might read as a dot: plain, percent-encoded in either case, encoded twice. */
const DOT = ['.', '%2e', '%2E', '%252e', '%252E', '%25252e'];
/** `/` and `\` percent-encoded, in either case, once or twice. */
const ENCODED_SEPARATORS = ['%2f', '%2F', '%5c', '%5C', '%252f', '%252F', '%255c', '%255C', '%25252f'];

/** Every dot segment of one or two dots, optionally with a `;parameter` as servlet containers strip it. */
function dotSegments(): string[] {
  const out: string[] = [];
  for (const a of DOT) {
    out.push(a, `${a};`, `${a};x=1`);
    for (const b of DOT) out.push(`${a}${b}`, `${a}${b};`, `${a}${b};jsessionid=1`);
  }
  return out;
}

describe('candidates with a dot segment or an encoded separator are refused', () => {
  const segments = dotSegments();

  it.each(segments.map((segment) => [segment]))('dot segment %s anywhere in the path', (segment) => {
    for (const path of [`/auth/${segment}/evil`, `/auth/x/${segment}/${segment}/evil`, `/auth/${segment}`, `/auth/x/${segment}/`]) {
      expect(isRedirectAllowed(`https://app.example.com${path}`, [PREFIX]), path).toBe(false);
    }
  });

  it.each(ENCODED_SEPARATORS.map((separator) => [separator]))('encoded separator %s anywhere in the path', (separator) => {
    for (const path of [
      `/auth/..${separator}evil`,
      `/auth/x${separator}..${separator}..${separator}evil`,
      `/auth/${separator}`,
      `/auth/a${separator}b`,
    ]) {
      expect(isRedirectAllowed(`https://app.example.com${path}`, [PREFIX]), path).toBe(false);
    }
  });

  it('generated paths: allowed only when free of dot segments and encoded separators, and then only under the prefix', () => {
    const segment = fc.oneof(
      fc.stringMatching(/^[a-z0-9_~-]{1,8}$/),
      fc.constantFrom(...segments),
      fc
        .tuple(fc.stringMatching(/^[a-z]{0,3}$/), fc.constantFrom(...ENCODED_SEPARATORS), fc.stringMatching(/^[a-z.]{0,3}$/))
        .map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (parts) => {
        const path = `/auth/${parts.join('/')}`;
        const unsafe = parts.some((part) => segments.includes(part) || ENCODED_SEPARATORS.some((separator) => part.includes(separator)));
        const allowed = isRedirectAllowed(`https://app.example.com${path}`, [PREFIX]);
        if (unsafe) return !allowed;
        return allowed;
      }),
      { numRuns: 2_000 },
    );
  });

  it('an exact rule does not admit a dot-segment spelling of itself', () => {
    const exact: RedirectRule = { uri: 'https://app.example.com/auth/verify', match: 'exact' };
    for (const uri of [
      'https://app.example.com/x/../auth/verify',
      'https://app.example.com/auth/./verify',
      'https://app.example.com/x/%2e%2e/auth/verify',
    ]) {
      expect(isRedirectAllowed(uri, [exact]), uri).toBe(false);
    }
    expect(isRedirectAllowed('https://app.example.com/auth/verify', [exact])).toBe(true);
  });
});

describe('a prefix rule must end in "/"', () => {
  it.each([
    'https://app.example.com/auth*',
    'https://app.example.com/auth/verify*',
    'https://app.example.com/auth/?x=1*',
    'https://app.example.com/a/../auth/*',
  ])('SESAME_ALLOWED_REDIRECT_URIS / client redirect URI %s is refused with the reason', (item) => {
    expect(() => parseRedirectRules(item)).toThrow(/prefix rule|dot segment|canonical/);
  });

  it('a prefix rule ending in "/" (or a bare origin, which is "/") is accepted, as its canonical form', () => {
    expect(parseRedirectRules('https://app.example.com/auth/*, https://App.Example.com*, https://app.example.com/cb')).toEqual([
      { uri: 'https://app.example.com/auth/', match: 'prefix' },
      { uri: 'https://app.example.com/', match: 'prefix' },
      { uri: 'https://app.example.com/cb', match: 'exact' },
    ]);
  });

  it.each([
    [{ uri: 'https://app.example.com/auth', match: 'prefix' }, /end in "\/"/],
    [{ uri: 'https://app.example.com/auth/?next=', match: 'prefix' }, /query/],
    [{ uri: 'https://app.example.com/a%2fb/', match: 'prefix' }, /encoded/],
    [{ uri: 'https://app.example.com/ auth/', match: 'prefix' }, /whitespace/],
    [{ uri: 'https://app.example.com\\auth/', match: 'exact' }, /backslash/],
  ] as const)('saving a policy with %j is INVALID_ARGUMENT naming the rule', (rule, description) => {
    const policy = {
      ...defaultPolicy({ production: true }),
      allowedRedirectUris: [{ uri: 'https://ok.example.com/', match: 'prefix' }, rule],
    };
    try {
      parsePolicy(policy);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SesameError);
      const e = error as SesameError;
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.fieldViolations[0]?.field).toBe('allowed_redirect_uris.1.uri');
      expect(e.fieldViolations[0]?.description).toMatch(description);
    }
  });

  it('prefix rules match whole path segments: /auth/ never admits /authority', () => {
    for (const rule of [PREFIX, { uri: 'https://app.example.com/auth', match: 'prefix' as const }]) {
      expect(isRedirectAllowed('https://app.example.com/auth/verify', [rule])).toBe(true);
      expect(isRedirectAllowed('https://app.example.com/authority/verify', [rule])).toBe(false);
      expect(isRedirectAllowed('https://app.example.com/auth.evil/verify', [rule])).toBe(false);
      expect(isRedirectAllowed('https://app.example.com/auth?x=/auth/', [rule])).toBe(false);
    }
  });

  it('a policy saved before the rule still loads, its prefix rule read with "/" appended', () => {
    const saved = {
      ...defaultPolicy({ production: true }),
      allowedRedirectUris: [{ uri: 'https://app.example.com/auth', match: 'prefix' }],
    };
    const loaded = core.parseStoredPolicy(saved);
    expect(loaded.allowedRedirectUris).toEqual([{ uri: 'https://app.example.com/auth/', match: 'prefix' }]);
    expect(isRedirectAllowed('https://app.example.com/auth/verify', loaded.allowedRedirectUris)).toBe(true);
    expect(isRedirectAllowed('https://app.example.com/authority', loaded.allowedRedirectUris)).toBe(false);
    // Saving it back as loaded passes the stricter check.
    expect(parsePolicy(loaded)).toEqual(loaded);
  });
});
