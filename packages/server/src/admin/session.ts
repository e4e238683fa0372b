/**
 * Admin sign-in, by Sesame itself (docs/ADMIN_API.md "Sign-in"). `session/start` answers every
 * well-formed address alike (202, the same cookies) and emails only listed admins, through the
 * engine with the `sesame-admin` caller whose one allowed link is `<public>/admin/verify`.
 * `session/verify` verifies with the auth request id from the pending cookie (same browser),
 * re-checks that the address is an admin, and sets `sesame_admin`: a random id whose keyed digest
 * is the session the server keeps (8 h). Every request looks the session up, so signing out and
 * removing an admin end it on the server at once, even for a copy of the cookie.
 */
import { createHmac, randomBytes } from 'node:crypto';
import {
  SesameError,
  generateTimeOrderedId,
  cryptoRandom,
  normalizeEmail,
  parseInput,
  sendInputSchema,
  verifyInputSchema,
} from '@sesame/core';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { Hono } from 'hono';
import type { AppEnv } from '../http/hono-env.js';
import { ADMIN_CLIENT_ID, adminCaller, adminVerifyUrl, readObject, type AdminDeps } from './common.js';
import { ensureCsrfToken, secureCookies } from './csrf.js';
import { openAesGcmWithAny, sealAesGcm } from '../passwordless/node-crypto.js';
import type { ServerKeys } from '../auth/derived-keys.js';

export const SESSION_COOKIE = 'sesame_admin';
export const PENDING_COOKIE = 'sesame_admin_pending';
export const SESSION_TTL_SECONDS = 8 * 60 * 60;
/** The session cookie's value: 256 random bits, base64url. */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Routes of /admin/api that answer without a session. */
export const OPEN_ADMIN_ROUTES = ['/admin/api/csrf', '/admin/api/setup', '/admin/api/session/start', '/admin/api/session/verify'];

const PENDING_PATTERN = /^[A-Za-z0-9_-]{40,200}$/;
const PENDING_AAD = 'sesame admin pending v1';
/**
 * session/start answers no sooner than this after it began, admin or not: an admin's start
 * writes an auth request and an email, a non-admin's does nothing, and the time taken must not
 * tell the two apart (wall-clock time: the injected clock is the domain's, not the network's).
 */
export const START_FLOOR_MS = 120;

/**
 * The pending cookie: the auth request id sealed in Sesame's one AES-256-GCM format under a fresh
 * IV, so every start sets a new, same-length, opaque value whether it names a new request, an
 * admin's earlier one (send limit reached) or, for a non-admin, a random id that names nothing.
 */
export function sealPending(key: Uint8Array, authRequestId: string): string {
  return Buffer.from(sealAesGcm(key, PENDING_AAD, Buffer.from(authRequestId, 'utf8'), cryptoRandom)).toString('base64url');
}

/** The auth request id in the cookie, opened with the current key or, failing that, a fallback secret's. */
export function openPending(keys: Pick<ServerKeys, 'adminPending' | 'fallbacks'>, value: string | undefined): string | null {
  if (value === undefined || !PENDING_PATTERN.test(value)) return null;
  const candidates = [keys.adminPending, ...keys.fallbacks.map((fallback) => fallback.adminPending)];
  try {
    return Buffer.from(openAesGcmWithAny(candidates, PENDING_AAD, Buffer.from(value, 'base64url'))).toString('utf8');
  } catch {
    return null;
  }
}

const UNIFORM_FAILURES = new Set(['INVALID_CREDENTIAL', 'TOO_MANY_ATTEMPTS', 'AUTH_REQUEST_NOT_FOUND']);

function notValid(): SesameError {
  return new SesameError('INVALID_CREDENTIAL', 'That code or link is not valid. Check the latest email, or start again.');
}

export interface AdminSessions {
  /** Starts a session for the admin; answers the cookie value (shown to no one else). */
  issue(admin: { readonly email: string; readonly emailKey: string }): Promise<string>;
  /** The admin's email, or null for a missing, unknown, ended, expired or no-longer-admin session. */
  verify(cookie: string | undefined): Promise<string | null>;
  /** Ends the session named by the cookie, on the server. */
  end(cookie: string | undefined): Promise<void>;
}

export function createAdminSessions(deps: Pick<AdminDeps, 'keys' | 'clock' | 'store'>): AdminSessions {
  // Only a keyed digest is stored: the table alone cannot be turned back into cookies.
  const digestWith = (key: Uint8Array, id: string) => createHmac('sha256', key).update(`admin session\u0000${id}`).digest('base64url');
  const digest = (id: string) => digestWith(deps.keys.adminSession, id);
  // A session started under a fallback secret is stored under that secret's digest until it ends.
  const fallbackDigests = (id: string) => deps.keys.fallbacks.map((keys) => digestWith(keys.adminSession, id));
  const wellFormed = (cookie: string | undefined): cookie is string => cookie !== undefined && SESSION_ID_PATTERN.test(cookie);
  return {
    async issue(admin) {
      const id = randomBytes(32).toString('base64url');
      const now = deps.clock.now();
      await deps.store.createAdminSession({
        idHash: digest(id),
        emailKey: admin.emailKey,
        createdAt: now,
        expiresAt: now + SESSION_TTL_SECONDS * 1000,
      });
      return id;
    },
    async verify(cookie) {
      if (!wellFormed(cookie)) return null;
      const now = deps.clock.now();
      let session = await deps.store.findAdminSession(digest(cookie), now);
      for (const older of session ? [] : fallbackDigests(cookie)) {
        session = await deps.store.findAdminSession(older, now);
        if (session) break;
      }
      if (!session) return null;
      const admin = await deps.store.findAdmin(session.emailKey);
      return admin ? admin.email : null;
    },
    async end(cookie) {
      if (!wellFormed(cookie)) return;
      for (const idHash of [digest(cookie), ...fallbackDigests(cookie)]) await deps.store.deleteAdminSession(idHash);
    },
  };
}

