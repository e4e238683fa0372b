/**
 * What every HTTP request leaves behind, whichever path served it (hono's middleware in app.ts
 * or the REST fast path): its request id, a count and a latency in the metrics, one access log
 * line. Kept in one place so both paths label and log a request identically.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.js';

const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The caller's `x-request-id` when it is a usable id, else a new one. */
export function requestIdFrom(header: string | undefined): string {
  return header !== undefined && INCOMING_REQUEST_ID.test(header) ? header : randomUUID();
}

export interface RequestRecord {
  readonly requestId: string;
  readonly method: string;
  /** The route pattern (never the raw path, so the label set stays bounded), or `unmatched`. */
  readonly route: string;
  readonly status: number;
  /** `performance.now()` when the request arrived. */
  readonly started: number;
}

export function requestRecorder(metrics: Metrics, logger: Logger): (record: RequestRecord) => void {
  return ({ requestId, method, route, status, started }) => {
    const seconds = (performance.now() - started) / 1000;
    const labels = { method, route, status: String(status) };
    metrics.requests.inc(labels);
    metrics.requestDuration.observe(labels, seconds);
    logger.info({ requestId, method, route, status, durationMs: Math.round(seconds * 10_000) / 10 }, 'request');
  };
}
