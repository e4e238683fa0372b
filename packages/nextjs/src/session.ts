/**
 * What a signed-in session is to the app: the verified address, the app's own claims (set once,
 * by `onVerified`), and the id a server-side sign-out revokes. Claims travel inside the signed
 * session cookie: signed, not encrypted, so they are for ids and roles, never for secrets.
 */

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** The app's claims, as `onVerified` returned them. */
export type SessionClaims = Readonly<Record<string, JsonValue>>;

export interface Session {
  readonly email: string;
  /** The app's claims (`{}` when `onVerified` returned none). */
  readonly claims: SessionClaims;
  /** Stays the same across renewals; `signOut` and the logout route revoke it. */
  readonly id: string;
  /** When this cookie was issued (ms since the epoch); a renewal moves it. */
  readonly issuedAt: number;
  /** When this cookie expires (ms since the epoch); a renewal moves it. */
  readonly expiresAt: number;
  /** When the user signed in (ms since the epoch); renewals keep it. */
  readonly signedInAt: number;
  /** No renewal extends the session past this (ms since the epoch). */
  readonly renewableUntil: number;
}

/**
 * Where revoked session ids are kept. The default is in memory, per server process: an app run
 * as several instances needs a shared one (its database, Redis), or a sign-out on one instance
 * is unknown to the others.
 */
export interface SessionStore {
  /** Ends session `id`. Past `expiresAt` (ms) no cookie of it can verify, so the record may go. */
  revoke(id: string, expiresAt: number): void | Promise<void>;
  isRevoked(id: string): boolean | Promise<boolean>;
}

/** JWT names and the kit's own: `onVerified` may not set them. */
export const RESERVED_CLAIMS: readonly string[] = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'email', 'sat', 'sxp'];

/** The claims' JSON, in bytes: the whole cookie must stay under browsers' 4096-byte limit. */
export const MAX_CLAIMS_BYTES = 2048;
const MAX_DEPTH = 8;
const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

/**
 * `value` as session claims, or an Error naming what is wrong (never the values: they may be
 * personal). Accepts only JSON: plain objects, arrays, strings, finite numbers, booleans, null.
 */
export function checkClaims(value: unknown): SessionClaims {
  if (!isPlainObject(value)) throw new Error('onVerified claims must be a plain object.');
  for (const name of Object.keys(value)) {
    if (!NAME.test(name) || name === '__proto__')
      throw new Error(`onVerified claim name ${JSON.stringify(name.slice(0, 70))} is not allowed.`);
    if (RESERVED_CLAIMS.includes(name)) throw new Error(`onVerified claim "${name}" is reserved (${RESERVED_CLAIMS.join(', ')}).`);
    checkJson(value[name], 1, name);
  }
  const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
  if (bytes > MAX_CLAIMS_BYTES) throw new Error(`onVerified claims take ${bytes} bytes as JSON; at most ${MAX_CLAIMS_BYTES}.`);
  return value as SessionClaims;
}

function checkJson(value: unknown, depth: number, path: string): void {
  if (depth > MAX_DEPTH) throw new Error(`onVerified claim "${path}" is nested too deeply.`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`onVerified claim "${path}" is not a finite number.`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkJson(item, depth + 1, `${path}[${i}]`));
    return;
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      if (key === '__proto__') throw new Error(`onVerified claim "${path}" holds a "__proto__" key.`);
      checkJson(value[key], depth + 1, `${path}.${key}`);
    }
    return;
  }
  throw new Error(`onVerified claim "${path}" is not JSON (${typeof value}).`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The app's claims of a verified token's payload: everything that is not reserved. */
export function claimsOf(payload: Readonly<Record<string, unknown>>): SessionClaims {
  // defineProperty-style construction: a "__proto__" key can never become a prototype.
  return Object.fromEntries(
    Object.entries(payload).filter(([name]) => !RESERVED_CLAIMS.includes(name) && name !== '__proto__'),
  ) as SessionClaims;
}

export interface MemorySessionStoreOptions {
  /** Revocations kept at most; past it the soonest-expiring go first. Default 10 000. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/**
 * Revocations in this process's memory, bounded: fine for one instance. When full, expired
 * records are swept, then the oldest is dropped (its session becomes valid again until its
 * cookie expires): use a shared store where sign-outs are that frequent.
 */
export function createMemorySessionStore(options: MemorySessionStoreOptions = {}): SessionStore {
  const max = options.maxEntries ?? 10_000;
  if (!(Number.isInteger(max) && max >= 1)) throw new RangeError('maxEntries must be a whole number of at least 1.');
  const now = options.now ?? Date.now;
  const revoked = new Map<string, number>();
  return {
    revoke(id, expiresAt) {
      revoked.delete(id);
      if (revoked.size >= max) {
        const t = now();
        for (const [key, until] of revoked) if (until <= t) revoked.delete(key);
      }
      // Insertion order is close to expiry order: every revocation lasts about one cookie lifetime.
      while (revoked.size >= max) revoked.delete(revoked.keys().next().value!);
      revoked.set(id, expiresAt);
    },
    isRevoked(id) {
      const until = revoked.get(id);
      return until !== undefined && until > now();
    },
  };
}
