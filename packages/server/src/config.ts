/**
 * Configuration from the environment (docs/CONFIGURATION.md), validated once at start.
 * Every variable is declared once in `VARIABLES`, so `sesame --help` and the validation can
 * never disagree about what exists or what the default is.
 */
import { canonicalHttpUrl, parseRedirectRules, type RedirectRule } from '@sesame/core';
import { z } from 'zod';
import { hostNameOf } from './http/host-check.js';
import { METRICS_TOKEN } from './ops/metrics-auth.js';

export interface Config {
  readonly production: boolean;
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string;
  readonly dataDir: string;
  readonly databaseUrl: string;
  /** `undefined` when none is set: generated (development) or refused (production) by `secret.ts`. */
  readonly secret: string | undefined;
  /** SESAME_SECRET_FALLBACKS: older secrets, still accepted for what they made (never for anything new); deduplicated. */
  readonly secretFallbacks: readonly string[];
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  readonly logLevel: LogLevel;
  readonly allowedRedirectUris: readonly RedirectRule[];
  readonly maxBodyBytes: number;
  readonly requestTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly tokenTtlSeconds: number;
  /** How long an outbox claim holds its rows; a crashed instance's rows go out again once it lapses. */
  readonly outboxLeaseMs: number;
  /** Pooled SMTP connections; the outbox worker keeps one fewer sends in flight. */
  readonly smtpConnections: number;
  /** How long an auth request (with its emails and timeline) is kept after it expires; 0 = swept at once. */
  readonly retentionSeconds: number;
  /** Pause between two passes of the expiry sweeper (a pass itself runs batch after batch until caught up). */
  readonly sweepIntervalMs: number;
  /** SESAME_ALLOWED_HOSTS: more `Host` names answered (host-check.ts); `['*']` = any; undefined when unset. */
  readonly allowedHosts: readonly string[] | undefined;
  /** SESAME_METRICS_TOKEN: the bearer token `/metrics` requires; undefined = public. */
  readonly metricsToken: string | undefined;
  /** Sends a minute each API client may make unless its own budget is set (`sesame clients set-limit`). */
  readonly clientSendsPerMinute: number;
  /** Sends a minute of the whole deployment, all clients together. */
  readonly sendsPerMinute: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

interface Variable {
  readonly name: string;
  readonly default: string | undefined;
  readonly describe: string;
}

export const VARIABLES: readonly Variable[] = [
  {
    name: 'NODE_ENV',
    default: 'development',
    describe: '`production` requires SESAME_SECRET and SESAME_SMTP_URL, and allows no redirect URI by default',
  },
  { name: 'HOST', default: '127.0.0.1', describe: 'interface to listen on (0.0.0.0 to expose)' },
  { name: 'PORT', default: '8080', describe: 'TCP port of the REST API' },
  {
    name: 'SESAME_PUBLIC_URL',
    default: 'http://HOST:PORT',
    describe:
      'public base URL: token issuer, printed URLs, OpenAPI document, base of the dashboard sign-in links (in canonical form, without credentials, query or fragment)',
  },
  { name: 'SESAME_DATA_DIR', default: '.sesame', describe: 'where the development secret (and by default the SQLite file) are kept' },
  {
    name: 'SESAME_DATABASE_URL',
    default: undefined,
    describe: 'file:PATH for SQLite, postgres://… for PostgreSQL (default: file:./<SESAME_DATA_DIR>/sesame.db)',
  },
  {
    name: 'SESAME_SECRET',
    default: undefined,
    describe: 'server secret, at least 32 characters; required in production, generated once in development',
  },
  {
    name: 'SESAME_SECRET_FALLBACKS',
    default: undefined,
    describe:
      'comma-separated older server secrets (32+ characters each) to rotate without an outage: what they signed, hashed or sealed (tokens, client secrets, queued mail, open sign-ins, admin sessions) is still accepted, nothing new is made with them; remove one once its tokens and sign-ins have expired',
  },
  { name: 'SESAME_SMTP_URL', default: undefined, describe: 'smtp(s)://user:pass@host:port; unset = mail goes to the dev inbox' },
  {
    name: 'SESAME_SMTP_CONNECTIONS',
    default: '5',
    describe:
      'SMTP connections kept open to the relay; the outbox worker sends on one fewer at once (raise it when bursts of sign-ins queue mail)',
  },
  { name: 'SESAME_MAIL_FROM', default: 'Sesame <no-reply@localhost>', describe: 'From address of sign-in emails' },
  { name: 'SESAME_LOG_LEVEL', default: 'info', describe: `pino level: ${LOG_LEVELS.join(', ')}` },
  {
    name: 'SESAME_ALLOWED_REDIRECT_URIS',
    default: '',
    describe: 'comma-separated magic-link URIs added to the policy; a trailing * makes a prefix rule',
  },
  { name: 'SESAME_MAX_BODY_BYTES', default: '65536', describe: 'largest request body accepted (413 above)' },
  { name: 'SESAME_REQUEST_TIMEOUT_MS', default: '15000', describe: 'time allowed to receive a whole request' },
  {
    name: 'SESAME_SHUTDOWN_TIMEOUT_MS',
    default: '10000',
    describe: 'on SIGTERM, how long in-flight requests may take before connections are cut',
  },
  { name: 'SESAME_TOKEN_TTL_SECONDS', default: '3600', describe: 'lifetime of access tokens from /oauth/token' },
  {
    name: 'SESAME_OUTBOX_LEASE_MS',
    default: '120000',
    describe:
      'how long an outbox worker holds the emails it claimed; mail claimed by a crashed instance is sent by another once this lapses (one send may take half of it, at most 60 s)',
  },
  {
    name: 'SESAME_RETENTION_SECONDS',
    default: '86400',
    describe:
      "how long an expired auth request, its emails and delivery timeline are kept (the dashboard's activity view) before the sweeper deletes them; 0 = as soon as it expires",
  },
  {
    name: 'SESAME_CLIENT_SENDS_PER_MINUTE',
    default: '1000',
    describe:
      'emails (sends and resends) each API client may request a minute, unless set per client (`sesame clients set-limit`); over it: 429 SEND_LIMIT_EXCEEDED',
  },
  {
    name: 'SESAME_SENDS_PER_MINUTE',
    default: '20000',
    describe: 'emails the whole deployment may send a minute, all clients together (a bound on mail volume and disk growth)',
  },
  {
    name: 'SESAME_ALLOWED_HOSTS',
    default: undefined,
    describe:
      'comma-separated host names answered besides the SESAME_PUBLIC_URL host and localhost, 127.0.0.1, [::1] (other Host headers get 421 MISDIRECTED_REQUEST); * = any host. Unset in production: any host',
  },
  {
    name: 'SESAME_METRICS_TOKEN',
    default: undefined,
    describe: 'bearer token (16+ characters) that GET /metrics then requires; unset = /metrics is public',
  },
  {
    name: 'SESAME_SWEEP_INTERVAL_MS',
    default: '60000',
    describe: 'pause between two passes of the expiry sweeper (a pass deletes in batches of 500 until caught up)',
  },
];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nRun \`sesame --help\` for the list of variables.`);
  }
}

