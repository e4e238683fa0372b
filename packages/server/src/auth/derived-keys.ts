/**
 * Keys the server derives from the server secret, one per purpose (HKDF-SHA-256), so a key
 * used for one job can never be replayed for another. Core derives its own credential and
 * seal keys the same way with different labels.
 */
import { hkdfSync } from 'node:crypto';

/** The keys of an older secret (SESAME_SECRET_FALLBACKS): they only check and open, never make. */
export interface FallbackServerKeys {
  readonly accessToken: Uint8Array;
  readonly clientSecret: Uint8Array;
  readonly adminSession: Uint8Array;
  readonly adminPending: Uint8Array;
  readonly csrf: Uint8Array;
}

export interface ServerKeys extends FallbackServerKeys {
  /** HS256 key for access tokens. */
  readonly accessToken: Uint8Array;
  /** HMAC key for client-secret hashes. */
  readonly clientSecret: Uint8Array;
  /** HMAC key of the digests under which admin session ids are stored. */
  readonly adminSession: Uint8Array;
  /** AES-256-GCM key of the admin sign-in pending cookie (it carries the auth request id). */
  readonly adminPending: Uint8Array;
  /** HMAC key binding a CSRF token to its cookie. */
  readonly csrf: Uint8Array;
  /**
   * HMAC key of the short references the activity view shows instead of auth request ids. No
   * fallback: a reference is only shown, never checked, so after a rotation it simply changes.
   */
  readonly activityRef: Uint8Array;
  /** The fallback secrets' keys, in the order given; tried only after the current key missed. */
  readonly fallbacks: readonly FallbackServerKeys[];
}

function derive(secret: Uint8Array, info: string): Uint8Array {
  if (secret.length < 32) throw new Error('The server secret must be at least 32 bytes.');
  return new Uint8Array(hkdfSync('sha256', secret, 'sesame/server/v1', info, 32));
}

function fallbackKeys(secret: Uint8Array): FallbackServerKeys {
  return {
    accessToken: derive(secret, 'sesame access token'),
    clientSecret: derive(secret, 'sesame client secret'),
    adminSession: derive(secret, 'sesame admin session'),
    adminPending: derive(secret, 'sesame admin pending'),
    csrf: derive(secret, 'sesame admin csrf'),
  };
}

export function deriveServerKeys(secret: Uint8Array, fallbacks: readonly Uint8Array[] = []): ServerKeys {
  return {
    ...fallbackKeys(secret),
    activityRef: derive(secret, 'sesame admin activity ref'),
    fallbacks: fallbacks.map(fallbackKeys),
  };
}
