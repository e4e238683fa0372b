/** The kit's two cookies, the session and the pending sign-in: reading them, and writing them with one set of attributes. */
import { readCookie, type CookieOptions } from './cookies.js';
import type { Resolved } from './config.js';
import type { Jar } from './http.js';
import { signPendingSignIn, signSession, verifyPendingSignIn, verifySession, type PendingSignIn, type Session } from './tokens.js';

/** Sesame's own default expiry, used for the cookie when the app sets none. */
const SESAME_DEFAULT_EXPIRES_IN = 300;
/**
 * The auth-request cookie outlives Sesame's auth request by this much, so a late click still
 * reaches Sesame and the user reads "expired" rather than "use the original browser".
 */
const SIGN_IN_COOKIE_GRACE = 600;

function cookieOptions(r: Resolved, maxAge: number): CookieOptions {
  return { httpOnly: true, secure: r.secure, sameSite: 'Lax', path: '/', maxAge };
}

export function clearCookie(r: Resolved, jar: Jar, name: string): void {
  jar.set(name, '', cookieOptions(r, 0));
}

/** The sign-in this browser started, if its cookie is valid and unexpired. */
export function readPending(r: Resolved, jar: Pick<Jar, 'get'>): Promise<PendingSignIn | null> {
  return verifyPendingSignIn(r.config.sessionSecret, jar.get(r.signInCookie), r.now());
}

export async function setPending(r: Resolved, jar: Jar, pending: PendingSignIn, expiresIn: number): Promise<void> {
  const maxAge = (expiresIn > 0 ? expiresIn : (r.expiresIn ?? SESAME_DEFAULT_EXPIRES_IN)) + SIGN_IN_COOKIE_GRACE;
  const token = await signPendingSignIn(r.config.sessionSecret, pending, r.now(), maxAge);
  jar.set(r.signInCookie, token, cookieOptions(r, maxAge));
}

export function readSession(r: Resolved, jar: Pick<Jar, 'get'>): Promise<Session | null> {
  return verifySession(r.config.sessionSecret, jar.get(r.sessionCookie), r.now());
}

/** The session the request's own Cookie header carries (cookies written while answering it do not count). */
export function requestSession(r: Resolved, request: Request): Promise<Session | null> {
  return verifySession(r.config.sessionSecret, readCookie(request.headers.get('cookie'), r.sessionCookie), r.now());
}

export async function setSession(r: Resolved, jar: Jar, email: string): Promise<void> {
  const token = await signSession(r.config.sessionSecret, email, r.now(), r.sessionMaxAge);
  jar.set(r.sessionCookie, token, cookieOptions(r, r.sessionMaxAge));
}
