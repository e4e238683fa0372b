/**
 * The admin dashboard's backend (docs/ADMIN_API.md), mounted by createApp: security headers on
 * /admin and /admin/api, CSRF on every state-changing request, a session on every API route but
 * the sign-in ones, then the routes. The static SPA is mounted separately, last, because its
 * catch-all must not shadow API routes registered after this (the dev inbox).
 */
import type { Hono } from 'hono';
import type { AppEnv } from '../http/hono-env.js';
import { activityRoutes } from './activity.js';
import { auditRoutes } from './audit.js';
import { clientRoutes } from './clients.js';
import type { AdminDeps } from './common.js';
import { csrfProtection, csrfRoutes } from './csrf.js';
import { policyRoutes } from './policy.js';
import { adminSecurityHeaders } from './security-headers.js';
import { createAdminSessions, requireAdminSession, sessionRoutes } from './session.js';
import { adminStaticRoutes } from './static.js';
import { brandRoutes, templateRoutes } from './templates.js';

export type { AdminDeps } from './common.js';
export { ADMIN_CLIENT_ID } from './common.js';

export function mountAdminApi(app: Hono<AppEnv>, deps: AdminDeps): void {
  const sessions = createAdminSessions(deps);
  app.use('/admin', adminSecurityHeaders());
  app.use('/admin/*', adminSecurityHeaders());
  app.use(
    '/admin/*',
    csrfProtection(
      deps.keys.csrf,
      deps.publicUrl,
      deps.keys.fallbacks.map((keys) => keys.csrf),
    ),
  );
  app.use('/admin/api/*', requireAdminSession(sessions));

  app.route('/admin/api/csrf', csrfRoutes(deps.keys.csrf, deps.publicUrl));
  app.route('/admin/api', sessionRoutes(deps, sessions));
  app.route('/admin/api/policy', policyRoutes(deps));
  app.route('/admin/api/audit', auditRoutes(deps));
  app.route('/admin/api/templates', templateRoutes(deps));
  app.route('/admin/api/brand', brandRoutes(deps));
  app.route('/admin/api/clients', clientRoutes(deps));
  app.route('/admin/api/activity', activityRoutes(deps));
}

/** The built dashboard at /admin and /admin/* (index.html for client-side routes). */
export function mountAdminStatic(app: Hono<AppEnv>, options: { distDir?: string | null } = {}): void {
  const routes = adminStaticRoutes(options);
  app.route('/admin', routes);
}
