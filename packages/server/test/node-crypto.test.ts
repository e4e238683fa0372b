import { hkdfSync, randomBytes } from 'node:crypto';
import { createCredentialHasher, createPayloadSealer, cryptoRandom, utf8 } from '@sesame/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createNodeCredentialHasher,
  createNodePayloadSealer,
  createPooledRandom,
  openAesGcm,
  sealAesGcm,
} from '../src/passwordless/node-crypto.js';

describe('node:crypto ports are interchangeable with core’s Web Crypto ones', () => {
  const secret = randomBytes(40);
  const web = { hasher: createCredentialHasher(secret), sealer: createPayloadSealer(secret) };
  const node = { hasher: createNodeCredentialHasher(secret), sealer: createNodePayloadSealer(secret) };

  it('produce identical digests', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('otp' as const, 'link' as const, 'link-lookup' as const),
        fc.string(),
        fc.string(),
        async (purpose, id, value) => {
          expect(await node.hasher.digest(purpose, id, value)).toEqual(await web.hasher.digest(purpose, id, value));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('open each other’s sealed payloads, and refuse a wrong associated data or a tampered byte', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.uint8Array({ maxLength: 300 }), async (ad, plain) => {
        expect(await web.sealer.open(ad, await node.sealer.seal(ad, plain))).toEqual(plain);
        expect(await node.sealer.open(ad, await web.sealer.seal(ad, plain))).toEqual(plain);
      }),
      { numRuns: 100 },
    );
    const sealed = await node.sealer.seal('row-1', utf8.encode('{"otp":"123456"}'));
    await expect(node.sealer.open('row-2', sealed)).rejects.toThrow();
    const tampered = sealed.slice();
    tampered[tampered.length - 1]! ^= 1;
    await expect(node.sealer.open('row-1', tampered)).rejects.toThrow();
    await expect(web.sealer.open('row-1', tampered)).rejects.toThrow();
  });

  it('the synchronous seal and open (the admin pending cookie uses them) read and write the sealer’s one format', async () => {
    // The key core's sealer derives for the outbox, so both sides seal under the same key.
    const key = new Uint8Array(hkdfSync('sha256', secret, 'sesame/v1', 'sesame outbox seal', 32));
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.uint8Array({ maxLength: 300 }), async (ad, plain) => {
        const sealed = sealAesGcm(key, ad, plain, cryptoRandom);
        expect(sealed[0]).toBe(1);
        expect(await web.sealer.open(ad, sealed)).toEqual(plain);
        expect(openAesGcm(key, ad, await web.sealer.seal(ad, plain))).toEqual(plain);
      }),
      { numRuns: 100 },
    );
    const sealed = sealAesGcm(key, 'row-1', utf8.encode('id'), cryptoRandom);
    expect(() => openAesGcm(key, 'row-2', sealed)).toThrow();
    const unversioned = sealed.slice();
    unversioned[0] = 0;
    expect(() => openAesGcm(key, 'row-1', unversioned)).toThrow();
  });

  it('pooled random never hands out the same bytes twice', () => {
    const random = createPooledRandom(64);
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const bytes = random.bytes(16);
      expect(bytes).toHaveLength(16);
      const hex = Buffer.from(bytes).toString('hex');
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
    expect(random.bytes(100)).toHaveLength(100);
  });
});
