/**
 * Runs Sesame: store, outbox worker, expiry sweeper, mail transport and the HTTP server, started
 * in that order and stopped in reverse. `close()` is the graceful shutdown SIGTERM triggers: stop
 * accepting, let in-flight requests finish (cut after the shutdown timeout), stop the worker and
 * the sweeper after their batch in flight, then release the transport and the store.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Clock, Store } from '@sesame/core';
import {
  createMailTransport,
  createOutboxWorker,
  defaultWorkerOwnerId,
  settingsContentSource,
  type MailTransport,
  type OutboxWorker,
} from '@sesame/email';
import { openStore } from '@sesame/storage';
import type { Logger } from 'pino';
import { createApp, type SesameApp } from './app.js';
import { authenticateBearer } from './auth/bearer-auth.js';
import { answerClientError, answerConnect, answerExpectation, cutSlowStream, requestErrorResponse } from './http/transport-errors.js';
import { createDualProtocolServer } from './grpc/dual-protocol.js';
import { createGrpcHandler } from './grpc/handler.js';
import { h2ServerOptions, limitStreamChurn, sessionEnded } from './grpc/h2-limits.js';
import { passwordlessGrpcMethods } from './grpc/service.js';
import { ConfigError, type Config } from './config.js';
import { allowedHostNames, answerMisdirected, hostAllowed, http1Hosts, http2Hosts, isLoopbackAddress } from './http/host-check.js';
import { createLogger } from './ops/logging.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { createNodePayloadSealer } from './passwordless/node-crypto.js';
import { resolveSecret } from './auth/server-secret.js';
import { createSweeper, type Sweeper } from './ops/sweeper.js';

/** How long after a send the outbox worker is woken (a bound on the added delivery delay). */
export const WAKE_DELAY_MS = 15;

export interface StartOptions {
  readonly logger?: Logger;
  /** Replaces the SMTP / dev-inbox transport (the benchmark's capturing transport). */
  readonly transport?: MailTransport;
  /** An already opened store (tests); otherwise `SESAME_DATABASE_URL` is opened and migrated. */
  readonly store?: Store;
  readonly clock?: Clock;
  /** Outbox poll interval (tests shorten it). */
  readonly pollIntervalMs?: number;
}

export interface RunningSesame {
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  readonly sesame: SesameApp;
  readonly worker: OutboxWorker;
  readonly sweeper: Sweeper;
  readonly devInbox: boolean;
  readonly secretSource: string;
  /** Graceful shutdown; safe to call more than once. */
  close(): Promise<void>;
}

/** Counts delivery outcomes for /metrics without the worker knowing about metrics. */
function countingTransport(transport: MailTransport, metrics: Metrics): MailTransport {
  return {
    kind: transport.kind,
    verify: () => transport.verify(),
    close: () => transport.close(),
    async send(email) {
      const result = await transport.send(email);
      metrics.deliveries.inc({ outcome: result.status });
      return result;
    },
  };
}

