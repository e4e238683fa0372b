/** Security headers of the dashboard and its API (docs/ADMIN_API.md "Conventions"). */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/hono-env.js';

export const ADMIN_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: http: data:; " +
  "frame-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function adminSecurityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    c.header('Content-Security-Policy', ADMIN_CSP);
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cross-Origin-Opener-Policy', 'same-origin');
    const path = c.req.path;
    if (path === '/admin/api' || path.startsWith('/admin/api/')) c.header('Cache-Control', 'no-store');
  };
}
