/**
 * The signed cookies' contents, as jose HS256 JWTs. Each kind has its own audience, so a
 * session token can never be replayed as an auth-request token or the other way round. Only
 * Web Crypto is used (through jose): this file runs in the Edge runtime (middleware) too.
 */
// Subpath imports keep JWE (and its CompressionStream use) out of the Edge middleware bundle.
import { SignJWT } from 'jose/jwt/sign';
import { jwtVerify } from 'jose/jwt/verify';
import type { JWTPayload } from 'jose';
import type { PasswordlessTemplate } from '@sesame/client';
import { claimsOf, type SessionClaims } from './session.js';

const ISSUER = 'sesame-nextjs';
const SESSION_AUDIENCE = 'session';
const AUTH_REQUEST_AUDIENCE = 'auth-request';
const SIGN_IN_ERROR_AUDIENCE = 'sign-in-error';

/**
 * A verified session cookie. The optional fields are present only when the token carries them:
 * a token signed before sessions had ids has none (the kit then derives an id from the token).
 */
export interface SessionToken {
  readonly email: string;
  /** Milliseconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly id?: string;
  /** When the user signed in (ms); renewals keep it. */
  readonly signedInAt?: number;
  /** The latest a renewal may extend the session to (ms). */
  readonly endsAt?: number;
  /** The app's claims, when it set any. */
  readonly claims?: SessionClaims;
}

export interface SessionExtras {
  readonly id: string;
  readonly claims?: SessionClaims | undefined;
  readonly signedInAt?: number | undefined;
  readonly endsAt?: number | undefined;
}

export interface PendingSignIn {
  readonly authRequestId: string;
  readonly email: string;
  /** The sanitised `next` path to land on after sign-in. */
  readonly next: string;
  /** When Sesame's auth request expires (ms since the epoch). */
  readonly expiresAt: number;
  /** When the kit allows the next resend (ms since the epoch). */
  readonly resendAvailableAt: number;
  /** The template the email was sent with, when the app chose one. */
  readonly template?: PasswordlessTemplate;
}

/** A refusal's words, carried to the login page in a short-lived signed cookie. */
export interface SignInErrorNote {
  readonly code: 'SIGN_IN_REFUSED';
  readonly message: string;
}

const encoder = new TextEncoder();
const keyCache = new Map<string, Uint8Array>();

/** Secrets shorter than 32 characters are refused: HS256 keys need 256 bits to mean anything. */
export const MIN_SECRET_LENGTH = 32;

function keyFor(secret: string): Uint8Array {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`The session secret must be at least ${MIN_SECRET_LENGTH} characters.`);
  }
  let key = keyCache.get(secret);
  if (!key) {
    key = encoder.encode(secret);
    keyCache.set(secret, key);
  }
  return key;
}

/** An HS256 JWT of `claims` for `audience`, valid for `maxAgeSeconds` from `now`. */
async function sign(
  secret: string,
  claims: JWTPayload,
  audience: string,
  subject: string | null,
  now: number,
  maxAgeSeconds: number,
): Promise<string> {
  const iat = Math.floor(now / 1000);
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer(ISSUER).setAudience(audience);
  if (subject !== null) jwt.setSubject(subject);
  return jwt
    .setIssuedAt(iat)
    .setExpirationTime(iat + maxAgeSeconds)
    .sign(keyFor(secret));
}

/**
 * The secrets a cookie may be signed with: the current one alone, or the current one first and
 * then older ones still accepted (`sessionSecretFallbacks`). Signing always uses the current one.
 */
export type VerifySecrets = string | readonly string[];

/**
 * `[current, ...fallbacks]`, each checked; just `current` when there are no fallbacks, so a
 * caller without any verifies with one key, as before. `label` names the option in errors.
 */
export function secretsWithFallbacks(current: string, fallbacks: readonly string[] | undefined, label: string): VerifySecrets {
  if (fallbacks === undefined) return current;
  // The configuration may come from plain JavaScript: check the shape, not just the type.
  const list: unknown = fallbacks;
  if (!Array.isArray(list)) throw new Error(`${label} must be a list of secrets.`);
  if (list.length === 0) return current;
  list.forEach((fallback: unknown, i) => {
    if (typeof fallback !== 'string' || fallback.length < MIN_SECRET_LENGTH) {
      throw new Error(`${label}[${i}] must be a secret of at least ${MIN_SECRET_LENGTH} characters.`);
    }
  });
  return [current, ...fallbacks];
}

