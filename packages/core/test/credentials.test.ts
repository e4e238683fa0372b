import { describe, expect, it } from 'vitest';
import {
  createCredentialHasher,
  createPayloadSealer,
  cryptoRandom,
  fromBase64Url,
  generateId,
  generateTimeOrderedId,
  generateLinkToken,
  generateOtp,
  LINK_TOKEN_TIME_BYTES,
  linkLookupKey,
  linkTokenTimePrefix,
  normalizeOtp,
  openOutboxPayload,
  sealOutboxPayload,
  constantTimeEqual,
  type RandomSource,
} from '@sesame/core';

const secret = new Uint8Array(32).fill(7);

describe('codes and tokens', () => {
  it('makes 6-digit numeric codes with every digit equally likely', () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 2000; i++) {
      const code = generateOtp(cryptoRandom, 'NUMERIC', 6);
      expect(code).toMatch(/^\d{6}$/);
      for (const ch of code) counts[Number(ch)]!++;
    }
    // 12 000 digits: each expected 1 200; a biased generator (e.g. byte % 10) skews 0–5 by ~2.4%,
    // a broken one far more. ±15% is > 10 standard deviations for a fair one.
    for (const c of counts) expect(Math.abs(c - 1200)).toBeLessThan(180);
  });

  it('rejects biased bytes instead of folding them (no modulo bias)', () => {
    // Bytes 250..255 would map to 0..5 under plain modulo; they must be skipped.
    let calls = 0;
    const random: RandomSource = {
      bytes(length) {
        calls++;
        return new Uint8Array(length).fill(calls === 1 ? 255 : 13);
      },
    };
    expect(generateOtp(random, 'NUMERIC', 6)).toBe('333333');
  });

  it('makes alphanumeric codes from the unambiguous alphabet, at lengths 6 to 8', () => {
    for (const length of [6, 7, 8]) {
      const code = generateOtp(cryptoRandom, 'ALPHANUMERIC', length);
      expect(code).toMatch(new RegExp(`^[0-9A-HJKMNP-TV-Z]{${length}}$`));
    }
  });

  it('normalises typed codes without changing their meaning', () => {
    expect(normalizeOtp(' 123 456 ', 'NUMERIC')).toBe('123456');
    expect(normalizeOtp('ab-cd-oi', 'ALPHANUMERIC')).toBe('ABCD01');
    expect(normalizeOtp('abc', 'NUMERIC')).toBe('abc');
  });

  it('makes 32-byte base64url link tokens and 128-bit ids', () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const token = generateLinkToken(cryptoRandom, now);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fromBase64Url(token)).toHaveLength(32);
    expect(fromBase64Url(generateId(cryptoRandom))).toHaveLength(16);
    expect(generateLinkToken(cryptoRandom, now)).not.toBe(token);
    // Same millisecond: the 8 time characters agree, the 26 random bytes do not.
    const other = generateLinkToken(cryptoRandom, now);
    expect(other.slice(0, 8)).toBe(token.slice(0, 8));
    expect(fromBase64Url(other).slice(6)).not.toEqual(fromBase64Url(token).slice(6));
  });

  it('starts a link token with its issue time, and its lookup key with those bytes', async () => {
    const hasher = createCredentialHasher(new Uint8Array(32).fill(9));
    const now = Date.UTC(2026, 10, 25, 12, 0, 0, 123);
    const token = generateLinkToken(cryptoRandom, now);
    const time = fromBase64Url(token).slice(0, LINK_TOKEN_TIME_BYTES);
    expect(time.reduce((ms, byte) => ms * 256 + byte, 0)).toBe(now);
    expect(linkTokenTimePrefix(token, now + 3_600_000)).toEqual(time);

    const key = await linkLookupKey(hasher, token, now);
    const digest = await hasher.digest('link-lookup', '', token);
    expect(key).toHaveLength(LINK_TOKEN_TIME_BYTES + 32);
    expect(key.slice(0, LINK_TOKEN_TIME_BYTES)).toEqual(time);
    expect(key.slice(LINK_TOKEN_TIME_BYTES)).toEqual(digest);
    // Verified later (the key is the same at any later time) and keys sort by issue time.
    expect(await linkLookupKey(hasher, token, now + 86_400_000)).toEqual(key);
    const later = await linkLookupKey(hasher, generateLinkToken(cryptoRandom, now + 1), now + 1);
    expect(Buffer.compare(Buffer.from(key), Buffer.from(later))).toBe(-1);
  });

  it('keys tokens without a plausible time (older random ones, forged, not base64url) by the digest alone', async () => {
    const hasher = createCredentialHasher(new Uint8Array(32).fill(9));
    const now = Date.UTC(2026, 10, 25, 12);
    const before = generateLinkToken(cryptoRandom, Date.UTC(2026, 9, 1)); // before the format began
    const ahead = generateLinkToken(cryptoRandom, now + 10 * 60_000); // beyond the tolerated skew
    for (const token of [before, ahead, '!!!!!!!!not-base64', '', 'short']) {
      expect(linkTokenTimePrefix(token, now)).toBeNull();
      expect(await linkLookupKey(hasher, token, now)).toEqual(await hasher.digest('link-lookup', '', token));
    }
  });

  it('makes time-ordered ids: sortable by creation time, 128 random bits after the prefix', () => {
    const times = [0, 1, 31, 32, 1_700_000_000_000, 1_700_000_000_001, 1_764_000_000_000, 2 ** 48 - 1];
    const ids = times.map((t) => generateTimeOrderedId(cryptoRandom, t));
    for (const id of ids) {
      expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}[A-Za-z0-9_-]{22}$/);
      expect(fromBase64Url(id.slice(10))).toHaveLength(16);
    }
    // Byte order (what a B-tree index compares) is creation order.
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]!.slice(0, 10)).toBe('0000000000');
    expect(ids[3]!.slice(0, 10)).toBe('0000000010');
    // Same millisecond: same prefix, different ids.
    const a = generateTimeOrderedId(cryptoRandom, 1_764_000_000_000);
    expect(a.slice(0, 10)).toBe(ids[6]!.slice(0, 10));
    expect(a).not.toBe(ids[6]);
  });
});

