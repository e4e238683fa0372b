/**
 * CSRF for the dashboard (docs/ADMIN_API.md "CSRF"): a random HttpOnly cookie `sesame_csrf`, and
 * a token = HMAC(csrf key, cookie value) that the page sends back in `X-CSRF-Token` on every
 * state-changing request; a browser-sent `Origin` must be the public URL's. A cross-site page can
 * neither read the token nor make the browser send a matching one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { Hono } from 'hono';
import type { AppEnv } from '../http/hono-env.js';
import { TransportError } from '../http/error-handler.js';

export const CSRF_COOKIE = 'sesame_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const COOKIE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function csrfTokenFor(key: Uint8Array, cookieValue: string): string {
  return createHmac('sha256', key).update(`csrf\u0000${cookieValue}`).digest('base64url');
}

export function secureCookies(publicUrl: string): boolean {
  return new URL(publicUrl).protocol === 'https:';
}

/** The token of this browser's CSRF cookie, setting a new cookie when it has none. */
export function ensureCsrfToken(c: Context, key: Uint8Array, publicUrl: string): string {
  let value = getCookie(c, CSRF_COOKIE);
  if (value === undefined || !COOKIE_PATTERN.test(value)) {
    value = randomBytes(32).toString('base64url');
    setCookie(c, CSRF_COOKIE, value, { httpOnly: true, sameSite: 'Strict', path: '/admin', secure: secureCookies(publicUrl) });
  }
  return csrfTokenFor(key, value);
}

function rejected(reason: string): TransportError {
  return new TransportError(
    403,
    'CSRF_REJECTED',
    `Request refused: ${reason}. Fetch a token from GET /admin/api/csrf and send it in X-CSRF-Token.`,
  );
}

/** Whether `token` is the cookie's token under the current key or, failing that, a fallback secret's key. */
export function csrfTokenMatches(keys: readonly Uint8Array[], cookieValue: string, token: string): boolean {
  const actual = Buffer.from(token);
  return keys.some((key) => {
    const expected = Buffer.from(csrfTokenFor(key, cookieValue));
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  });
}

/**
 * Refuses a state-changing request without a valid token, or from another origin (403
 * CSRF_REJECTED). A token made under a fallback secret (`fallbackKeys`) is still accepted.
 */
export function csrfProtection(key: Uint8Array, publicUrl: string, fallbackKeys: readonly Uint8Array[] = []): MiddlewareHandler<AppEnv> {
  const origin = new URL(publicUrl).origin;
  const keys = [key, ...fallbackKeys];
  return async (c, next) => {
    if (STATE_CHANGING.has(c.req.method)) {
      const sentOrigin = c.req.header('origin');
      if (sentOrigin !== undefined && sentOrigin !== origin) throw rejected('cross-origin request');
      const cookie = getCookie(c, CSRF_COOKIE);
      const token = c.req.header(CSRF_HEADER);
      if (cookie === undefined || !COOKIE_PATTERN.test(cookie) || token === undefined) throw rejected('missing CSRF token');
      if (!csrfTokenMatches(keys, cookie, token)) throw rejected('invalid CSRF token');
    }
    await next();
  };
}

export function csrfRoutes(key: Uint8Array, publicUrl: string): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/', (c) => c.json({ csrf_token: ensureCsrfToken(c, key, publicUrl) }));
  return routes;
}
