/**
 * Middleware helper: protects path patterns and sends signed-out visitors to the login page
 * with `next` preserved. It depends only on jose (Web Crypto), so it runs in the Edge runtime,
 * and never calls Sesame. Pages behind it should still check the session themselves
 * (`getSession()`): middleware is a fast first gate, not the only one.
 */
import { readCookie, serializeCookie } from './cookies.js';
import { safeNextPath } from './next-path.js';
import { parseAppUrl, requestAppUrl, type AppUrl } from './origin.js';
import { verifySession } from './tokens.js';

export interface AuthMiddlewareOptions {
  /** Read on each request, so the secret is taken from the runtime environment, not the build. */
  readonly sessionSecret: string | (() => string);
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
  readonly now?: () => number;
}

export type AuthMiddleware = (request: Request) => Promise<Response | undefined>;

// Edge and Node both provide process.env under Next.js; see auth.ts.
declare const process: { readonly env: Readonly<Record<string, string | undefined>> };

/** Returns a redirect for a protected path without a valid session, or `undefined` to go on. */
export function createAuthMiddleware(options: AuthMiddlewareOptions): AuthMiddleware {
  const matchers = options.protect.map(compilePattern);
  const loginPath = options.loginPath ?? '/login';
  const cookieName = options.cookieName ?? 'sesame_session';
  const now = options.now ?? Date.now;
  return async (request) => {
    const url = new URL(request.url);
    if (!matchers.some((m) => m.test(url.pathname))) return undefined;
    const secret = typeof options.sessionSecret === 'function' ? options.sessionSecret() : options.sessionSecret;
    const token = readCookie(request.headers.get('cookie'), cookieName);
    const session = await verifySession(secret, token, now());
    if (session) return undefined;
    // Absolute (Next.js requires it in middleware), on the configured app URL: X-Forwarded-Host
    // and X-Forwarded-Proto are the client's to write. Without one, a loopback Host (the
    // browser's own spelling, localhost or 127.0.0.1, which holds its cookies), else the
    // address Next.js listens on.
    const app = requestAppUrl(configuredAppUrl(options), request.headers);
    const login = new URL(`${app?.base ?? url.origin}${loginPath}`);
    const next = safeNextPath(`${url.pathname}${url.search}`, '');
    if (next !== '') login.searchParams.set('next', next);
    const headers = new Headers({ location: login.toString(), 'cache-control': 'no-store' });
    // A cookie that no longer verifies (tampered, expired, old secret) is removed, not kept around.
    if (token !== undefined) {
      headers.append(
        'set-cookie',
        serializeCookie(cookieName, '', {
          httpOnly: true,
          secure: options.secure ?? process.env.NODE_ENV === 'production',
          sameSite: 'Lax',
          path: '/',
          maxAge: 0,
        }),
      );
    }
    return new Response(null, { status: 307, headers });
  };
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
