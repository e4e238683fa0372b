/**
 * `safeNextPath` against every `next` the WHATWG URL parser (the browser's) could turn into
 * another origin: a table of the known shapes, then generated values built from the pieces
 * those shapes are made of (dot segments plain and encoded, slashes and backslashes plain,
 * encoded and as look-alike code points, tabs and newlines the parser drops, schemes, `@`).
 * The property is about the RESULT, as a browser would follow it from any page of the app.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeNextPath } from '../src/index.js';

const APP = 'https://app.example';
const FALLBACK = '/home';

/** Where a browser on some page of the app lands when it follows `Location: <path>`. */
function landsOnApp(path: string): boolean {
  return [APP, `${APP}/`, `${APP}/login?next=x`, `${APP}/a/b/c`].every((base) => new URL(path, base).origin === APP);
}

describe('safeNextPath: the result stays on the app', () => {
  it.each([
    '/.//evil.example',
    '/%2e//evil.example',
    '/%2E//evil.example',
    '/a/..//evil.example',
    '/a/%2e%2e//evil.example',
    '/././/evil.example/x?y=1',
    '/.%2f/evil.example',
    '/%2e/%2e//evil.example',
    '/a/b/../..//evil.example',
    '/\\evil.example',
    '/\\/evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    '/\r\n/evil.example',
    '//evil.example',
    '//evil.example/x',
    '///evil.example',
    'https://evil.example/',
    'http:evil.example',
    'javascript:alert(1)',
    '\\\\evil.example',
    ' /x',
    'dashboard',
    '',
    `/${'a'.repeat(1000)}`,
  ])('refuses %j (falls back to the default)', (input) => {
    const out = safeNextPath(input, FALLBACK);
    expect(landsOnApp(out)).toBe(true);
    expect(out).toBe(FALLBACK);
  });

  it.each([
    ['/dashboard?x=1', '/dashboard?x=1'],
    ['/dashboard/../settings', '/settings'],
    ['/a/./b', '/a/b'],
    ['/a/b#c', '/a/b'],
    ['/search?q=a%20b&next=//evil.example', '/search?q=a%20b&next=//evil.example'],
    ['/caf\u00e9', '/caf%C3%A9'],
    ['/a\u2215evil.example', '/a%E2%88%95evil.example'],
  ])('keeps the same-origin path %j as %j', (input, expected) => {
    expect(safeNextPath(input, FALLBACK)).toBe(expected);
    expect(landsOnApp(expected)).toBe(true);
  });

  it('refuses non-strings', () => {
    expect(safeNextPath(undefined, FALLBACK)).toBe(FALLBACK);
    expect(safeNextPath(['/x'], FALLBACK)).toBe(FALLBACK);
  });

  const pieces = fc.constantFrom(
    '/',
    '//',
    '\\',
    '.',
    '..',
    '%2e',
    '%2E',
    '%2e%2e',
    '%252e',
    '%2f',
    '%2F',
    '%5c',
    '%5C',
    '%09',
    '%0a',
    '\t',
    '\n',
    '\r',
    ' ',
    '\u0000',
    '@',
    ':',
    '?',
    '#',
    '&',
    'evil.example',
    'app.example',
    'a',
    'http:',
    'https:',
    'javascript:',
    '\u2215', // division slash
    '\u2044', // fraction slash
    '\uff0f', // fullwidth solidus
    '\uff3c', // fullwidth reverse solidus
    '\ufe68', // small reverse solidus
    '\u29f8', // big solidus
    '\u3002', // ideographic full stop
    '\uff0e', // fullwidth full stop
    '%E2%88%95',
    '%EF%BC%8F',
  );
  const candidates = fc.oneof(
    fc.array(pieces, { minLength: 1, maxLength: 12 }).map((parts) => `/${parts.join('')}`),
    fc.array(pieces, { minLength: 1, maxLength: 12 }).map((parts) => parts.join('')),
    fc.string({ maxLength: 40 }).map((s) => `/${s}`),
    fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `/${s}`),
  );

  it('every generated next resolves to the app origin, from any page, and is a fixed point', () => {
    fc.assert(
      fc.property(candidates, (input) => {
        const out = safeNextPath(input, FALLBACK);
        expect(landsOnApp(out), `${JSON.stringify(input)} -> ${JSON.stringify(out)}`).toBe(true);
        // What the kit stores and later re-checks must come out unchanged.
        expect(safeNextPath(out, FALLBACK)).toBe(out);
        expect(out.startsWith('/') && !out.startsWith('//')).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('plain same-origin paths come back unchanged', () => {
    const segment = fc.stringMatching(/^[a-z0-9_-]{1,10}$/);
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 5 }),
        fc.option(fc.stringMatching(/^[a-z]{1,5}=[a-z0-9]{0,5}$/)),
        (segments, query) => {
          const path = `/${segments.join('/')}${query === null ? '' : `?${query}`}`;
          expect(safeNextPath(path, FALLBACK)).toBe(path);
        },
      ),
      { numRuns: 500 },
    );
  });
});
