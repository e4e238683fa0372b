/**
 * The magic link URI that Sesame stores and emails is exactly the canonical URL it checked
 * against the allow-list. Input a URL parser would rewrite in a way a reader could be fooled by
 * (whitespace it strips or a mail client splits at, `\` it reads as `/`, invisible or
 * direction-changing characters, dot segments) is refused with INVALID_ARGUMENT on
 * `magiclink_auth_uri`, and nothing is queued.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildMagicLink, defaultPolicy, type CallerClient } from '@sesame/core';
import { errorOf, openHarness, outcomeOf, type Harness } from './helpers/harness.js';
import { INVISIBLE_CHARACTERS } from './helpers/invisible.js';

const RULE_ORIGIN = 'https://app.example.com';
const RULE_PATH = '/auth/';
const ALLOWED = `${RULE_ORIGIN}/auth/verify`;
const client: CallerClient = { id: 'client_a', redirectUris: [{ uri: `${RULE_ORIGIN}${RULE_PATH}`, match: 'prefix' }] };

let h: Harness;
let sends = 0;
beforeEach(async () => {
  h = await openHarness();
  // Only the client's prefix rule applies: the development default would allow localhost too.
  h.policy = { ...h.policy, allowedRedirectUris: [] };
});
afterEach(async () => {
  await h.close();
});

function send(magiclinkAuthUri: string) {
  sends += 1;
  return h.engine().send({ email: `user${sends}@example.com`, magiclinkAuthUri }, client);
}

/** What a reader of the email would follow: the stored URI with the token, as the worker builds it. */
async function emailedLink(authRequestId: string): Promise<{ stored: string; link: string; token: string }> {
  const record = await h.store.findAuthRequest(authRequestId, h.now);
  const token = (await h.mailbox()).get(authRequestId)?.linkToken;
  if (!record?.magiclinkAuthUri || !token) throw new Error('no link queued');
  return { stored: record.magiclinkAuthUri, link: buildMagicLink(record.magiclinkAuthUri, token), token };
}

async function expectRefused(uri: string): Promise<void> {
  const error = await errorOf(send(uri));
  expect(error.code, JSON.stringify(uri)).toBe('INVALID_ARGUMENT');
  expect(error.fieldViolations[0]?.field).toBe('magiclink_auth_uri');
  expect(await h.store.outboxDepth()).toBe(0);
}

/** Characters refused anywhere in a magic link URI: whitespace, C0, DEL, C1, `\`, invisible and bidi characters. */
const REFUSED_CHARACTERS = [
  ' ',
  '\t',
  '\n',
  '\r',
  '\f',
  '\v',
  '\u0000',
  '\u0001',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0080',
  '\u0085',
  '\u009f',
  '\u00a0',
  '\u1680',
  '\u2000',
  '\u2007',
  '\u200a',
  '\u2028',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
  '\\',
  ...INVISIBLE_CHARACTERS,
];