/** 401 UNAUTHENTICATED on /admin/api/* without a valid session, except the open routes and the dev inbox. */
export function requireAdminSession(sessions: AdminSessions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const path = c.req.path.replace(/\/+$/, '');
    if (OPEN_ADMIN_ROUTES.includes(path) || path === '/admin/api/dev-inbox' || path.startsWith('/admin/api/dev-inbox/')) {
      await next();
      return;
    }
    const email = await sessions.verify(getCookie(c, SESSION_COOKIE));
    if (email === null) throw new SesameError('UNAUTHENTICATED', 'Sign in to the admin dashboard first.');
    c.set('adminEmail', email);
    await next();
  };
}

function cookieOptions(publicUrl: string, maxAge: number) {
  return { httpOnly: true, sameSite: 'Strict' as const, path: '/admin', secure: secureCookies(publicUrl), maxAge };
}

export function sessionRoutes(deps: AdminDeps, sessions: AdminSessions): Hono<AppEnv> {
  const { store, engine, publicUrl } = deps;
  const routes = new Hono<AppEnv>();
  const caller = adminCaller(publicUrl);

  const answer = (c: Context<AppEnv>, email: string) => c.json({ email, csrf_token: ensureCsrfToken(c, deps.keys.csrf, publicUrl) });

  routes.get('/setup', async (c) => {
    const admins = await store.listAdmins();
    return c.json({ admins_exist: admins.length > 0, dev_inbox: deps.devInbox });
  });

  routes.post('/session/start', async (c) => {
    const began = performance.now();
    const body = await readObject(c, deps);
    const { email } = parseInput(sendInputSchema.pick({ email: true }), { email: body.email });
    const policy = await deps.policy();
    const key = normalizeEmail(email).key;
    // A non-admin's cookie names a made-up id: same shape, same length, nothing behind it.
    let pendingId = generateTimeOrderedId(cryptoRandom, deps.clock.now());
    let expiresIn = policy.expirySeconds;
    const admin = await store.findAdmin(key);
    if (admin) {
      try {
        const sent = await engine.send({ email: admin.email, template: 'SIGNIN', magiclinkAuthUri: adminVerifyUrl(publicUrl) }, caller);
        pendingId = sent.authRequestId;
        expiresIn = sent.expiresIn;
        deps.onEmailQueued?.();
      } catch (error) {
        if (!(error instanceof SesameError && error.code === 'SEND_LIMIT_EXCEEDED')) throw error;
        // Over the send limit: answer as always, and keep this browser on its earlier email.
        const earlierId = openPending(deps.keys, getCookie(c, PENDING_COOKIE));
        const earlier = earlierId === null ? null : await store.findAuthRequest(earlierId, deps.clock.now());
        if (
          earlier &&
          earlier.clientId === ADMIN_CLIENT_ID &&
          earlier.emailKey === normalizeEmail(admin.email).limitKey &&
          earlier.status === 'pending'
        ) {
          pendingId = earlier.id;
        }
      }
    }
    setCookie(c, PENDING_COOKIE, sealPending(deps.keys.adminPending, pendingId), cookieOptions(publicUrl, expiresIn));
    const wait = START_FLOOR_MS - (performance.now() - began);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return c.json({ status: 'check_inbox', expires_in: expiresIn }, 202);
  });

  routes.post('/session/verify', async (c) => {
    const body = await readObject(c, deps);
    const cookie = getCookie(c, PENDING_COOKIE);
    if (cookie === undefined) throw new SesameError('SAME_BROWSER_REQUIRED');
    const input = { code: body.code ?? undefined, linkToken: body.link_token ?? body.linkToken ?? undefined, authRequestId: '' };
    // The body's shape first, so a malformed one is refused alike for everyone.
    parseInput(verifyInputSchema, { ...input, authRequestId: 'x' });
    const pending = openPending(deps.keys, cookie);
    if (pending === null) throw notValid();
    // Only a request this flow created can sign an admin in. A wrong code, a locked request and a
    // pending cookie of a non-admin (no request at all) answer alike, with no attempts count, so
    // the answers never tell whether an address is an admin.
    const request = await store.findAuthRequest(pending, deps.clock.now());
    if (!request || request.clientId !== ADMIN_CLIENT_ID) throw notValid();
    let verified;
    try {
      verified = await engine.verify({ ...input, authRequestId: pending }, caller);
    } catch (error) {
      if (error instanceof SesameError && UNIFORM_FAILURES.has(error.code)) throw notValid();
      throw error;
    }
    const admin = await store.findAdmin(normalizeEmail(verified.email).key);
    if (!admin) throw new SesameError('UNAUTHENTICATED', 'This address is not an admin.');
    // A session this browser still held is ended, not left behind: one browser, one session.
    await sessions.end(getCookie(c, SESSION_COOKIE));
    setCookie(c, SESSION_COOKIE, await sessions.issue(admin), cookieOptions(publicUrl, SESSION_TTL_SECONDS));
    deleteCookie(c, PENDING_COOKIE, { path: '/admin', secure: secureCookies(publicUrl) });
    return answer(c, admin.email);
  });

  routes.get('/session', (c) => answer(c, c.get('adminEmail')));

  routes.post('/session/logout', async (c) => {
    await sessions.end(getCookie(c, SESSION_COOKIE));
    deleteCookie(c, SESSION_COOKIE, { path: '/admin', secure: secureCookies(publicUrl) });
    return c.body(null, 204);
  });

  return routes;
}