describe('credential digests', () => {
  const hasher = createCredentialHasher(secret);

  it('are keyed: another secret gives another digest', async () => {
    const other = createCredentialHasher(new Uint8Array(32).fill(8));
    const a = await hasher.digest('otp', 'req1', '123456');
    expect(a).toHaveLength(32);
    expect(constantTimeEqual(a, await other.digest('otp', 'req1', '123456'))).toBe(false);
    expect(constantTimeEqual(a, await hasher.digest('otp', 'req1', '123456'))).toBe(true);
  });

  it('are bound to the purpose and the auth request id', async () => {
    const base = await hasher.digest('otp', 'req1', '123456');
    expect(constantTimeEqual(base, await hasher.digest('link', 'req1', '123456'))).toBe(false);
    expect(constantTimeEqual(base, await hasher.digest('otp', 'req2', '123456'))).toBe(false);
    // No ambiguity between id and value boundaries.
    expect(constantTimeEqual(await hasher.digest('otp', 'ab', 'c'), await hasher.digest('otp', 'a', 'bc'))).toBe(false);
  });

  it('refuse a short server secret', () => {
    expect(() => createCredentialHasher(new Uint8Array(16))).toThrow(/at least 32 bytes/);
  });
});

describe('sealed outbox payload', () => {
  const sealer = createPayloadSealer(secret);

  it('round-trips and does not contain the code in clear', async () => {
    const sealed = await sealOutboxPayload(sealer, 'out1', { otp: '424242', linkToken: 'tok_abcdefgh' });
    expect(Buffer.from(sealed).toString('latin1')).not.toContain('424242');
    expect(Buffer.from(sealed).toString('latin1')).not.toContain('tok_abcdefgh');
    await expect(openOutboxPayload(sealer, 'out1', sealed)).resolves.toEqual({ otp: '424242', linkToken: 'tok_abcdefgh' });
  });

  it('refuses a payload moved to another outbox row or tampered with', async () => {
    const sealed = await sealOutboxPayload(sealer, 'out1', { otp: '424242', linkToken: null });
    await expect(openOutboxPayload(sealer, 'out2', sealed)).rejects.toThrow();
    const tampered = sealed.slice();
    tampered[tampered.length - 1]! ^= 1;
    await expect(openOutboxPayload(sealer, 'out1', tampered)).rejects.toThrow();
    await expect(openOutboxPayload(createPayloadSealer(new Uint8Array(32).fill(9)), 'out1', sealed)).rejects.toThrow();
  });
});
