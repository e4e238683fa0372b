/**
 * The HTTP application: middleware (request id, logs, metrics, body limit) and the routes. It
 * answers every REST request, over HTTP/1.1 and HTTP/2 alike. `createApp` opens no port, so tests
 * drive it with `app.request()`; `server.ts` serves it through @hono/node-server.
 */
import {
  createEngine,
  systemClock,
  type Clock,
  type Engine,
  type OutboxHandoff,
  type PayloadSealer,
  type Policy,
  type RandomSource,
  type RedirectRule,
  type Store,
} from '@sesame/core';
import { declaredVariablesSource } from '@sesame/email';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { mountAdminApi, mountAdminStatic } from './admin/index.js';
import { bearerAuth } from './auth/bearer-auth.js';
import type { AppEnv } from './http/hono-env.js';
import { TransportError, createErrorHandler } from './http/error-handler.js';
import { deriveServerKeys, type ServerKeys } from './auth/derived-keys.js';
import { createLogger } from './ops/logging.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { metricsAuth } from './ops/metrics-auth.js';
import { recordRequests } from './http/request-record.js';
import { createNodeCredentialHasher, createNodePayloadSealer, createPooledRandom } from './passwordless/node-crypto.js';
import { openApiDocument } from './http/openapi.js';
import { createPolicySource, seededDefaultPolicy } from './passwordless/policy-source.js';
import { devInboxRoutes } from './ops/dev-inbox.js';
import { healthRoutes } from './ops/health.js';
import { oauthRoutes } from './auth/oauth-token-route.js';
import { passwordlessOperations, type PasswordlessOperations } from './passwordless/operations.js';
import { passwordlessRoutes } from './passwordless/rest-routes.js';
import { countSendLimits } from './passwordless/send-limit-metrics.js';
import { createTokenService, type TokenService } from './auth/access-tokens.js';

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
/** Send budgets when none are given: SESAME_CLIENT_SENDS_PER_MINUTE's and SESAME_SENDS_PER_MINUTE's defaults. */
export const DEFAULT_SEND_BUDGETS = { perClientPerMinute: 1_000, deploymentPerMinute: 20_000 } as const;

export interface AppOptions {
  readonly store: Store;
  /** The server secret (≥ 32 bytes). */
  readonly secret: Uint8Array;
  /** SESAME_SECRET_FALLBACKS: older secrets whose tokens, hashes, digests and seals are still accepted; nothing new is made with them. */
  readonly secretFallbacks?: readonly Uint8Array[];
  readonly production: boolean;
  /** Base URL of this server: the token issuer and the OpenAPI server URL. */
  readonly publicUrl: string;
  /** Mount the dev inbox routes (no SMTP URL set, not production). */
  readonly devInbox: boolean;
  /** SESAME_ALLOWED_REDIRECT_URIS, added to the default policy until one is saved. */
  readonly seedRedirectUris?: readonly RedirectRule[];
  readonly maxBodyBytes?: number;
  readonly tokenTtlSeconds?: number;
  readonly clock?: Clock;
  readonly random?: RandomSource;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Called when an email was queued (send, resend): wakes the outbox worker. */
  readonly onEmailQueued?: () => void;
  /** The outbox worker of this process, to which the engine hands new emails directly (core's `OutboxHandoff`). */
  readonly outbox?: OutboxHandoff;
  /** The admin UI's built files; default: `@sesame/admin-ui`'s dist/ (null: none, /admin says how to build). */
  readonly adminUiDist?: string | null;
  /** SESAME_METRICS_TOKEN: `/metrics` then requires it as a bearer token. */
  readonly metricsToken?: string;
  /** Sends a minute per API client (unless set on the client) and for the whole deployment. */
  readonly sendBudgets?: { readonly perClientPerMinute: number; readonly deploymentPerMinute: number };
}

export interface SesameApp {
  readonly app: Hono<AppEnv>;
  readonly engine: Engine;
  /** Send, verify and resend as the REST routes run them; the server's gRPC methods run the same. */
  readonly operations: PasswordlessOperations;
  readonly tokens: TokenService;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clientSecretKey: Uint8Array;
  /** Every key derived from the server secret (admin sessions, CSRF, …). */
  readonly keys: ServerKeys;
  /** Opens what the engine sealed: the outbox worker needs the same one. */
  readonly sealer: PayloadSealer;
  /** The policy in force (the saved setting, or the default policy). */
  readonly policy: () => Promise<Policy>;
}