const integer = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`));

/**
 * The public URL becomes the token issuer and the base of the dashboard's emailed sign-in links,
 * where paths are appended to it: it must pass the same canonical-URL check as a magic link URI
 * (core's `canonicalHttpUrl`), and carry no query.
 */
const publicUrl = () =>
  z.string().superRefine((value, ctx) => {
    const checked = canonicalHttpUrl(value);
    const problem = !checked.ok
      ? checked.problem
      : value.includes('?')
        ? 'must not have a query (paths such as /admin/verify are appended to it)'
        : null;
    if (problem !== null) ctx.addIssue({ code: 'custom', message: `SESAME_PUBLIC_URL ${problem}` });
  });

const envSchema = z.object({
  NODE_ENV: z.string(),
  HOST: z.string().min(1, 'HOST must not be empty'),
  PORT: integer('PORT', 0, 65535),
  SESAME_PUBLIC_URL: publicUrl().optional(),
  SESAME_DATA_DIR: z.string().min(1, 'SESAME_DATA_DIR must not be empty'),
  SESAME_DATABASE_URL: z
    .string()
    .refine((v) => /^(file:|postgres(ql)?:\/\/)/.test(v), 'SESAME_DATABASE_URL must start with file: or postgres://')
    .optional(),
  SESAME_SECRET: z.string().min(32, 'SESAME_SECRET must be at least 32 characters').optional(),
  // Entries are never echoed: a message names the entry by its position only.
  SESAME_SECRET_FALLBACKS: z
    .string()
    .transform((v) => v.split(',').map((entry) => entry.trim()))
    .superRefine((entries, ctx) => {
      entries.forEach((entry, i) => {
        if (entry.length < 32)
          ctx.addIssue({ code: 'custom', message: `SESAME_SECRET_FALLBACKS entry ${i + 1} must be at least 32 characters` });
      });
    })
    .optional(),
  SESAME_SMTP_URL: z
    .string()
    .refine((v) => /^smtps?:\/\/[^\s]+$/.test(v), 'SESAME_SMTP_URL must look like smtp://user:pass@host:port or smtps://…')
    .optional(),
  // Past ~100 a relay is more likely to refuse connections than to deliver faster.
  SESAME_SMTP_CONNECTIONS: integer('SESAME_SMTP_CONNECTIONS', 1, 100),
  SESAME_MAIL_FROM: z.string().min(3, 'SESAME_MAIL_FROM must be an address such as "App <no-reply@example.com>"'),
  SESAME_LOG_LEVEL: z.enum(LOG_LEVELS, { error: `SESAME_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }),
  SESAME_ALLOWED_REDIRECT_URIS: z.string(),
  SESAME_MAX_BODY_BYTES: integer('SESAME_MAX_BODY_BYTES', 1024, 10 * 1024 * 1024),
  SESAME_REQUEST_TIMEOUT_MS: integer('SESAME_REQUEST_TIMEOUT_MS', 100, 600_000),
  SESAME_SHUTDOWN_TIMEOUT_MS: integer('SESAME_SHUTDOWN_TIMEOUT_MS', 0, 600_000),
  SESAME_TOKEN_TTL_SECONDS: integer('SESAME_TOKEN_TTL_SECONDS', 60, 86_400),
  SESAME_OUTBOX_LEASE_MS: integer('SESAME_OUTBOX_LEASE_MS', 1_000, 3_600_000),
  // Up to a year: the tables then hold a year of sign-ins, which is the operator's call.
  SESAME_RETENTION_SECONDS: integer('SESAME_RETENTION_SECONDS', 0, 366 * 86_400),
  // Below 100 ms the sweeper would mostly run empty passes; above a day expired rows pile up.
  SESAME_SWEEP_INTERVAL_MS: integer('SESAME_SWEEP_INTERVAL_MS', 100, 86_400_000),
  SESAME_ALLOWED_HOSTS: z
    .string()
    .transform((v) => v.split(',').map((name) => name.trim().toLowerCase()))
    .refine(
      (names) => names.every((name) => name === '*' || hostNameOf(name) === name),
      'SESAME_ALLOWED_HOSTS must be comma-separated host names without ports (e.g. "sesame.internal,192.0.2.10,[2001:db8::1]"), or *',
    )
    .optional(),
  SESAME_METRICS_TOKEN: z
    .string()
    .regex(METRICS_TOKEN, 'SESAME_METRICS_TOKEN must be at least 16 characters of A-Z a-z 0-9 - . _ ~ + /')
    .optional(),
  SESAME_CLIENT_SENDS_PER_MINUTE: integer('SESAME_CLIENT_SENDS_PER_MINUTE', 1, 1_000_000),
  SESAME_SENDS_PER_MINUTE: integer('SESAME_SENDS_PER_MINUTE', 1, 10_000_000),
});

