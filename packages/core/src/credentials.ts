/**
 * Credentials: how codes and link tokens are made, and how they are kept (docs/ARCHITECTURE.md
 * "Auth request"). Raw values leave core only inside the sealed outbox payload; the store sees
 * keyed HMAC-SHA-256 digests bound to a purpose and the auth request id.
 */
import { fromBase64Url, toBase64Url, utf8 } from './encoding.js';
import type { OtpFormat } from './policy.js';
import type { RandomSource } from './ports.js';

/**
 * Crockford's base32 alphabet: digits and upper-case letters without I, L, O, U, so nothing reads
 * as something else; 32 symbols, so `byte & 31` is uniform.
 */
const ALPHANUMERIC_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export const LINK_TOKEN_BYTES = 32;
export const AUTH_REQUEST_ID_BYTES = 16;

/** A uniformly random code of `length` symbols (rejection sampling, so no modulo bias). */
export function generateOtp(random: RandomSource, format: OtpFormat, length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of random.bytes(length * 2)) {
      if (out.length === length) break;
      if (format === 'NUMERIC') {
        if (byte < 250) out += String(byte % 10);
      } else {
        out += ALPHANUMERIC_ALPHABET.charAt(byte & 31);
      }
    }
  }
  return out;
}

/**
 * How a typed code is compared: spaces and dashes dropped; for ALPHANUMERIC, upper-cased and
 * Crockford's look-alikes folded (O→0, I/L→1), so a misread letter is not a failed attempt.
 */
export function normalizeOtp(code: string, format: OtpFormat): string {
  const compact = code.replace(/[\s-]/g, '');
  if (format === 'NUMERIC') return compact;
  return compact.toUpperCase().replace(/O/g, '0').replace(/[IL]/g, '1');
}

/**
 * Leading bytes of a link token that state when it was issued: milliseconds, big-endian (six
 * bytes last until the year 10889). They are the first 8 characters of the token.
 */
export const LINK_TOKEN_TIME_BYTES = 6;
const LINK_TOKEN_TIME_CHARS = 8;
/**
 * Tokens issued before the time prefix were all random. A random prefix reads as a time before
 * this one or far in the future, except with odds of about 1e-5 per month since it: such an
 * old token is then simply not found (it had expired within the hour anyway).
 */
const LINK_TOKEN_TIME_EPOCH_MS = Date.UTC(2026, 10, 1);
/** Clock skew tolerated between the instance that issued a token and the one verifying it. */
const LINK_TOKEN_TIME_SKEW_MS = 5 * 60_000;

/**
 * A link token: 32 bytes, base64url (43 characters). The first 6 state the issue time, the
 * other 26 are random (208 bits). Why the time: the token's lookup key (`linkLookupKey`) starts
 * with it, so the unique index that finds a row by token grows at its end like a time index,
 * instead of taking every insert on a random page (at 10 M rows that index alone was ~400 MiB
 * of random pages, and a group commit of 50 sends wrote ~50 of its pages). The email it is in
 * already says when it was sent.
 */
export function generateLinkToken(random: RandomSource, now: number): string {
  const bytes = new Uint8Array(LINK_TOKEN_BYTES);
  let time = Math.max(0, Math.trunc(now));
  for (let i = LINK_TOKEN_TIME_BYTES - 1; i >= 0; i--) {
    bytes[i] = time % 256;
    time = Math.floor(time / 256);
  }
  bytes.set(random.bytes(LINK_TOKEN_BYTES - LINK_TOKEN_TIME_BYTES), LINK_TOKEN_TIME_BYTES);
  return toBase64Url(bytes);
}

/** The token's time bytes, or null when it has none (not base64url, or an older random token). */
export function linkTokenTimePrefix(token: string, now: number): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]{8}/.test(token)) return null;
  const bytes = fromBase64Url(token.slice(0, LINK_TOKEN_TIME_CHARS));
  let time = 0;
  for (const byte of bytes) time = time * 256 + byte;
  if (time < LINK_TOKEN_TIME_EPOCH_MS || time > now + LINK_TOKEN_TIME_SKEW_MS) return null;
  return bytes;
}

/**
 * The key a link token's row is found by: its time bytes, then the keyed `link-lookup` digest
 * of the whole token (which covers those bytes, so a forged time only finds nothing).
 */
export async function linkLookupKey(hasher: CredentialHasher, token: string, now: number): Promise<Uint8Array> {
  const digest = await hasher.digest('link-lookup', '', token);
  const prefix = linkTokenTimePrefix(token, now);
  if (prefix === null) return digest;
  const key = new Uint8Array(prefix.length + digest.length);
  key.set(prefix);
  key.set(digest, prefix.length);
  return key;
}

/** An opaque 128-bit random id, URL-safe. */
export function generateId(random: RandomSource): string {
  return toBase64Url(random.bytes(AUTH_REQUEST_ID_BYTES));
}

/** Characters of the time prefix: 10 × 5 bits covers milliseconds until the year 10889. */
const TIME_PREFIX_CHARS = 10;

