/** The kit's cookies (the session, the pending sign-in, a refusal's text): reading them, and writing them with their configured attributes. */
import type { CookieAttributes } from './cookie-config.js';
import { readCookie, type CookieOptions } from './cookies.js';
import type { Resolved } from './config.js';
import type { Jar } from './http.js';
import type { Session, SessionClaims } from './session.js';
import { newSessionId, renewedToken, sessionOf } from './session-token.js';
import {
  signPendingSignIn,
  signSession,
  signSignInError,
  verifyPendingSignIn,
  verifySession,
  verifySignInError,
  type PendingSignIn,
  type SignInErrorNote,
} from './tokens.js';

/** Sesame's own default expiry, used for the cookie when the app sets none. */
const SESAME_DEFAULT_EXPIRES_IN = 300;
/**
 * The auth-request cookie outlives Sesame's auth request by this much, so a late click still
 * reaches Sesame and the user reads "expired" rather than "use the original browser".
 */
const SIGN_IN_COOKIE_GRACE = 600;
/** Long enough to follow the redirect to the login page, short enough not to linger. */
const SIGN_IN_ERROR_MAX_AGE = 120;

function cookieOptions(attributes: CookieAttributes, maxAge: number): CookieOptions {
  return { httpOnly: true, path: '/', maxAge, ...attributes };
}

function attributesFor(r: Resolved, name: string): CookieAttributes {
  return name === r.sessionCookie ? r.sessionCookieAttributes : r.signInCookieAttributes;
}

export function clearCookie(r: Resolved, jar: Jar, name: string): void {
  jar.set(name, '', cookieOptions(attributesFor(r, name), 0));
}

/** The sign-in this browser started, if its cookie is valid and unexpired. */
export function readPending(r: Resolved, jar: Pick<Jar, 'get'>): Promise<PendingSignIn | null> {
  return verifyPendingSignIn(r.verifySecrets, jar.get(r.signInCookie), r.now());
}

export async function setPending(r: Resolved, jar: Jar, pending: PendingSignIn, expiresIn: number): Promise<void> {
  const maxAge = (expiresIn > 0 ? expiresIn : (r.expiresIn ?? SESAME_DEFAULT_EXPIRES_IN)) + SIGN_IN_COOKIE_GRACE;
  const token = await signPendingSignIn(r.config.sessionSecret, pending, r.now(), maxAge);
  jar.set(r.signInCookie, token, cookieOptions(r.signInCookieAttributes, maxAge));
}

/**
 * The session a cookie value stands for: signed, unexpired and not revoked. A store that fails
 * answers "signed out" (logged): a sign-out must never be undone by an outage.
 */
export async function loadSession(r: Resolved, raw: string | undefined): Promise<Session | null> {
  const token = await verifySession(r.verifySecrets, raw, r.now());
  if (token === null || raw === undefined) return null;
  const session = await sessionOf(token, raw, r.sessionAbsoluteMaxAge);
  try {
    if (await r.sessions.isRevoked(session.id)) return null;
  } catch (error) {
    console.error('[sesame] the session store failed; treating the request as signed out.', error);
    return null;
  }
  return session;
}

export function readSession(r: Resolved, jar: Pick<Jar, 'get'>): Promise<Session | null> {
  return loadSession(r, jar.get(r.sessionCookie));
}

/** The session the request's own Cookie header carries (cookies written while answering it do not count). */
export function requestSession(r: Resolved, request: Request): Promise<Session | null> {
  return loadSession(r, readCookie(request.headers.get('cookie'), r.sessionCookie));
}

/** A new session: a new id, the app's claims, renewable up to the absolute limit. */
export async function setSession(r: Resolved, jar: Jar, email: string, claims: SessionClaims): Promise<void> {
  const now = r.now();
  const token = await signSession(r.config.sessionSecret, email, now, r.sessionMaxAge, {
    id: newSessionId(),
    claims,
    signedInAt: now,
    endsAt: now + r.sessionAbsoluteMaxAge * 1000,
  });
  jar.set(r.sessionCookie, token, cookieOptions(r.sessionCookieAttributes, r.sessionMaxAge));
}

/** Writes a fresh cookie for `session` when it is due (see renewedToken); true when it did. */
export async function renewSession(r: Resolved, jar: Jar, session: Session): Promise<boolean> {
  if (!r.renew) return false;
  const renewed = await renewedToken(r.config.sessionSecret, session, r.now(), r.sessionMaxAge);
  if (renewed === undefined) return false;
  jar.set(r.sessionCookie, renewed.token, cookieOptions(r.sessionCookieAttributes, renewed.maxAge));
  return true;
}

/** Ends `session` for every cookie of it, renewed or not, until the last of them would expire anyway. */
export async function revokeSession(r: Resolved, session: Session): Promise<void> {
  await r.sessions.revoke(session.id, Math.max(session.renewableUntil, session.expiresAt));
}

export async function setSignInError(r: Resolved, jar: Jar, note: SignInErrorNote): Promise<void> {
  const token = await signSignInError(r.config.sessionSecret, note, r.now(), SIGN_IN_ERROR_MAX_AGE);
  jar.set(r.signInErrorCookie, token, cookieOptions(r.signInCookieAttributes, SIGN_IN_ERROR_MAX_AGE));
}

export function readSignInError(r: Resolved, jar: Pick<Jar, 'get'>): Promise<SignInErrorNote | null> {
  return verifySignInError(r.verifySecrets, jar.get(r.signInErrorCookie), r.now());
}
