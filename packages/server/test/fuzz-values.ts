/**
 * Generators shared by the property tests that throw bodies at the API: fuzz.test.ts in process,
 * security/fuzz-routes.test.ts over real HTTP.
 */
import fc from 'fast-check';
import { REDIRECT } from './helpers.js';

/** Values that stress the edges of any field: wrong types, empty, huge and odd strings, odd keys, nesting. */
export const edgeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 1200 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.constantFrom(
    '',
    ' ',
    'SIGNIN',
    'SIGNUP',
    'LINK',
    'OTP',
    0,
    1,
    2,
    -1,
    3601,
    1e308,
    null,
    true,
    REDIRECT,
    'a@example.com',
    'ａ@example.com',
    '__proto__',
    'client_credentials',
    '000000',
    'x'.repeat(5000),
  ),
  fc.integer(),
  fc.double(),
);

/** Objects keyed by `fields`, prototype names and random keys, each value an edge value. */
export function objectWith(fields: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const keys = fc.oneof(fc.constantFrom(...fields, '__proto__', 'constructor', 'toString'), fc.string({ maxLength: 30 }));
  return fc.dictionary(keys, edgeValue, { maxKeys: 8 });
}
