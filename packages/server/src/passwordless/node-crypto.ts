/**
 * Node-native implementations of core's crypto ports. Core uses Web Crypto so it runs on Edge
 * too, but each Web Crypto call is an async job with a large fixed cost; on the server's hot
 * path (three digests and a seal per send) node:crypto's synchronous one-shot functions do the
 * same work several times faster. The outputs are byte-for-byte those of core's
 * `createCredentialHasher` / `createPayloadSealer` (same HKDF labels, message layout and sealed
 * format), so data written by either can be read by the other; a test checks that.
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomFillSync } from 'node:crypto';
import { assertSecret, credentialMessage, type CredentialHasher, type PayloadSealer, type RandomSource } from '@sesame/core';

// Must match core's credentials.ts.
const HKDF_SALT = 'sesame/v1';
const SEAL_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

function deriveKey(secret: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, info, 32));
}

/** `fallbacks`: older secrets (SESAME_SECRET_FALLBACKS), whose digests verify still accepts (core's engine). */
export function createNodeCredentialHasher(secret: Uint8Array, fallbacks: readonly Uint8Array[] = []): CredentialHasher {
  assertSecret(secret);
  // A KeyObject, imported once: given raw bytes, every createHmac imports the key anew, a large share of an HMAC this short.
  const key = createSecretKey(deriveKey(secret, 'sesame credential digest'));
  const hasher: CredentialHasher = {
    digest(purpose, authRequestId, value) {
      const mac = createHmac('sha256', key)
        .update(credentialMessage(purpose, authRequestId, value))
        .digest();
      return Promise.resolve(new Uint8Array(mac.buffer, mac.byteOffset, mac.byteLength));
    },
  };
  return fallbacks.length === 0 ? hasher : { ...hasher, fallbacks: fallbacks.map((older) => createNodeCredentialHasher(older)) };
}

/**
 * Sesame's one sealed format, as core's `createPayloadSealer` writes it: version byte ‖ 96-bit IV
 * ‖ AES-256-GCM ciphertext ‖ 128-bit tag, the associated data bound in. Synchronous, for callers
 * that seal outside the payload sealer (the admin sign-in pending cookie).
 */
export function sealAesGcm(key: Uint8Array, associatedData: string, plaintext: Uint8Array, random: RandomSource): Uint8Array {
  const iv = random.bytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  const out = new Uint8Array(1 + IV_BYTES + body.length);
  out[0] = SEAL_VERSION;
  out.set(iv, 1);
  out.set(body, 1 + IV_BYTES);
  return out;
}

/** Opens what `sealAesGcm` (or core's sealer) wrote; throws on another format, key or associated data. */
export function openAesGcm(key: Uint8Array, associatedData: string, sealed: Uint8Array): Uint8Array {
  if (sealed[0] !== SEAL_VERSION || sealed.length < 1 + IV_BYTES + TAG_BYTES) throw new Error('Unknown sealed payload format.');
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const body = sealed.subarray(1 + IV_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
  return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
}

/**
 * Opens with the first of `keys` that fits (the current key first, then fallback secrets' keys);
 * throws the first key's error when none does.
 */
export function openAesGcmWithAny(keys: readonly Uint8Array[], associatedData: string, sealed: Uint8Array): Uint8Array {
  let firstError: unknown;
  for (const key of keys) {
    try {
      return openAesGcm(key, associatedData, sealed);
    } catch (error) {
      firstError ??= error;
    }
  }
  throw firstError instanceof Error ? firstError : new Error('Could not open the sealed payload.');
}

/**
 * `random` supplies the IVs; the default draws them from a pool like the engine's (see below).
 * `fallbacks`: older secrets (SESAME_SECRET_FALLBACKS); `open` tries their keys after the
 * current one fails, so mail queued before a rotation still goes out. `seal` uses the current key only.
 */
export function createNodePayloadSealer(
  secret: Uint8Array,
  random: RandomSource = createPooledRandom(),
  fallbacks: readonly Uint8Array[] = [],
): PayloadSealer {
  assertSecret(secret);
  fallbacks.forEach(assertSecret);
  const key = deriveKey(secret, 'sesame outbox seal');
  const keys = [key, ...fallbacks.map((older) => deriveKey(older, 'sesame outbox seal'))];
  return {
    seal(associatedData, plaintext) {
      return Promise.resolve(sealAesGcm(key, associatedData, plaintext, random));
    },
    open(associatedData, sealed) {
      try {
        return Promise.resolve(openAesGcmWithAny(keys, associatedData, sealed));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error('Could not open the sealed payload.'));
      }
    },
  };
}

/**
 * Cryptographically strong bytes served from a refilled pool: one `randomFillSync` per 4 KiB
 * instead of one per call. Every byte is handed out once and the caller gets its own copy.
 */
export function createPooledRandom(poolSize = 4096): RandomSource {
  const pool = Buffer.alloc(poolSize);
  let offset = poolSize;
  return {
    bytes(length) {
      if (length > poolSize) return new Uint8Array(randomFillSync(Buffer.alloc(length)));
      if (offset + length > poolSize) {
        randomFillSync(pool);
        offset = 0;
      }
      const out = new Uint8Array(length);
      out.set(pool.subarray(offset, offset + length));
      offset += length;
      return out;
    },
  };
}
