/**
 * The middleware (Next 16: proxy) gate: protects path patterns and sends signed-out visitors to
 * the login page with `next` preserved, and renews a session used past half its cookie's
 * lifetime. It depends only on jose (Web Crypto), so it runs in the Edge runtime, and never
 * calls Sesame. Pages behind it should still check the session themselves (`getSession()`):
 * middleware is a fast first gate, not the only one; without `sessions` it cannot know of a
 * server-side sign-out.
 */
import { cookieAttributes, type SameSiteSetting } from './cookie-config.js';
import { readCookie, serializeCookie } from './cookies.js';
import { safeNextPath } from './next-path.js';
import { parseAppUrl, requestAppUrl, type AppUrl } from './origin.js';
import type { SessionStore } from './session.js';
import { renewedToken, sessionOf } from './session-token.js';
import { secretsWithFallbacks, verifySession, type VerifySecrets } from './tokens.js';

export interface AuthMiddlewareOptions {
  /** Read on each request, so the secret is taken from the runtime environment, not the build. */
  readonly sessionSecret: string | (() => string);
  /**
   * Older secrets still accepted, as the auth config's `sessionSecretFallbacks` (a function is
   * read per request). A renewal here is signed with `sessionSecret`.
   */
  readonly sessionSecretFallbacks?: readonly string[] | (() => readonly string[] | undefined) | undefined;
  /** Patterns in Next's matcher style: `/dashboard`, `/dashboard/:path*`, `/team/:id`. */
  readonly protect: readonly string[];
  readonly loginPath?: string;
  /**
   * The app's public URL, the base of the login redirect (the same value as the auth config's
   * `appUrl`; a function is read per request, e.g. `() => process.env.APP_URL`). Without it a
   * loopback Host is used, else the address Next.js listens on; forwarding headers never are.
   */
  readonly appUrl?: string | (() => string | undefined) | undefined;
  readonly cookieName?: string;
  readonly secure?: boolean;
  /** The same values as the auth config's `session.sameSite` and `session.domain`. */
  readonly sameSite?: SameSiteSetting | undefined;
  readonly domain?: string | undefined;
  /** Sliding renewal here too (default true): the new cookie lasts as long as the one it replaces did. */
  readonly renew?: boolean | undefined;
  /** As the auth config's `session.absoluteMaxAgeSeconds` (default 30 days). */
  readonly absoluteMaxAgeSeconds?: number | undefined;
  /** The auth config's session store, when it can be reached from the middleware's runtime. */
  readonly sessions?: Pick<SessionStore, 'isRevoked'> | undefined;
  readonly now?: () => number;
}

export type AuthMiddleware = (request: Request) => Promise<Response | undefined>;

// Edge and Node both provide process.env under Next.js; see auth.ts.
declare const process: { readonly env: Readonly<Record<string, string | undefined>> };

const DEFAULT_ABSOLUTE_MAX_AGE = 30 * 24 * 3600;

/**
 * Returns a redirect for a protected path without a valid session, `undefined` to go on, or,
 * when the session is due for renewal, `NextResponse.next()` carrying the fresh cookie.
 */