/** Reads and validates the environment; throws `ConfigError` listing every bad value at once. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const raw: Record<string, string | undefined> = {};
  for (const variable of VARIABLES) {
    const given = env[variable.name];
    // An empty variable means "not set": shells and .env files often leave them blank.
    raw[variable.name] = given === undefined || given === '' ? variable.default : given;
  }
  if (raw.SESAME_PUBLIC_URL === 'http://HOST:PORT') raw.SESAME_PUBLIC_URL = undefined;

  const parsed = envSchema.safeParse(raw);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
  let allowedRedirectUris: RedirectRule[] = [];
  try {
    allowedRedirectUris = parseRedirectRules(raw.SESAME_ALLOWED_REDIRECT_URIS ?? '');
  } catch (error) {
    problems.push(`SESAME_ALLOWED_REDIRECT_URIS: ${error instanceof Error ? error.message : 'invalid'}`);
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);

  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const hostForUrl = e.HOST === '0.0.0.0' || e.HOST === '::' ? '127.0.0.1' : e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST;
  return {
    production,
    host: e.HOST,
    port: e.PORT,
    publicUrl: (e.SESAME_PUBLIC_URL ?? `http://${hostForUrl}:${e.PORT}`).replace(/\/+$/, ''),
    dataDir: e.SESAME_DATA_DIR,
    databaseUrl:
      e.SESAME_DATABASE_URL ?? `file:${e.SESAME_DATA_DIR.startsWith('/') ? '' : './'}${e.SESAME_DATA_DIR.replace(/\/+$/, '')}/sesame.db`,
    secret: e.SESAME_SECRET,
    // The current secret is tried first anyway; a copy of it (or of another entry) would only cost a second try.
    secretFallbacks: [...new Set(e.SESAME_SECRET_FALLBACKS ?? [])].filter((entry) => entry !== e.SESAME_SECRET),
    smtpUrl: e.SESAME_SMTP_URL,
    mailFrom: e.SESAME_MAIL_FROM,
    logLevel: e.SESAME_LOG_LEVEL,
    allowedRedirectUris,
    maxBodyBytes: e.SESAME_MAX_BODY_BYTES,
    requestTimeoutMs: e.SESAME_REQUEST_TIMEOUT_MS,
    shutdownTimeoutMs: e.SESAME_SHUTDOWN_TIMEOUT_MS,
    tokenTtlSeconds: e.SESAME_TOKEN_TTL_SECONDS,
    outboxLeaseMs: e.SESAME_OUTBOX_LEASE_MS,
    smtpConnections: e.SESAME_SMTP_CONNECTIONS,
    retentionSeconds: e.SESAME_RETENTION_SECONDS,
    sweepIntervalMs: e.SESAME_SWEEP_INTERVAL_MS,
    allowedHosts: e.SESAME_ALLOWED_HOSTS,
    metricsToken: e.SESAME_METRICS_TOKEN,
    clientSendsPerMinute: e.SESAME_CLIENT_SENDS_PER_MINUTE,
    sendsPerMinute: e.SESAME_SENDS_PER_MINUTE,
  };
}

/** The environment part of `sesame --help`. */
export function environmentHelp(): string {
  const width = Math.max(...VARIABLES.map((v) => v.name.length));
  return VARIABLES.map(
    (v) =>
      `  ${v.name.padEnd(width)}  ${v.describe}${v.default === undefined ? '' : ` (default: ${v.default === '' ? 'empty' : v.default})`}`,
  ).join('\n');
}
