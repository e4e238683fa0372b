/**
 * One mailbox, one key: an address is keyed by its domain's IDNA (UTS-46) ASCII form and its
 * lower-cased local part, and per-address limits count on that key without a `+tag`. Spellings
 * that would open a second key for the same mailbox, or make an address read as another
 * (invisible characters, non-ASCII full stops, fullwidth and other compatibility forms), are
 * refused with INVALID_ARGUMENT on `email`.
 */
import { domainToASCII } from 'node:url';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as core from '@sesame/core';
import { SesameError, normalizeEmail, parseInput, sendInputSchema, type CallerClient } from '@sesame/core';
import { errorOf, openHarness, type Harness } from './helpers/harness.js';
import { INVISIBLE_CHARACTERS } from './helpers/invisible.js';

const client: CallerClient = { id: 'client_a', redirectUris: [] };
const LINK_URI = 'http://localhost:3000/api/auth/verify';

/** Domain labels as people write them: ASCII, Latin with diacritics, Greek, Cyrillic, CJK, Arabic, Devanagari. */
const LABELS = [
  'bücher',
  'münchen',
  'example',
  'mail',
  'straße',
  'ελληνικά',
  'пример',
  '例え',
  '中文',
  'مثال',
  'उदाहरण',
  'café',
  'a-b',
  'x1',
];
const TLDS = ['de', 'com', 'org', 'рф', '中国', 'io'];
const LOCALS = ['w', 'ada.lovelace', 'first_last', 'o\u2019brien', 'jöran', 'x-y', 'user123'];

const mailbox = fc.record({
  local: fc.constantFrom(...LOCALS),
  labels: fc.array(fc.constantFrom(...LABELS), { minLength: 1, maxLength: 3 }),
  tld: fc.constantFrom(...TLDS),
});

/** How to spell a mailbox: the case of each letter, each label as Unicode or as its xn-- form, an optional +tag. */
const plan = fc.record({
  upper: fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
  ascii: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  tag: fc.option(fc.stringMatching(/^[a-z0-9_-]{0,8}$/)),
});
type Box = { local: string; labels: string[]; tld: string };

function spell(box: Box, { upper, ascii, tag }: { upper: boolean[]; ascii: boolean[]; tag: string | null }): string {
  // Only letters whose upper case lower-cases back to them: "ß" → "SS" is another IDNA label.
  const cased = (text: string, offset: number) =>
    Array.from(text)
      .map((ch, i) => (upper[(i + offset) % 64] && ch.toUpperCase().toLowerCase() === ch ? ch.toUpperCase() : ch))
      .join('');
  const labels = [...box.labels, box.tld].map((label, i) => cased(ascii[i % 4] ? domainToASCII(label) : label, i * 7));
  return `${cased(box.local, 3)}${tag === null ? '' : `+${tag}`}@${labels.join('.')}`;
}

/** One mailbox and two of its spellings. */
const twoSpellings = fc.tuple(mailbox, plan, plan).map(([box, a, b]) => [box, spell(box, a), spell(box, b)] as const);

function violationOf(run: () => unknown): { field: string; description: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SesameError);
    expect((error as SesameError).code).toBe('INVALID_ARGUMENT');
    return (error as SesameError).fieldViolations[0]!;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('equivalent spellings share one key', () => {
  it('w@bücher.de and w@xn--bcher-kva.de (any case) are one key, the IDNA ASCII form', () => {
    for (const spelling of ['w@bücher.de', 'w@xn--bcher-kva.de', 'W@XN--BCHER-KVA.DE', 'W@BÜCHER.DE', ' w@Bu\u0308cher.de ']) {
      expect(normalizeEmail(spelling).key, spelling).toBe('w@xn--bcher-kva.de');
    }
  });

  it('generated spellings of one mailbox share its key; the key is ASCII-domained and equals Node’s domainToASCII', () => {
    fc.assert(
      fc.property(twoSpellings, ([box, a, b]) => {
        const untag = (address: string) => address.replace(/\+[^@]*@/, '@');
        const keyA = normalizeEmail(untag(a)).key;
        expect(normalizeEmail(untag(b)).key).toBe(keyA);
        const domain = keyA.slice(keyA.lastIndexOf('@') + 1);
        expect(domain).toMatch(/^[a-z0-9.-]+$/);
        expect(domain).toBe(domainToASCII([...box.labels, box.tld].join('.')));
        expect(keyA.slice(0, keyA.lastIndexOf('@'))).toBe(box.local.toLowerCase());
        // Accepted by the request schema too, with the address kept as given.
        expect(parseInput(sendInputSchema, { email: a }).email).toBe(a.normalize('NFC'));
      }),
      { numRuns: 500 },
    );
  });

  it('the limit key drops a +tag: every tagged spelling shares the untagged limit key', () => {
    fc.assert(
      fc.property(twoSpellings, ([, a, b]) => {
        const limitKey = (address: string) => (core.normalizeEmail(address) as { limitKey?: string }).limitKey;
        expect(limitKey(a)).toBeDefined();
        expect(limitKey(a)).toBe(limitKey(b));
      }),
      { numRuns: 500 },
    );
  });

  it('the delivery address stays as given: trimmed and NFC', () => {
    expect(normalizeEmail('  W+Tag@Bu\u0308cher.DE ').address).toBe('W+Tag@B\u00fccher.DE');
    expect(normalizeEmail('+1234@example.com').key).toBe('+1234@example.com');
  });
});

