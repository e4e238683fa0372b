/**
 * The middleware around every HTTP request: its request id (docs/WIRE.md "Headers"), the headers
 * every answer carries, and what the request leaves behind: a count and a latency in the metrics
 * and one access log line, labelled by the route pattern that answered.
 */
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.js';
import type { AppEnv } from './hono-env.js';

/** A caller's `x-request-id` kept as the request's id; any other value is replaced by a new UUID. */
const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function recordRequests(metrics: Metrics, logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming !== undefined && INCOMING_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.header('x-request-id', requestId);
    c.header('X-Content-Type-Options', 'nosniff');
    await next();
    // The route pattern, never the raw path, so the label set stays bounded; `*` when only middleware matched.
    const matched = routePath(c, -1);
    const route = matched === '*' || matched === '/*' ? 'unmatched' : matched;
    const { method } = c.req;
    const status = c.res.status;
    const seconds = (performance.now() - started) / 1000;
    const labels = { method, route, status: String(status) };
    metrics.requests.inc(labels);
    metrics.requestDuration.observe(labels, seconds);
    logger.info({ requestId, method, route, status, durationMs: Math.round(seconds * 10_000) / 10 }, 'request');
  };
}