describe('magic link URIs a reader could be fooled by are refused', () => {
  it.each([
    ['a space, then another URL', `${RULE_ORIGIN}/auth/ https://evil.example/`],
    ['a tab, then another URL', `${RULE_ORIGIN}/auth/\thttps://evil.example/`],
    ['a newline, then another URL', `${RULE_ORIGIN}/auth/\nhttps://evil.example/`],
    ['a CRLF, then another URL', `${RULE_ORIGIN}/auth/verify\r\nhttps://evil.example/`],
    ['a backslash that reads as userinfo', `${RULE_ORIGIN}\\@evil.example/auth/`],
    ['backslashes as slashes', `https:\\\\app.example.com\\auth\\verify`],
    ['a tab inside the host, which the parser strips', `https://app.exa\tmple.com/auth/verify`],
    ['a newline inside the path, which the parser strips', `${RULE_ORIGIN}/au\nth/verify`],
    ['leading whitespace the parser trims', `  ${ALLOWED}`],
    ['trailing whitespace the parser trims', `${ALLOWED}\n`],
    ['a zero-width space', `${ALLOWED}\u200b`],
    ['a right-to-left override', `${RULE_ORIGIN}/auth/\u202eevil.example`],
    ['a no-break space', `${RULE_ORIGIN}/auth/\u00a0https://evil.example/`],
    ['userinfo', `https://app.example.com@evil.example/auth/`],
    ['userinfo on the allowed host', `https://user:pw@app.example.com/auth/verify`],
    ['a dot segment', `${RULE_ORIGIN}/auth/../auth/verify`],
    ['an encoded dot segment', `${RULE_ORIGIN}/auth/%2e%2e/auth/verify`],
    ['an encoded slash', `${RULE_ORIGIN}/auth/..%2fevil`],
    ['a fragment', `${ALLOWED}#https://evil.example/`],
    ['a link_token of its own', `${ALLOWED}?link_token=attackers-token`],
    ['a raw non-ASCII path', `${RULE_ORIGIN}/auth/caf\u00e9`],
    ['a Unicode host', `https://\u0430pp.example.com/auth/verify`],
    ['no slashes after the scheme', `https:app.example.com/auth/verify`],
    ['a non-http scheme', `javascript://app.example.com/auth/%0aalert(1)`],
  ])('%s → INVALID_ARGUMENT on magiclink_auth_uri', async (_name, uri) => {
    await expectRefused(uri);
  });

  it.each([
    'http://localhost:3000/ https://evil.example/verify',
    'http://localhost:3000/\thttps://evil.example/verify',
    'http://localhost:3000/\r\nhttps://evil.example/verify',
    'http://localhost:3000\\@evil.example/verify',
    'http://localhost:3000\\\\evil.example/verify',
    'http://localhost:3000/\u2028https://evil.example/verify',
  ])('under the development default (prefix http://localhost:3000/): %j → INVALID_ARGUMENT', async (uri) => {
    h.policy = { ...h.policy, allowedRedirectUris: defaultPolicy({ production: false }).allowedRedirectUris };
    await expectRefused(uri);
    // The same URI without the trick is allowed by that rule.
    await expect(send('http://localhost:3000/api/auth/verify')).resolves.toBeDefined();
  });

  it('any refused character inserted anywhere into an allowed URI is refused, and nothing is queued', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...REFUSED_CHARACTERS),
        fc.nat(ALLOWED.length),
        fc.constantFrom('', 'https://evil.example/', '@evil.example/'),
        async (character, at, tail) => {
          await expectRefused(`${ALLOWED.slice(0, at)}${character}${tail}${ALLOWED.slice(at)}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('accepts an allowed URI as given, or with only harmless case / default port / empty-path differences, and stores the canonical form', async () => {
    const cases: Array<[string, string]> = [
      [ALLOWED, ALLOWED],
      [`${ALLOWED}?next=%2Fdashboard&x=a%20b`, `${ALLOWED}?next=%2Fdashboard&x=a%20b`],
      ['HTTPS://APP.Example.COM/auth/verify', ALLOWED],
      ['https://app.example.com:443/auth/verify', ALLOWED],
    ];
    for (const [given, canonical] of cases) {
      const sent = await send(given);
      const { stored, link, token } = await emailedLink(sent.authRequestId);
      expect(stored).toBe(canonical);
      expect(link).toBe(`${canonical}${canonical.includes('?') ? '&' : '?'}link_token=${token}`);
    }
  });
});

/** Pieces an attacker would combine: other origins, separators, encodings, whitespace, invisible characters. */
const PIECES = [
  'https://app.example.com/auth/',
  'https://app.example.com',
  '/auth/',
  'verify',
  'x',
  'https://evil.example/',
  'evil.example',
  '@',
  '\\',
  '/',
  '//',
  '..',
  '.',
  '%2e',
  '%2E',
  '%2f',
  '%5C',
  '%252f',
  ';',
  '?',
  '#',
  '&',
  '=',
  'next=/a',
  'link_token=1',
  ':443',
  ':8443',
  'HTTPS://APP.EXAMPLE.COM/AUTH/',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u0000',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\u00e9',
  'xn--bcher-kva.de',
  '%00',
  '%20',
  '%0a',
];

describe('the link emailed', () => {
  it('always reads the same to every reader and leads under the rule that allowed it', async () => {
    const candidate = fc.oneof(
      fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 8 }).map((parts) => `https://app.example.com/auth/${parts.join('')}`),
      fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 10 }).map((parts) => parts.join('')),
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(candidate, async (uri) => {
        const sent = send(uri);
        const error = await outcomeOf(sent);
        if (error) {
          expect(['INVALID_ARGUMENT', 'REDIRECT_URI_NOT_ALLOWED']).toContain(error.code);
          return;
        }
        accepted += 1;
        const { stored, link, token } = await emailedLink((await sent).authRequestId);
        const url = new URL(link);
        // One reading for every reader: the parser's serialisation is the string itself, with
        // nothing a mail client or a person would split, strip or read differently.
        expect(link).toBe(url.href);
        expect(link).toMatch(/^[\x21-\x7e]+$/);
        expect(link).not.toContain('\\');
        expect(link.startsWith(stored)).toBe(true);
        expect(new URL(stored).href).toBe(stored);
        // Where it leads: the rule's origin, a path under the rule's path, and Sesame's token.
        expect(url.origin).toBe(RULE_ORIGIN);
        expect(url.pathname.startsWith(RULE_PATH)).toBe(true);
        expect(url.username + url.password + url.hash).toBe('');
        expect(url.searchParams.getAll('link_token')).toEqual([token]);
      }),
      { numRuns: 400 },
    );
    // The generator reaches both sides.
    expect(accepted).toBeGreaterThan(10);
  });
});

describe('buildMagicLink', () => {
  it('keeps an existing query byte for byte and appends the token', () => {
    expect(buildMagicLink('https://a.test/v', 'T_-1')).toBe('https://a.test/v?link_token=T_-1');
    expect(buildMagicLink('https://a.test/v?next=%2Fx', 'T')).toBe('https://a.test/v?next=%2Fx&link_token=T');
    expect(buildMagicLink('https://a.test/v?a=%20&flag', 'T')).toBe('https://a.test/v?a=%20&flag&link_token=T');
    expect(buildMagicLink('https://a.test/v?', 'T')).toBe('https://a.test/v?link_token=T');
    expect(buildMagicLink('https://a.test/v??next=%2Fx', 'T')).toBe('https://a.test/v??next=%2Fx&link_token=T');
    expect(buildMagicLink('https://a.test/v???', 'T')).toBe('https://a.test/v???&link_token=T');
  });
});