/** The claims of a token this kit signed for `audience`, or `null` when it is absent, tampered with or expired. */
async function verified(secrets: VerifySecrets, token: string | undefined, audience: string, now: number): Promise<JWTPayload | null> {
  if (token === undefined || token === '') return null;
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    try {
      const { payload } = await jwtVerify(token, keyFor(secret), {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience,
        currentDate: new Date(now),
      });
      return payload;
    } catch (error) {
      // Only a signature that does not match may be an older secret's; a token that is expired,
      // malformed or for another audience has verified or failed the same way under every key.
      if ((error as { code?: unknown } | null)?.code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return null;
    }
  }
  return null;
}

/** The app's claims sit beside the kit's (checkClaims keeps their names apart). */
export async function signSession(
  secret: string,
  email: string,
  now: number,
  maxAgeSeconds: number,
  extras?: SessionExtras,
): Promise<string> {
  const claims: JWTPayload = { ...(extras?.claims ?? {}), email };
  if (extras !== undefined) claims.jti = extras.id;
  if (extras?.signedInAt !== undefined) claims.sat = Math.floor(extras.signedInAt / 1000);
  if (extras?.endsAt !== undefined) claims.sxp = Math.floor(extras.endsAt / 1000);
  return sign(secret, claims, SESSION_AUDIENCE, email, now, maxAgeSeconds);
}

/** `null` for anything that is not a valid, unexpired session token: tampered, expired, absent. */
export async function verifySession(secrets: VerifySecrets, token: string | undefined, now: number): Promise<SessionToken | null> {
  const payload = await verified(secrets, token, SESSION_AUDIENCE, now);
  if (payload === null) return null;
  if (typeof payload.email !== 'string' || payload.iat === undefined || payload.exp === undefined) return null;
  const { jti, sat, sxp } = payload;
  if (jti !== undefined && (typeof jti !== 'string' || jti === '')) return null;
  if ((sat !== undefined && typeof sat !== 'number') || (sxp !== undefined && typeof sxp !== 'number')) return null;
  const claims = claimsOf(payload);
  return {
    email: payload.email,
    issuedAt: payload.iat * 1000,
    expiresAt: payload.exp * 1000,
    ...(jti === undefined ? {} : { id: jti }),
    ...(sat === undefined ? {} : { signedInAt: sat * 1000 }),
    ...(sxp === undefined ? {} : { endsAt: sxp * 1000 }),
    ...(Object.keys(claims).length === 0 ? {} : { claims }),
  };
}

export async function signPendingSignIn(secret: string, pending: PendingSignIn, now: number, maxAgeSeconds: number): Promise<string> {
  const claims = {
    ari: pending.authRequestId,
    email: pending.email,
    next: pending.next,
    rxp: pending.expiresAt,
    rsa: pending.resendAvailableAt,
    ...(pending.template === undefined ? {} : { tpl: pending.template }),
  };
  return sign(secret, claims, AUTH_REQUEST_AUDIENCE, null, now, maxAgeSeconds);
}

export async function verifyPendingSignIn(secrets: VerifySecrets, token: string | undefined, now: number): Promise<PendingSignIn | null> {
  const payload = await verified(secrets, token, AUTH_REQUEST_AUDIENCE, now);
  if (payload === null) return null;
  const { ari, email, next, rxp, rsa, tpl } = payload;
  if (typeof ari !== 'string' || typeof email !== 'string' || typeof next !== 'string') return null;
  if (typeof rxp !== 'number' || typeof rsa !== 'number') return null;
  const template = tpl === 'SIGNIN' || tpl === 'SIGNUP' ? tpl : undefined;
  return { authRequestId: ari, email, next, expiresAt: rxp, resendAvailableAt: rsa, ...(template === undefined ? {} : { template }) };
}

export async function signSignInError(secret: string, note: SignInErrorNote, now: number, maxAgeSeconds: number): Promise<string> {
  return sign(secret, { code: note.code, msg: note.message }, SIGN_IN_ERROR_AUDIENCE, null, now, maxAgeSeconds);
}

export async function verifySignInError(secrets: VerifySecrets, token: string | undefined, now: number): Promise<SignInErrorNote | null> {
  const payload = await verified(secrets, token, SIGN_IN_ERROR_AUDIENCE, now);
  if (payload === null || payload.code !== 'SIGN_IN_REFUSED' || typeof payload.msg !== 'string') return null;
  return { code: payload.code, message: payload.msg };
}
