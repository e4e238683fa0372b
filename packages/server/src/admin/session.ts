/**
 * Admin sign-in, by Sesame itself (docs/ADMIN_API.md "Sign-in"). `session/start` answers every
 * well-formed address alike (202, the same cookies) and emails only listed admins, through the
 * engine with the `sesame-admin` caller whose one allowed link is `<public>/admin/verify`.
 * `session/verify` verifies with the auth request id from the pending cookie (same browser),
 * re-checks that the address is an admin, and sets `sesame_admin`: an HS256 JWT (8 h) under its
 * own key. Every request re-checks the admin list, so removing an admin ends their sessions.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SesameError, generateTimeOrderedId, cryptoRandom, normalizeEmail, parseInput, sendInputSchema, verifyInputSchema } from '@sesame/core';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { Hono } from 'hono';
import { SignJWT, jwtVerify } from 'jose';
import type { AppEnv } from '../env.js';
import { ADMIN_CLIENT_ID, adminCaller, adminVerifyUrl, readObject, type AdminDeps } from './common.js';
import { ensureCsrfToken, secureCookies } from './csrf.js';

export const SESSION_COOKIE = 'sesame_admin';
export const PENDING_COOKIE = 'sesame_admin_pending';
export const SESSION_TTL_SECONDS = 8 * 60 * 60;
export const SESSION_AUDIENCE = 'sesame-admin';
/** Routes of /admin/api that answer without a session. */
export const OPEN_ADMIN_ROUTES = ['/admin/api/csrf', '/admin/api/setup', '/admin/api/session/start', '/admin/api/session/verify'];

const PENDING_PATTERN = /^[A-Za-z0-9_-]{40,200}$/;
const PENDING_AAD = Buffer.from('sesame admin pending v1');
/**
 * session/start answers no sooner than this after it began, admin or not: an admin's start
 * writes an auth request and an email, a non-admin's does nothing, and the time taken must not
 * tell the two apart (wall-clock time: the injected clock is the domain's, not the network's).
 */
export const START_FLOOR_MS = 120;

/**
 * The pending cookie: the auth request id sealed with AES-256-GCM under a fresh IV, so every
 * start sets a new, same-length, opaque value whether it names a new request, an admin's earlier
 * one (send limit reached) or, for a non-admin, a random id that names nothing.
 */
export function sealPending(key: Uint8Array, authRequestId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(PENDING_AAD);
  const sealed = Buffer.concat([cipher.update(authRequestId, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
}

export function openPending(key: Uint8Array, value: string | undefined): string | null {
  if (value === undefined || !PENDING_PATTERN.test(value)) return null;
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.length < 12 + 16 + 1) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
    decipher.setAAD(PENDING_AAD);
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
const UNIFORM_FAILURES = new Set(['INVALID_CREDENTIAL', 'TOO_MANY_ATTEMPTS', 'AUTH_REQUEST_NOT_FOUND']);

function notValid(): SesameError {
  return new SesameError('INVALID_CREDENTIAL', 'That code or link is not valid. Check the latest email, or start again.');
}

export interface AdminSessions {
  issue(email: string): Promise<string>;
  /** The admin's email, or null for a missing, forged, expired or no-longer-admin session. */
  verify(token: string | undefined): Promise<string | null>;
}

export function createAdminSessions(deps: Pick<AdminDeps, 'keys' | 'clock' | 'publicUrl' | 'store'>): AdminSessions {
  const key = deps.keys.adminSession;
  const issuer = deps.publicUrl;
  return {
    async issue(email) {
      const now = Math.floor(deps.clock.now() / 1000);
      return new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(SESSION_AUDIENCE)
        .setSubject(email)
        .setIssuedAt(now)
        .setExpirationTime(now + SESSION_TTL_SECONDS)
        .setJti(randomBytes(12).toString('base64url'))
        .sign(key);
    },
    async verify(token) {
      if (token === undefined || token.length === 0 || token.length > 4096) return null;
      let email: string;
      try {
        const { payload } = await jwtVerify(token, key, {
          issuer,
          audience: SESSION_AUDIENCE,
          algorithms: ['HS256'],
          requiredClaims: ['sub', 'exp', 'iat'],
          currentDate: new Date(deps.clock.now()),
        });
        if (typeof payload.sub !== 'string') return null;
        email = payload.sub;
      } catch {
        return null;
      }
      const admin = await deps.store.findAdmin(normalizeEmail(email).key);
      return admin ? admin.email : null;
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

  const answer = (c: Context<AppEnv>, email: string) =>
    c.json({ email, csrf_token: ensureCsrfToken(c, deps.keys.csrf, publicUrl) });

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
        const earlierId = openPending(deps.keys.adminPending, getCookie(c, PENDING_COOKIE));
        const earlier = earlierId === null ? null : await store.findAuthRequest(earlierId, deps.clock.now());
        if (earlier && earlier.clientId === ADMIN_CLIENT_ID && earlier.emailKey === key && earlier.status === 'pending') {
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
    const pending = openPending(deps.keys.adminPending, cookie);
    if (pending === null) throw notValid();
    // Only a request this flow created can sign an admin in. A wrong code, a locked request and a
    // pending cookie of a non-admin (no request at all) answer alike, with no attempts count, so
    // the answers never tell whether an address is an admin.
    const request = await store.findAuthRequest(pending, deps.clock.now());
    if (!request || request.clientId !== ADMIN_CLIENT_ID) throw notValid();
    let verified;
    try {
      verified = await engine.verify({ ...input, authRequestId: pending });
    } catch (error) {
      if (error instanceof SesameError && UNIFORM_FAILURES.has(error.code)) throw notValid();
      throw error;
    }
    const admin = await store.findAdmin(normalizeEmail(verified.email).key);
    if (!admin) throw new SesameError('UNAUTHENTICATED', 'This address is not an admin.');
    setCookie(c, SESSION_COOKIE, await sessions.issue(admin.email), cookieOptions(publicUrl, SESSION_TTL_SECONDS));
    deleteCookie(c, PENDING_COOKIE, { path: '/admin', secure: secureCookies(publicUrl) });
    return answer(c, admin.email);
  });

  routes.get('/session', (c) => answer(c, c.get('adminEmail')));

  routes.post('/session/logout', (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: '/admin', secure: secureCookies(publicUrl) });
    return c.body(null, 204);
  });

  return routes;
}
