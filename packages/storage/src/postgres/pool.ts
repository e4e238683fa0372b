/**
 * The connection pool of one PostgreSQL store: its options, the limits every connection starts
 * with, and how values come back (BIGINT as numbers, BYTEA as Uint8Array). A database that is
 * down, restarting or too slow must fail a call within these limits, never hang it.
 */
import pg from 'pg';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database?…`; libpq-style query parameters are honoured. */
  readonly url: string;
  /** Connections this store may hold. Default 10. */
  readonly poolSize?: number;
  /** Longest wait for a connection (a new one, or a free one from a busy pool). Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Server-side `statement_timeout` of every connection. Default 5000. */
  readonly statementTimeoutMs?: number;
  /** Client-side limit on one query's answer (a dead socket, a frozen server). Default statementTimeoutMs + 1000. */
  readonly queryTimeoutMs?: number;
  /** An idle connection is closed after this long. Default 10000. */
  readonly idleTimeoutMs?: number;
  /**
   * How long `migrate()` may take, waiting for another instance's migration included; it runs
   * outside the per-statement limits above, which a schema change on a big table would exceed.
   * Default 600000 (10 minutes).
   */
  readonly migrationTimeoutMs?: number;
  /** Shown in `pg_stat_activity`. Default `sesame`. */
  readonly applicationName?: string;
}

const DEFAULTS = {
  poolSize: 10,
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 5_000,
  idleTimeoutMs: 10_000,
  migrationTimeoutMs: 600_000,
} as const;

/** `migrate()`'s time limit, at least 1 ms. */
export function migrationTimeout(options: PostgresStoreOptions): number {
  return Math.max(1, Math.trunc(options.migrationTimeoutMs ?? DEFAULTS.migrationTimeoutMs));
}

// Type parsers per pool, never the process-wide pg.types registry, which other code may share.

const INT8_OID = 20;
const BYTEA_OID = 17;

/** BIGINT milliseconds (and count(*)) as JS numbers; anything past 2^53 is a bug, not a time. */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`A BIGINT outside the safe integer range: ${text}`);
  return value;
}

/** BYTEA in the hex text format as a plain Uint8Array (a copy, never a Node Buffer). */
function parseBytea(text: string): Uint8Array {
  if (!text.startsWith('\\x')) throw new Error('Expected BYTEA in hex format (bytea_output = hex).');
  return Uint8Array.from(Buffer.from(text.slice(2), 'hex'));
}

const builtinParser = pg.types.getTypeParser.bind(pg.types) as (oid: number, format?: string) => (text: string) => unknown;
const TYPES = {
  getTypeParser: ((oid: number, format?: string) => {
    if (format === undefined || format === 'text') {
      if (oid === INT8_OID) return parseInt8;
      if (oid === BYTEA_OID) return parseBytea;
    }
    return builtinParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** The store's connections; once closed, a failure is final (no retry on a pool that is gone). */
export interface Connections {
  connect(): Promise<pg.PoolClient>;
  readonly closed: boolean;
  /** Ends the pool; a second call does nothing. */
  close(): Promise<void>;
}

export function openPool(options: PostgresStoreOptions): Connections {
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? DEFAULTS.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    idleTimeoutMillis: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    statement_timeout: statementTimeoutMs,
    query_timeout: options.queryTimeoutMs ?? statementTimeoutMs + 1_000,
    // A transaction left open by a frozen instance must not hold its address locks for long.
    idle_in_transaction_session_timeout: Math.max(2 * statementTimeoutMs, 10_000),
    application_name: options.applicationName ?? 'sesame',
    keepAlive: true,
    types: TYPES,
  });
  // An idle connection that breaks (server restart) is dropped by the pool; the next call opens a
  // new one. Without a listener the 'error' event would end the process.
  pool.on('error', () => undefined);
  let closed = false;
  return {
    connect: () => pool.connect(),
    get closed() {
      return closed;
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