/**
 * A time-ordered id: the creation time in milliseconds as 10 Crockford base32 characters (whose
 * ASCII order is their numeric order), then 128 random bits as base64url — 32 URL-safe
 * characters. Why the prefix: ids are primary and foreign keys in several indexes, and a random
 * key lands every insert on a different B-tree page, so a group commit of 50 sends wrote ~50
 * pages per index to the WAL; ids that grow with time append to the same page or two. The time
 * prefix tells nothing the caller does not already know (the send answers with expires_at);
 * guessing an id still means guessing 128 random bits.
 */
export function generateTimeOrderedId(random: RandomSource, now: number): string {
  let time = Math.max(0, Math.trunc(now));
  let prefix = '';
  for (let i = 0; i < TIME_PREFIX_CHARS; i++) {
    prefix = ALPHANUMERIC_ALPHABET.charAt(time % 32) + prefix;
    time = Math.floor(time / 32);
  }
  return prefix + toBase64Url(random.bytes(AUTH_REQUEST_ID_BYTES));
}

export type CredentialPurpose = 'otp' | 'link' | 'link-lookup';

/**
 * Keyed digests of credentials. `link-lookup` is the one digest not bound to an id: a link may
 * be verified without its auth request id (same-browser enforcement off), so the token itself
 * must find its row. It is still keyed, so a stolen database reveals nothing usable.
 */
export interface CredentialHasher {
  digest(purpose: CredentialPurpose, authRequestId: string, value: string): Promise<Uint8Array>;
  /**
   * Hashers of older secrets (SESAME_SECRET_FALLBACKS), newest first: verify accepts what they
   * digested, nothing new is digested with them. Absent or empty on the usual path.
   */
  readonly fallbacks?: readonly CredentialHasher[];
}

/** Seals the outbox payload (the raw code and link) so the database never holds them in clear. */
export interface PayloadSealer {
  seal(associatedData: string, plaintext: Uint8Array): Promise<Uint8Array>;
  open(associatedData: string, sealed: Uint8Array): Promise<Uint8Array>;
}

const HKDF_SALT = utf8.encode('sesame/v1');
const SEAL_VERSION = 1;
const IV_BYTES = 12;

async function hkdfBase(secret: Uint8Array): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey('raw', secret as BufferSource, 'HKDF', false, ['deriveKey']);
}

function hkdfParams(info: string): HkdfParams {
  return { name: 'HKDF', hash: 'SHA-256', salt: HKDF_SALT as BufferSource, info: utf8.encode(info) as BufferSource };
}

export function assertSecret(secret: Uint8Array): void {
  if (secret.length < 32) throw new Error('The server secret must be at least 32 bytes.');
}

/** Web Crypto HMAC-SHA-256 hasher; each purpose gets its own key derived from the server secret. */
export function createCredentialHasher(secret: Uint8Array): CredentialHasher {
  assertSecret(secret);
  const key = hkdfBase(secret).then((base) =>
    globalThis.crypto.subtle.deriveKey(
      hkdfParams('sesame credential digest'),
      base,
      { name: 'HMAC', hash: 'SHA-256', length: 256 },
      false,
      ['sign'],
    ),
  );
  return {
    async digest(purpose, authRequestId, value) {
      const signature = await globalThis.crypto.subtle.sign(
        'HMAC',
        await key,
        credentialMessage(purpose, authRequestId, value) as BufferSource,
      );
      return new Uint8Array(signature);
    },
  };
}

/**
 * `purpose ‖ 0 ‖ auth_request_id ‖ 0 ‖ value`: NUL never occurs in a purpose or an id, so two
 * different triples can never produce the same message.
 */
export function credentialMessage(purpose: CredentialPurpose, authRequestId: string, value: string): Uint8Array {
  return utf8.encode(`${purpose}\u0000${authRequestId}\u0000${value}`);
}

/** AES-256-GCM with a random 96-bit IV; the outbox row id is the associated data. */
export function createPayloadSealer(secret: Uint8Array): PayloadSealer {
  assertSecret(secret);
  const key = hkdfBase(secret).then((base) =>
    globalThis.crypto.subtle.deriveKey(hkdfParams('sesame outbox seal'), base, { name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ]),
  );
  return {
    async seal(associatedData, plaintext) {
      const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const ciphertext = await globalThis.crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: utf8.encode(associatedData) as BufferSource },
        await key,
        plaintext as BufferSource,
      );
      const out = new Uint8Array(1 + IV_BYTES + ciphertext.byteLength);
      out[0] = SEAL_VERSION;
      out.set(iv, 1);
      out.set(new Uint8Array(ciphertext), 1 + IV_BYTES);
      return out;
    },
    async open(associatedData, sealed) {
      if (sealed[0] !== SEAL_VERSION || sealed.length < 1 + IV_BYTES + 16) throw new Error('Unknown sealed payload format.');
      const plaintext = await globalThis.crypto.subtle.decrypt(
        {
          name: 'AES-GCM',
          iv: sealed.subarray(1, 1 + IV_BYTES) as BufferSource,
          additionalData: utf8.encode(associatedData) as BufferSource,
        },
        await key,
        sealed.subarray(1 + IV_BYTES) as BufferSource,
      );
      return new Uint8Array(plaintext);
    },
  };
}
