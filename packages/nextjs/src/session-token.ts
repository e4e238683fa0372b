/**
 * From a verified session token to a `Session`, and the renewal rule: shared by the kit and the
 * middleware, so it uses Web Crypto only (Edge runtime).
 */
import type { Session } from './session.js';
import { signSession, type SessionToken } from './tokens.js';

/** 128 random bits, base64url: the session id (`jti`). */
export function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return base64url(bytes);
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The `Session` of a verified token. A token signed before sessions had ids gets one derived
 * from its own bytes, so it can still be signed out (and its renewals carry that id).
 */
export async function sessionOf(token: SessionToken, raw: string, absoluteMaxAgeSeconds: number): Promise<Session> {
  const id =
    token.id ?? `t.${base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(raw)))).slice(0, 32)}`;
  const signedInAt = token.signedInAt ?? token.issuedAt;
  return {
    email: token.email,
    claims: token.claims ?? {},
    id,
    issuedAt: token.issuedAt,
    expiresAt: token.expiresAt,
    signedInAt,
    renewableUntil: token.endsAt ?? signedInAt + absoluteMaxAgeSeconds * 1000,
  };
}

/**
 * A fresh token for `session` when it is due: used past half its cookie's lifetime, and the new
 * expiry (`lifetimeSeconds` from now, never past `renewableUntil`) is later than the old one.
 */
export async function renewedToken(
  secret: string,
  session: Session,
  now: number,
  lifetimeSeconds: number,
): Promise<{ readonly token: string; readonly maxAge: number } | undefined> {
  const halfLife = (session.expiresAt - session.issuedAt) / 2;
  if (now - session.issuedAt < halfLife) return undefined;
  const expiresAt = Math.min(now + lifetimeSeconds * 1000, session.renewableUntil);
  const maxAge = Math.floor((expiresAt - now) / 1000);
  // Whole seconds: a "renewal" that would not move the expiry by one is none.
  if (maxAge <= 0 || Math.floor(now / 1000) + maxAge <= Math.floor(session.expiresAt / 1000)) return undefined;
  const token = await signSession(secret, session.email, now, maxAge, {
    id: session.id,
    claims: session.claims,
    signedInAt: session.signedInAt,
    endsAt: session.renewableUntil,
  });
  return { token, maxAge };
}
