/**
 * Sesame inside another Node program. The configuration is what `sesame start` would read (the
 * variables of docs/CONFIGURATION.md, from `env`, default `process.env`), with typed options
 * overriding single variables. The options go through the same validation and derived defaults
 * (a port changes the public URL, a data directory the SQLite path), so a program and the CLI
 * can never disagree about what a setting means. Then `startSesame`: the database is migrated,
 * mail is delivered, and the HTTP server listens until `close()`.
 */
import { loadConfig, type Config, type LogLevel } from './config.js';
import { startSesame, type RunningSesame, type StartOptions } from './server.js';

export interface CreateServerOptions extends StartOptions {
  /** Where the SESAME_* (and HOST, PORT, NODE_ENV) variables are read; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** PORT; 0 picks a free port (`url` and `port` then say which). */
  readonly port?: number;
  /** HOST, the interface to listen on. */
  readonly host?: string;
  /** SESAME_PUBLIC_URL. */
  readonly publicUrl?: string;
  /** SESAME_DATA_DIR: the development secret and, by default, the SQLite file. */
  readonly dataDir?: string;
  /** SESAME_DATABASE_URL: `file:PATH` (SQLite) or `postgres://…`. */
  readonly databaseUrl?: string;
  /** SESAME_SECRET, at least 32 characters (required in production). */
  readonly secret?: string;
  /** SESAME_SMTP_URL; without it mail goes to the dev inbox. */
  readonly smtpUrl?: string;
  /** SESAME_MAIL_FROM. */
  readonly mailFrom?: string;
  /** SESAME_LOG_LEVEL. */
  readonly logLevel?: LogLevel;
  /** SESAME_ALLOWED_REDIRECT_URIS (a trailing `*` makes a prefix rule). */
  readonly allowedRedirectUris?: readonly string[];
}

export interface SesameServer extends RunningSesame {
  /** The validated configuration it runs with. */
  readonly config: Config;
}

/** The variables the typed options stand for. */
function optionVariables(options: CreateServerOptions): Record<string, string | undefined> {
  return {
    PORT: options.port?.toString(),
    HOST: options.host,
    SESAME_PUBLIC_URL: options.publicUrl,
    SESAME_DATA_DIR: options.dataDir,
    SESAME_DATABASE_URL: options.databaseUrl,
    SESAME_SECRET: options.secret,
    SESAME_SMTP_URL: options.smtpUrl,
    SESAME_MAIL_FROM: options.mailFrom,
    SESAME_LOG_LEVEL: options.logLevel,
    SESAME_ALLOWED_REDIRECT_URIS: options.allowedRedirectUris?.join(','),
  };
}

/**
 * Starts Sesame and resolves once it listens. Throws `ConfigError` (every bad value listed) before
 * anything is opened. Stop it with `close()`: graceful, as on SIGTERM, and safe to call twice.
 */
export async function createServer(options: CreateServerOptions = {}): Promise<SesameServer> {
  const env: Record<string, string | undefined> = { ...(options.env ?? process.env) };
  for (const [name, value] of Object.entries(optionVariables(options))) if (value !== undefined) env[name] = value;
  const config = loadConfig(env);
  const running = await startSesame(config, options);
  return { ...running, config };
}
