/**
 * Keys the server derives from the server secret, one per purpose (HKDF-SHA-256), so a key
 * used for one job can never be replayed for another. Core derives its own credential and
 * seal keys the same way with different labels.
 */
import { hkdfSync } from 'node:crypto';

export interface ServerKeys {
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
  /** HMAC key of the short references the activity view shows instead of auth request ids. */
  readonly activityRef: Uint8Array;
}

export function deriveServerKeys(secret: Uint8Array): ServerKeys {
  if (secret.length < 32) throw new Error('The server secret must be at least 32 bytes.');
  const derive = (info: string) => new Uint8Array(hkdfSync('sha256', secret, 'sesame/server/v1', info, 32));
  return {
    accessToken: derive('sesame access token'),
    clientSecret: derive('sesame client secret'),
    adminSession: derive('sesame admin session'),
    adminPending: derive('sesame admin pending'),
    csrf: derive('sesame admin csrf'),
    activityRef: derive('sesame admin activity ref'),
  };
}
