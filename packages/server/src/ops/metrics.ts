/**
 * Prometheus metrics, one registry per app instance (tests create many apps; a global registry
 * would make them collide). Route labels are hono's route patterns, never raw paths, so the
 * label set stays bounded whatever clients send.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly sends: Counter<'kind' | 'outcome'>;
  readonly verifies: Counter<'method' | 'outcome'>;
  readonly limitHits: Counter<'limit'>;
  /** Sends refused by a send limit, per calling client and limit (address, client, deployment). */
  readonly sendLimited: Counter<'client_id' | 'scope'>;
  readonly deliveries: Counter<'outcome'>;
  readonly tokens: Counter<'outcome'>;
  readonly swept: Counter;
}

export interface MetricsOptions {
  /** The outbox to report on at each scrape (the store). */
  readonly outbox?: { outboxDepth(): Promise<number>; oldestQueuedEmailAt(): Promise<number | null> };
  /** Epoch milliseconds; the outbox age is measured against it. */
  readonly now?: () => number;
  readonly defaultMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics === true) collectDefaultMetrics({ register: registry, prefix: 'sesame_' });
  const { outbox } = options;
  const now = options.now ?? Date.now;
  new Gauge({
    name: 'sesame_outbox_depth',
    help: 'Emails queued and not yet delivered.',
    registers: [registry],
    async collect() {
      if (outbox) this.set(await outbox.outboxDepth());
    },
  });
  // Depth alone hides a stuck queue that stays short; the age of its oldest email does not.
  new Gauge({
    name: 'sesame_outbox_oldest_age_seconds',
    help: 'Age of the oldest email queued and not yet delivered (0 when none waits).',
    registers: [registry],
    async collect() {
      if (!outbox) return;
      const queuedAt = await outbox.oldestQueuedEmailAt();
      this.set(queuedAt === null ? 0 : Math.max(0, (now() - queuedAt) / 1000));
    },
  });
  return {
    registry,
    requests: new Counter({
      name: 'sesame_http_requests_total',
      help: 'HTTP requests by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'sesame_http_request_duration_seconds',
      help: 'HTTP request latency by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    sends: new Counter({
      name: 'sesame_sends_total',
      help: 'Send and resend calls by outcome (ok or the error code).',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    verifies: new Counter({
      name: 'sesame_verifies_total',
      help: 'Verify calls by credential (code or link) and outcome (verified or the error code).',
      labelNames: ['method', 'outcome'],
      registers: [registry],
    }),
    limitHits: new Counter({
      name: 'sesame_limit_hits_total',
      help: 'Requests refused by a limit (send_limit, too_many_attempts).',
      labelNames: ['limit'],
      registers: [registry],
    }),
    sendLimited: new Counter({
      name: 'sesame_send_limited_total',
      help: "Sends and resends refused with SEND_LIMIT_EXCEEDED, by API client and by the limit that refused them (address, client, deployment): alert on a client's rate.",
      labelNames: ['client_id', 'scope'],
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'sesame_email_deliveries_total',
      help: 'Email delivery attempts by outcome (sent, retry, failed).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'sesame_oauth_tokens_total',
      help: 'Client-credentials token requests by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    swept: new Counter({
      name: 'sesame_swept_auth_requests_total',
      help: 'Expired auth requests deleted by the sweeper, each with its outbox rows and delivery events.',
      registers: [registry],
    }),
  };
}