export async function startSesame(config: Config, options: StartOptions = {}): Promise<RunningSesame> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const secret = resolveSecret(config);
  // Without a relay, production would keep every sign-in email (its code and link in clear) in a
  // dev inbox it never serves: sign-in would fail silently. A caller's own transport is a relay.
  if (config.production && config.smtpUrl === undefined && !options.transport) {
    throw new ConfigError([
      'SESAME_SMTP_URL is required when NODE_ENV=production (e.g. smtps://user:pass@smtp.example.com:465): without it no sign-in email is delivered',
    ]);
  }
  if (secret.source === 'generated')
    logger.warn({ dataDir: config.dataDir }, 'generated a development server secret in the data directory');
  // The count only: a secret's value is never logged.
  if (secret.fallbacks.length > 0)
    logger.info({ secretFallbacks: secret.fallbacks.length }, 'accepting tokens, hashes and sealed mail made with the fallback secrets');

  const store = options.store ?? openStore(config.databaseUrl);
  try {
    if (!options.store) await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }

  const { clock } = options;
  const metrics = createMetrics({ outbox: store, defaultMetrics: true, ...(clock ? { now: () => clock.now() } : {}) });
  const baseTransport =
    options.transport ??
    createMailTransport({
      env: { SESAME_SMTP_URL: config.smtpUrl, SESAME_MAIL_FROM: config.mailFrom, SESAME_PUBLIC_URL: config.publicUrl },
      store,
      logger,
      smtpConnections: config.smtpConnections,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  const transport = countingTransport(baseTransport, metrics);
  const worker = createOutboxWorker({
    store,
    // Opens mail sealed under a fallback secret too, so a rotation never strands the queue.
    sealer: createNodePayloadSealer(secret.bytes, undefined, secret.fallbacks),
    transport,
    content: settingsContentSource(store),
    logger,
    ownerId: defaultWorkerOwnerId(),
    // The send budget follows from the lease (half of it, at most 60 s), so no send outlives its claim.
    leaseMs: config.outboxLeaseMs,
    // One fewer sends in flight than pooled connections: the relation the defaults always had
    // (4 over nodemailer's pool of 5), kept when the pool is resized.
    concurrency: Math.max(1, config.smtpConnections - 1),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
  });

  // Wake the worker shortly after a send rather than at once: under load the sends of those few
  // milliseconds then go out in one claim (one transaction) instead of one claim per email.
  let wakeTimer: NodeJS.Timeout | null = null;
  function wakeWorker(): void {
    wakeTimer ??= setTimeout(() => {
      wakeTimer = null;
      worker.nudge();
    }, WAKE_DELAY_MS);
  }

  // The unauthenticated inbox views would hand out sign-in codes: never in production, and never
  // on an interface other machines can reach.
  const loopback = isLoopbackAddress(config.host);
  const devInbox = baseTransport.kind === 'dev-inbox' && !config.production && loopback;
  if (baseTransport.kind === 'dev-inbox' && config.production) {
    logger.warn({}, 'NODE_ENV=production without SESAME_SMTP_URL: emails are only kept in the dev inbox store and not served over HTTP');
  } else if (baseTransport.kind === 'dev-inbox' && !loopback) {
    logger.warn(
      { host: config.host },
      'HOST is not a loopback address: the dev inbox is not served over HTTP (set SESAME_SMTP_URL to deliver mail, or listen on 127.0.0.1)',
    );
  }
  if (config.production && config.metricsToken === undefined) {
    logger.warn(
      {},
      'GET /metrics is public: set SESAME_METRICS_TOKEN to require a bearer token, or keep /metrics off the public network at the proxy',
    );
  }
  const sesame = createApp({
    store,
    secret: secret.bytes,
    secretFallbacks: secret.fallbacks,
    production: config.production,
    publicUrl: config.publicUrl,
    devInbox,
    seedRedirectUris: config.allowedRedirectUris,
    maxBodyBytes: config.maxBodyBytes,
    tokenTtlSeconds: config.tokenTtlSeconds,
    ...(config.metricsToken === undefined ? {} : { metricsToken: config.metricsToken }),
    sendBudgets: { perClientPerMinute: config.clientSendsPerMinute, deploymentPerMinute: config.sendsPerMinute },
    logger,
    metrics,
    onEmailQueued: wakeWorker,
    outbox: worker.handoff,
    ...(options.clock ? { clock: options.clock } : {}),
  });

  const sweeper = createSweeper({
    store,
    logger,
    retentionMs: config.retentionSeconds * 1000,
    intervalMs: config.sweepIntervalMs,
    policy: sesame.policy,
    onSwept: (rows) => metrics.swept.inc(rows),
    ...(options.clock ? { clock: options.clock } : {}),
  });

  // One port, two protocols: HTTP/1.1 for REST; HTTP/2 cleartext for the Scalekit SDK's gRPC,
  // whose non-gRPC requests (REST over h2c) fall back to the same REST handler.
  const rest = getRequestListener(sesame.app.fetch, { errorHandler: requestErrorResponse });
  const allowedHosts = allowedHostNames({ production: config.production, publicUrl: config.publicUrl, allowedHosts: config.allowedHosts });
  const headersTimeout = Math.min(config.requestTimeoutMs, 10_000);
  const http1 = http.createServer(
    {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout,
      keepAliveTimeout: 5_000,
      // Node checks the two timeouts above only this often (30 s by default): a slow client would
      // otherwise hold its connection up to 30 s past them.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(headersTimeout / 4))),
      // A request without Host is still refused (400 BAD_REQUEST, by `requestErrorResponse`), but
      // with the error body rather than Node's empty 400.
      requireHostHeader: false,
    },
    (request, response) => {
      if (!hostAllowed(allowedHosts, http1Hosts(request), request.url ?? '/')) return answerMisdirected(response);
      void rest(request, response);
    },
  );
  http1.maxHeadersCount = 100;
  http1.on('clientError', answerClientError(logger));
  http1.on('connect', answerConnect);
  http1.on('checkExpectation', answerExpectation);
  const authenticateGrpc = (header: string | null) => authenticateBearer(store, sesame.tokens, header);
  const grpcMethods = passwordlessGrpcMethods({
    operations: sesame.operations,
    authenticate: authenticateGrpc,
    newRequestId: randomUUID,
    onCall(method, outcome, durationMs) {
      const labels = { method: 'POST', route: `grpc:${method}`, status: outcome };
      metrics.requests.inc(labels);
      metrics.requestDuration.observe(labels, durationMs / 1000);
      logger.info({ route: `grpc:${method}`, outcome, durationMs: Math.round(durationMs * 10) / 10 }, 'grpc call');
    },
  });
  const h2 = http2.createServer(h2ServerOptions(), (request, response) => {
    if (sessionEnded(request.stream)) return;
    if (!hostAllowed(allowedHosts, http2Hosts(request), request.url)) return answerMisdirected(response);
    grpcHandler(request, response);
  });
  h2.setTimeout(config.requestTimeoutMs);
  const churn = limitStreamChurn(h2);
  const grpcHandler = createGrpcHandler({
    methods: grpcMethods,
    readMaxBytes: config.maxBodyBytes,
    authenticate: authenticateGrpc,
    onEarlyRefusal: (stream) => churn.refusedEarly(stream),
    fallback: (request, response) => void rest(request, response),
  });
  // HTTP/2's timeout above is per idle session: a stream whose body trickles in would never be
  // cut. As HTTP/1.1's requestTimeout, a request not received whole in time gets 408.
  h2.on('stream', (stream) => cutSlowStream(stream, config.requestTimeoutMs));
  const listener = createDualProtocolServer({ http1, http2: h2, sniffTimeoutMs: Math.min(config.requestTimeoutMs, 10_000) });
  const server = listener.server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // node:http starts tracking connections (the requestTimeout / headersTimeout checks and
  // closeIdleConnections) on its own 'listening' event; http1 never listens itself (the dual
  // protocol server hands it sockets), so start that tracking explicitly.
  http1.emit('listening');
  worker.start();
  sweeper.start();
  const port = (server.address() as AddressInfo).port;
  const url = config.port === 0 ? config.publicUrl.replace(/:0$/, `:${port}`) : config.publicUrl;

  let closing: Promise<void> | null = null;
  async function shutdown(): Promise<void> {
    logger.info({}, 'shutting down: no new connections, finishing in-flight requests');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections become idle as their last request finishes: close each promptly
    // instead of waiting for its keep-alive timeout. HTTP/2 sessions close gracefully.
    listener.closeIdle();
    const sweep = setInterval(() => listener.closeIdle(), 50);
    const cut = setTimeout(() => {
      logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout: closing remaining connections');
      listener.closeAll();
    }, config.shutdownTimeoutMs);
    await closed;
    clearInterval(sweep);
    // Stops http1's connection-checking interval (it never listened, so this only runs its close hooks).
    http1.close();
    clearTimeout(cut);
    if (wakeTimer) clearTimeout(wakeTimer);
    // Both finish their batch in flight: the store must outlive them.
    await Promise.all([worker.stop(), sweeper.stop()]);
    await transport.close();
    if (!options.store) await store.close();
    logger.info({}, 'stopped');
  }

  return {
    url,
    port,
    store,
    sesame,
    worker,
    sweeper,
    devInbox,
    secretSource: secret.source,
    close: () => (closing ??= shutdown()),
  };
}
