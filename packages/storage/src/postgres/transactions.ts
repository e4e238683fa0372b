/**
 * How the store's work meets the database: one connection per unit of work, a transaction when
 * asked, a rerun when running again is safe, and `StoreUnavailableError` when the database cannot
 * be reached or cannot answer in time.
 */
import type pg from 'pg';
import { StoreUnavailableError } from '../errors.js';
import type { Connections } from './pool.js';
import { sessionFactory, type Session } from './session.js';

/**
 * The three ways a role runs its work. Each runs again, up to three times in all, after a
 * deadlock or serialisation failure: PostgreSQL aborted it whole, so nothing of it remains.
 */
export interface Runners {
  /** Outside a transaction; also run again once on a fresh connection when a pooled one turns out broken. */
  read<T>(work: (s: Session) => Promise<T>): Promise<T>;
  /** Outside a transaction; never run again once a statement may have reached the database. */
  write<T>(work: (s: Session) => Promise<T>): Promise<T>;
  /** In one transaction (READ COMMITTED, PostgreSQL's default); also run again once when its BEGIN meets a broken pooled connection. */
  transaction<T>(work: (s: Session) => Promise<T>): Promise<T>;
}

/** Deadlocks and serialisation failures abort a transaction whole: running it again is safe. */
const MAX_TRIES = 3;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * The database cannot be reached or cannot answer in time: a network error, a connection that
 * broke or timed out, SQLSTATE class 08 (connection), 53 (insufficient resources: too many
 * connections, disk full), 57P0x (shutting down, starting up), 57014 (statement timeout).
 */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof AggregateError && error.errors.some(isConnectionFailure)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code))
      return code.startsWith('08') || code.startsWith('53') || code.startsWith('57P') || code === '57014' || code === '55P03';
  }
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Connection ended/i.test(
    error.message,
  );
}

/** A deadlock (40P01) or serialisation failure (40001). */
function retryable(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return code === '40P01' || code === '40001';
}

function translate(error: unknown): unknown {
  if (error instanceof StoreUnavailableError || !isConnectionFailure(error)) return error;
  const detail = error instanceof Error && error.message !== '' ? error.message : String((error as { code?: unknown }).code ?? error);
  return new StoreUnavailableError(`PostgreSQL is unavailable: ${detail}`, { cause: error });
}

/** A failure before the work's first statement ran: nothing was done. */
class NotStarted extends Error {
  constructor(
    readonly inner: unknown,
    /** Connecting failed (rather than the first statement on a pooled connection). */
    readonly connecting: boolean,
  ) {
    super('failed before any statement ran');
  }
}

interface RunOptions {
  readonly transaction: boolean;
  /** A read or a write that may run twice (the first run certainly did nothing, or nothing harmful). */
  readonly idempotent: boolean;
}

const TX: RunOptions = { transaction: true, idempotent: false };
const WRITE: RunOptions = { transaction: false, idempotent: false };
const READ: RunOptions = { transaction: false, idempotent: true };

export function runners(connections: Connections): Runners {
  const sessionOf = sessionFactory();

  /** One unit of work on one connection; a broken connection is destroyed, not returned to the pool. */
  async function once<T>(work: (s: Session) => Promise<T>, transaction: boolean): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await connections.connect();
    } catch (error) {
      throw new NotStarted(error, true);
    }
    let broken: Error | undefined;
    // A checked-out connection that breaks between statements emits 'error': keep the process alive.
    const onError = (error: Error): void => {
      broken = error;
    };
    client.on('error', onError);
    const s = sessionOf(client);
    try {
      if (!transaction) return await work(s);
      try {
        await client.query('BEGIN');
      } catch (error) {
        throw new NotStarted(error, false);
      }
      try {
        const result = await work(s);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        if (!isConnectionFailure(error)) {
          await client.query('ROLLBACK').catch((rollback: unknown) => {
            broken = rollback instanceof Error ? rollback : new Error(String(rollback));
          });
        }
        throw error;
      }
    } catch (error) {
      const inner = error instanceof NotStarted ? error.inner : error;
      if (isConnectionFailure(inner)) broken = inner instanceof Error ? inner : new Error(String(inner));
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken ?? false);
    }
  }

  async function run<T>(work: (s: Session) => Promise<T>, how: RunOptions): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once(work, how.transaction);
      } catch (error) {
        const notStarted = error instanceof NotStarted ? error : undefined;
        const inner = notStarted ? notStarted.inner : error;
        if (connections.closed) throw inner;
        // A connection the server closed while it sat in the pool fails at its first use: run
        // again, once, on a fresh one when that use did nothing (BEGIN) or nothing that matters
        // twice (a read). A failure to connect at all is not retried: the database is down, and
        // the caller hears so at once rather than after a second timeout.
        const stale =
          attempt === 1 && isConnectionFailure(inner) && !notStarted?.connecting && (notStarted !== undefined || how.idempotent);
        if (attempt < MAX_TRIES && (retryable(inner) || stale)) continue;
        throw translate(inner);
      }
    }
  }

  return {
    read: (work) => run(work, READ),
    write: (work) => run(work, WRITE),
    transaction: (work) => run(work, TX),
  };
}