/** Characters that are invisible or change text direction (Unicode default-ignorable, format, bidi). */
const INVISIBLE = [
  ...INVISIBLE_CHARACTERS,
  '\u1160',
  '\u17b4',
  '\u17b5',
  '\u180b',
  '\u180f',
  '\u2061',
  '\u2062',
  '\u2063',
  '\u2064',
  '\u206a',
  '\u206f',
  '\u3164',
  '\ufe00',
  '\uffa0',
  '\u{1d173}',
  '\u{e0001}',
  '\u{e0100}',
  '\u{e01ef}',
  '\u0600',
  '\u06dd',
  '\u{110bd}',
  '\ue000',
  '\u{f0000}',
  '\ud800',
];
/** Full stops that are not "." (IDNA maps the first three to "."). */
const DOTS = ['\u3002', '\uff0e', '\uff61', '\ufe52', '\u2024', '\u0701', '\u0702', '\u06d4', '\u2e3c', '\ua4f8', '\ua60e'];

describe('spellings that would open another key are refused on email', () => {
  const valid = fc.constantFrom('ada@example.com', 'w@bücher.de', 'first.last+tag@mail.example.org', 'jöran@münchen.de');

  it('an invisible or direction-changing character anywhere', () => {
    fc.assert(
      fc.property(valid, fc.constantFrom(...INVISIBLE), fc.nat(), (address, character, at) => {
        const i = 1 + (at % (address.length - 1));
        const given = `${address.slice(0, i)}${character}${address.slice(i)}`;
        expect(violationOf(() => parseInput(sendInputSchema, { email: given })).field).toBe('email');
        expect(violationOf(() => normalizeEmail(given)).field).toBe('email');
      }),
      { numRuns: 500 },
    );
  });

  it('a non-ASCII full stop in place of any "."', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('ada@mail.example.com', 'w@bücher.co.de', 'first.last@example.org'),
        fc.constantFrom(...DOTS),
        fc.nat(),
        (address, dot, which) => {
          const dots = [...address.matchAll(/\./g)].map((m) => m.index);
          const at = dots[which % dots.length]!;
          const given = `${address.slice(0, at)}${dot}${address.slice(at + 1)}`;
          expect(violationOf(() => parseInput(sendInputSchema, { email: given })).field).toBe('email');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fullwidth and other compatibility forms (anything NFKC would change)', () => {
    const fullwidth = (ch: string) => (/[!-~]/.test(ch) ? String.fromCodePoint(ch.codePointAt(0)! + 0xfee0) : ch);
    fc.assert(
      fc.property(valid, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), (address, positions) => {
        const chars = Array.from(address);
        for (const p of positions) {
          const i = p % chars.length;
          if (chars[i] !== '@') chars[i] = fullwidth(chars[i]!);
        }
        const given = chars.join('');
        if (given === address) return;
        expect(violationOf(() => parseInput(sendInputSchema, { email: given })).field).toBe('email');
      }),
      { numRuns: 300 },
    );
    for (const given of [
      'ｗ@example.com',
      'w@ｅxample.com',
      'ﬁle@example.com',
      'w²@example.com',
      'w@example.ｃｏｍ',
      'ａｄａ＠example.com',
      'w@exªmple.com',
      'ｗ@ｅｘａｍｐｌｅ.com',
    ]) {
      expect(violationOf(() => parseInput(sendInputSchema, { email: given })).field, given).toBe('email');
    }
  });

  it('a domain that is not a DNS name once in ASCII, or that a URL parser would decode first', () => {
    for (const given of [
      'w@xn--zz.de',
      'w@b%C3%BCcher.de',
      'w@ex!ample.com',
      'w@-example.com',
      'w@example-.com',
      `w@${'a'.repeat(64)}.com`,
      'w@\u{1f4a9}.la',
    ]) {
      expect(violationOf(() => parseInput(sendInputSchema, { email: given })).field, given).toBe('email');
    }
  });
});

describe('per-address limits count one mailbox once', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
    h.policy = { ...h.policy, emailsPerAddress: { max: 1, windowMs: 60_000 } };
  });
  afterEach(async () => {
    await h.close();
  });

  it.each([
    ['w@bücher.de', 'w@xn--bcher-kva.de'],
    ['w@xn--bcher-kva.de', 'W@BÜCHER.DE'],
    ['w@example.com', 'w+x@example.com'],
    ['w+1@example.com', 'w+2@Example.com'],
    ['ada@münchen.de', 'Ada+promo@XN--MNCHEN-3YA.de'],
  ])('%s then %s → SEND_LIMIT_EXCEEDED for the second', async (first, second) => {
    const engine = h.engine();
    const sent = await engine.send({ email: first, magiclinkAuthUri: LINK_URI }, client);
    expect((await errorOf(engine.send({ email: second, magiclinkAuthUri: LINK_URI }, client))).code).toBe('SEND_LIMIT_EXCEEDED');
    // The request keeps the address as given for delivery.
    expect((await h.store.findAuthRequest(sent.authRequestId, h.now))?.email).toBe(first);
  });

  it('failed codes count per mailbox across its spellings too', async () => {
    h.policy = { ...h.policy, emailsPerAddress: { max: 10, windowMs: 60_000 }, failedOtpPerAddress: { max: 2, windowMs: 86_400_000 } };
    const engine = h.engine();
    for (const spelling of ['w@bücher.de', 'w+a@xn--bcher-kva.de']) {
      const sent = await engine.send({ email: spelling, magiclinkAuthUri: LINK_URI }, client);
      expect((await errorOf(engine.verify({ code: 'ABCDEF', authRequestId: sent.authRequestId }, client))).code).toBe('INVALID_CREDENTIAL');
    }
    const last = await engine.send({ email: 'W+b@Bücher.de', magiclinkAuthUri: LINK_URI }, client);
    const otp = (await h.mailbox()).get(last.authRequestId)?.otp;
    expect((await errorOf(engine.verify({ code: otp, authRequestId: last.authRequestId }, client))).code).toBe('TOO_MANY_ATTEMPTS');
  });
});
