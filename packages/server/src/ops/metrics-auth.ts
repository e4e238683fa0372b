/**
 * SESAME_METRICS_TOKEN: when set, `/metrics` answers only `Authorization: Bearer <token>`
 * (401 UNAUTHENTICATED otherwise). Both sides are hashed before a constant-time compare, so
 * neither the token's bytes nor its length show in the time taken. Without it `/metrics` stays
 * public, as Prometheus scrapers expect by default; in production the start logs a warning.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { SesameError } from '@sesame/core';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/hono-env.js';

/** The form SESAME_METRICS_TOKEN must have: a bearer token (RFC 6750 token68), at least 16 characters. */
export const METRICS_TOKEN = /^[A-Za-z0-9\-._~+/]{16,}=*$/;

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Whether `authorization` (the header as received, repeats joined) is exactly `Bearer <token>` (the scheme in any case). */
export function metricsAuthorized(authorization: string | undefined, token: string): boolean {
  const value = authorization ?? '';
  const presented = /^bearer /i.test(value) ? value.slice('bearer '.length) : '';
  return timingSafeEqual(digest(presented), digest(token));
}

/** The `/metrics` guard: passes every request when no token is configured. */
export function metricsAuth(token: string | undefined): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (token !== undefined && !metricsAuthorized(c.req.header('authorization'), token)) {
      throw new SesameError('UNAUTHENTICATED', 'GET /metrics requires the bearer token set in SESAME_METRICS_TOKEN.');
    }
    await next();
  };
}