export const API_BASE = '/api/v1/passwordless/email';

export function createApp(options: AppOptions): SesameApp {
  const { store, publicUrl } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger('silent');
  const metrics = options.metrics ?? createMetrics({ outbox: store, now: () => clock.now() });
  const fallbacks = options.secretFallbacks ?? [];
  const keys = deriveServerKeys(options.secret, fallbacks);
  const tokens = createTokenService({
    key: keys.accessToken,
    fallbackKeys: keys.fallbacks.map((older) => older.accessToken),
    issuer: publicUrl,
    ttlSeconds: options.tokenTtlSeconds ?? 3600,
    clock,
  });
  const random = options.random ?? createPooledRandom();
  const sealer = createNodePayloadSealer(options.secret, createPooledRandom(), fallbacks);
  const policyOptions = { production: options.production, seedRedirectUris: options.seedRedirectUris ?? [] };
  const policy = createPolicySource(store, policyOptions);
  const sendBudgets = options.sendBudgets ?? DEFAULT_SEND_BUDGETS;
  const uncounted = createEngine({
    store,
    clock,
    random,
    hasher: createNodeCredentialHasher(options.secret, fallbacks),
    sealer,
    policy,
    ...(options.outbox ? { outbox: options.outbox } : {}),
    sendBudgets,
    // A send stores only the template_variables its template (saved or default) uses.
    declaredTemplateVariables: declaredVariablesSource(store),
  });
  const engine = countSendLimits(uncounted, metrics);

  const app = new Hono<AppEnv>();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  // Request id, access log and request metrics, around everything else.
  app.use('*', recordRequests(metrics, logger));

  app.route(
    '/oauth',
    oauthRoutes({
      store,
      tokens,
      clientSecretKey: keys.clientSecret,
      clientSecretFallbackKeys: keys.fallbacks.map((older) => older.clientSecret),
      metrics,
      now: () => clock.now(),
      maxBodyBytes,
    }),
  );

  app.use(`${API_BASE}/*`, async (c, next) => {
    c.header('Cache-Control', 'no-store');
    await next();
  });
  app.use(`${API_BASE}/*`, bearerAuth(store, tokens));
  const operations = passwordlessOperations({
    engine,
    metrics,
    ...(options.onEmailQueued ? { onEmailQueued: options.onEmailQueued } : {}),
  });
  app.route(API_BASE, passwordlessRoutes(operations, maxBodyBytes));

  app.route('/', healthRoutes(store, logger));
  app.get('/metrics', metricsAuth(options.metricsToken), async (c) => {
    const text = await metrics.registry.metrics();
    return c.body(text, 200, { 'Content-Type': metrics.registry.contentType });
  });
  // Built on the first request, not at start: generating it from the schemas is start-up work
  // most processes never need.
  let openapi: object | undefined;
  app.get('/openapi.json', (c) => c.json((openapi ??= openApiDocument({ publicUrl, devInbox: options.devInbox }))));

  mountAdminApi(app, {
    store,
    engine,
    clock,
    keys,
    publicUrl,
    policy,
    defaultPolicy: seededDefaultPolicy(policyOptions.production, policyOptions.seedRedirectUris),
    devInbox: options.devInbox,
    maxBodyBytes,
    ...(options.onEmailQueued ? { onEmailQueued: options.onEmailQueued } : {}),
    sendBudgets,
  });

  if (options.devInbox) {
    const inbox = devInboxRoutes(store);
    app.route('/admin/api/dev-inbox', inbox.api);
    app.route('/dev/inbox', inbox.page);
  }

  mountAdminStatic(app, options.adminUiDist === undefined ? {} : { distDir: options.adminUiDist });

  app.notFound((c) => {
    throw new TransportError(404, 'NOT_FOUND', `No route for ${c.req.method} ${new URL(c.req.url).pathname.slice(0, 200)}.`);
  });
  app.onError(createErrorHandler(logger));

  return { app, engine, operations, tokens, metrics, logger, clientSecretKey: keys.clientSecret, keys, sealer, policy };
}