export function createAuthMiddleware(options: AuthMiddlewareOptions): AuthMiddleware {
  const matchers = options.protect.map(compilePattern);
  const loginPath = options.loginPath ?? '/login';
  const cookieName = options.cookieName ?? 'sesame_session';
  const now = options.now ?? Date.now;
  const attributes = cookieAttributes('session', cookieName, options, options.secure ?? process.env.NODE_ENV === 'production', undefined);
  const cookie = { httpOnly: true, path: '/', ...attributes };
  const absolute = options.absoluteMaxAgeSeconds ?? DEFAULT_ABSOLUTE_MAX_AGE;
  return async (request) => {
    const url = new URL(request.url);
    if (!matchers.some((m) => m.test(url.pathname))) return undefined;
    const secret = typeof options.sessionSecret === 'function' ? options.sessionSecret() : options.sessionSecret;
    const token = readCookie(request.headers.get('cookie'), cookieName);
    const t = now();
    const verified = await verifySession(verifySecrets(options, secret), token, t);
    const session = verified === null || token === undefined ? null : await sessionOf(verified, token, absolute);
    if (session && !(await revoked(options, session.id))) {
      if (options.renew === false) return undefined;
      const renewed = await renewedToken(secret, session, t, (session.expiresAt - session.issuedAt) / 1000);
      if (renewed === undefined) return undefined;
      // NextResponse.next() is how middleware lets a request through with a Set-Cookie.
      const { NextResponse } = await import('next/server.js');
      const next = NextResponse.next();
      next.headers.append('set-cookie', serializeCookie(cookieName, renewed.token, { ...cookie, maxAge: renewed.maxAge }));
      return next;
    }
    // Absolute (Next.js requires it in middleware), on the configured app URL: X-Forwarded-Host
    // and X-Forwarded-Proto are the client's to write. Without one, a loopback Host (the
    // browser's own spelling, localhost or 127.0.0.1, which holds its cookies), else the
    // address Next.js listens on.
    const app = requestAppUrl(configuredAppUrl(options), request.headers);
    const login = new URL(`${app?.base ?? url.origin}${loginPath}`);
    const next = safeNextPath(`${url.pathname}${url.search}`, '');
    if (next !== '') login.searchParams.set('next', next);
    const headers = new Headers({ location: login.toString(), 'cache-control': 'no-store' });
    // A cookie that no longer verifies (tampered, expired, old secret, signed out) is removed, not kept around.
    if (token !== undefined) {
      headers.append('set-cookie', serializeCookie(cookieName, '', { ...cookie, maxAge: 0 }));
    }
    return new Response(null, { status: 307, headers });
  };
}

/** `secret` alone when no fallback is set: then a request costs one HMAC, as without the option. */
function verifySecrets(options: AuthMiddlewareOptions, secret: string): VerifySecrets {
  const setting = options.sessionSecretFallbacks;
  const fallbacks = typeof setting === 'function' ? setting() : setting;
  return fallbacks === undefined || fallbacks.length === 0 ? secret : secretsWithFallbacks(secret, fallbacks, 'sessionSecretFallbacks');
}

/** A store that fails counts as "signed out", as in the kit. */
async function revoked(options: AuthMiddlewareOptions, id: string): Promise<boolean> {
  if (options.sessions === undefined) return false;
  try {
    return await options.sessions.isRevoked(id);
  } catch (error) {
    console.error('[sesame] the session store failed; treating the request as signed out.', error);
    return true;
  }
}

let parsed: { readonly raw: string; readonly value: AppUrl } | undefined;

function configuredAppUrl(options: AuthMiddlewareOptions): AppUrl | undefined {
  const raw = typeof options.appUrl === 'function' ? options.appUrl() : options.appUrl;
  if (raw === undefined || raw === '') return undefined;
  // Parsed once per distinct value: middleware runs on every matching request.
  if (parsed?.raw !== raw) parsed = { raw, value: parseAppUrl(raw) };
  return parsed.value;
}

/** `/a/:p*` matches `/a` and below; `/a/:p+` below only; `:p` one segment; the rest literally. */
export function compilePattern(pattern: string): RegExp {
  const segments = pattern.split('/').filter((s) => s !== '');
  let source = '^';
  for (const segment of segments) {
    const param = /^:\w+([*+?])?$/.exec(segment);
    if (!param) {
      source += `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
    } else if (param[1] === '*') {
      source += '(?:/.*)?';
    } else if (param[1] === '+') {
      source += '/.+';
    } else if (param[1] === '?') {
      source += '(?:/[^/]+)?';
    } else {
      source += '/[^/]+';
    }
  }
  return new RegExp(`${source === '^' ? '^/' : source}/?$`);
}
