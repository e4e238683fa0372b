/**
 * The Store for several Sesame instances on one PostgreSQL database (node-postgres, one pool per
 * store). It behaves exactly like the SQLite store (../sqlite/store.ts): the same outcomes, the
 * same retry-after arithmetic, the same conformance suite. Every guarantee is decided inside the
 * database, so any number of instances agree:
 *
 * - Single use and attempt caps: one guarded `UPDATE … RETURNING` per verify. Under READ
 *   COMMITTED a racing UPDATE waits for the row and re-checks its WHERE on the committed version,
 *   so two verifies of one code yield one success and concurrent wrong codes stop at the cap.
 * - Per-address windows (emails per address, failed codes per address): the transaction first
 *   takes `pg_advisory_xact_lock` on the address, then counts in a fresh statement (a fresh
 *   snapshot that already sees the previous holder's commit), then writes. Checks and the writes
 *   they guard are thus serialised per address, and the caps are exact under concurrency.
 * - Outbox claims: `FOR UPDATE SKIP LOCKED` plus a lease, so workers never wait on each other and
 *   never share a row; an expired lease may be taken over.
 * - Migrations: one transaction under a global advisory lock; instances starting together queue.
 *
 * Lock order is always address lock, then auth request row, then outbox rows, so the
 * transactions above cannot deadlock one another; the rare deadlock with a sweep is retried.
 *
 * Bounded waits: a connection timeout, a server-side `statement_timeout` and a client-side query
 * timeout. A database that is down, restarting or too slow fails the call with
 * `StoreUnavailableError` (never a hang); the pool reconnects by itself on the next call.
 */
import pg from 'pg';
import type {
  ClaimOutboxCommand,
  ConsumeLinkCommand,
  ConsumeOtpCommand,
  ConsumeResult,
  CreateAuthRequestCommand,
  LimitResult,
  OutboxClaim,
  OutboxRetryCommand,
  OutboxSettleCommand,
  PasswordlessType,
  ReissueCommand,
  ReissueResult,
  SendBudget,
  SendLimitScope,
  Store,
  SweepCommand,
  SweepResult,
  TemplateType,
  WindowLimit,
} from '@sesame/core';
import { StoreUnavailableError } from '../errors.js';
import { OTP_FAILURE_RETENTION_MS, SEND_LOG_RETENTION_MS } from '../retention.js';
import { postgresAdminMethods } from './admin.js';
import { postgresClientMethods } from './clients.js';
import { budgetRetryAfter, budgetWindow, SEND_BUDGET_RETENTION_MS } from '../budgets.js';
import { POSTGRES_LATEST_VERSION, POSTGRES_MIGRATIONS } from './migrations.js';
import {
  AUTH_REQUEST_COLUMNS,
  toDeliveryEvent,
  toDevInboxMessage,
  toRecord,
  parseVariables,
  type AuthRequestRow,
  type DeliveryEventRow,
  type DevInboxRow,
} from '../rows.js';

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
/** Deadlocks and serialisation failures abort a transaction whole: running it again is safe. */
const MAX_TRIES = 3;

interface ClaimRow {
  id: string;
  auth_request_id: string;
  sealed_payload: Uint8Array | null;
  attempts: number;
  created_at: number;
  next_attempt_at: number;
  email: string;
  template: TemplateType;
  type: PasswordlessType;
  magiclink_auth_uri: string | null;
  template_variables: string;
  expires_at: number;
  client_id: string;
}

/** The terminal outcomes a failed consume or reissue is classified into. */
type Terminal = 'not_found' | 'expired' | 'already_used' | 'locked';

/** A send budget at its max: thrown to roll back the budgets already counted in the transaction. */
class BudgetRefused extends Error {
  constructor(
    readonly retryAfterMs: number,
    readonly scope: SendLimitScope,
  ) {
    super('send budget exhausted');
  }
}

/**
 * True, inside a statement on `outbox`, when the row's auth request belongs to a revoked client.
 * Revoking fails the client's queued emails in its own transaction; this also stops one queued
 * by a send that raced the revocation. Callers that are not API clients (the built-in admin
 * sign-in) have no `api_clients` row and are never revoked.
 */
const REVOKED_CLIENT = `EXISTS (SELECT 1 FROM auth_requests a JOIN api_clients c ON c.id = a.client_id COLLATE "C"
  WHERE a.id = outbox.auth_request_id AND c.revoked_at IS NOT NULL)`;

type Values = readonly unknown[];

interface Session {
  /** Runs one statement (prepared once per connection) and answers its rows. */
  rows<R>(text: string, values?: Values): Promise<R[]>;
  /** Runs one statement and answers how many rows it touched. */
  count(text: string, values?: Values): Promise<number>;
  /** Runs a script of several statements without parameters (migrations), with its own client-side time limit. */
  script(text: string, timeoutMs?: number): Promise<void>;
}

/** `true` for reads and writes that may run twice (the first run certainly did nothing, or nothing harmful). */
interface RunOptions {
  readonly transaction: boolean;
  readonly idempotent: boolean;
}

const TX: RunOptions = { transaction: true, idempotent: false };
const WRITE: RunOptions = { transaction: false, idempotent: false };
const READ: RunOptions = { transaction: false, idempotent: true };

// ---- types: per pool, never the process-wide pg.types registry ----------------------------------

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

// ---- errors -------------------------------------------------------------------------------------

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

/**
 * PostgreSQL text cannot hold NUL, which SQLite stores and compares like any character. No row
 * can have such a key, so a lookup by one finds nothing, as on SQLite, instead of failing.
 */
function unstorable(key: string): boolean {
  return key.includes('\u0000');
}

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

// ---- the store ----------------------------------------------------------------------------------

export function openPostgresStore(options: PostgresStoreOptions): Store {
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

  const names = new Map<string, string>();
  function named(text: string): string {
    let name = names.get(text);
    if (name === undefined) {
      name = `sesame_${names.size + 1}`;
      names.set(text, name);
    }
    return name;
  }

  function session(client: pg.PoolClient): Session {
    return {
      async rows<R>(text: string, values: Values = []) {
        const result = await client.query<R & pg.QueryResultRow>({ name: named(text), text, values: [...values] });
        return result.rows;
      },
      async count(text: string, values: Values = []) {
        const result = await client.query({ name: named(text), text, values: [...values] });
        return result.rowCount ?? 0;
      },
      async script(text: string, timeoutMs?: number) {
        if (timeoutMs === undefined) {
          await client.query(text);
          return;
        }
        // node-postgres honours a per-query `query_timeout`; its type declarations omit it.
        const config: pg.QueryConfig & { query_timeout: number } = { text, query_timeout: timeoutMs };
        await client.query(config);
      },
    };
  }

  /** One unit of work on one connection; a broken connection is destroyed, not returned to the pool. */
  async function once<T>(work: (s: Session) => Promise<T>, transaction: boolean): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw new NotStarted(error, true);
    }
    let broken: Error | undefined;
    // A checked-out connection that breaks between statements emits 'error': keep the process alive.
    const onError = (error: Error): void => {
      broken = error;
    };
    client.on('error', onError);
    const s = session(client);
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
        if (closed) throw inner;
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

  // ---- sliding windows -----------------------------------------------------------------------

  /** Serialises every window check and write for one address across all connections and instances. */
  async function lockAddress(s: Session, emailKey: string): Promise<void> {
    await s.rows("SELECT pg_advisory_xact_lock(hashtextextended('sesame:address:' || $1::text, 0))", [emailKey]);
  }

  /**
   * The events a sliding window counts ($1 the address, $2 the window start). Sends: every auth
   * request created for the address (its (email_key, created_at) index) and every resend (the
   * send log holds resends only), as in the SQLite store.
   */
  const WINDOW_EVENTS = {
    send: `SELECT created_at AS at FROM auth_requests WHERE email_key = $1::text AND created_at > $2::bigint
           UNION ALL SELECT at FROM send_log WHERE email_key = $1::text AND at > $2::bigint`,
    otpFailure: 'SELECT at FROM otp_failures WHERE email_key = $1::text AND at > $2::bigint',
  } as const;

  /**
   * Milliseconds until `limit` allows one more event for `emailKey`, or null when it allows one
   * now: the SQLite store's arithmetic, in one statement. Run it after `lockAddress`.
   */
  async function windowRetryAfter(
    s: Session,
    kind: keyof typeof WINDOW_EVENTS,
    emailKey: string,
    limit: WindowLimit,
    now: number,
  ): Promise<number | null> {
    const [row] = await s.rows<{ n: number; oldest: number | null }>(
      `WITH w AS (${WINDOW_EVENTS[kind]}),
            c AS (SELECT count(*) AS n FROM w)
       SELECT c.n, (SELECT at FROM w ORDER BY at OFFSET greatest(0, c.n - $3::bigint) LIMIT 1) AS oldest FROM c`,
      [emailKey, now - limit.windowMs, limit.max],
    );
    const n = row?.n ?? 0;
    if (n < limit.max) return null;
    const oldest = row?.oldest ?? null;
    return oldest !== null ? Math.max(1, oldest + limit.windowMs - now) : limit.windowMs;
  }

  // ---- send budgets --------------------------------------------------------------------------

  /**
   * Counts one send against every budget, in order, or throws BudgetRefused at the first one at
   * its max (the caller's transaction then rolls back the budgets counted before it). Each
   * upsert takes the budget row's lock until the transaction ends, so instances sending at once
   * queue on it and the count never overshoots. A budget at its max is locked but not rewritten.
   */
  async function countBudgets(s: Session, budgets: readonly SendBudget[], now: number): Promise<void> {
    for (const budget of budgets) {
      const window = budgetWindow(budget, now);
      const refuse = (): BudgetRefused => new BudgetRefused(budgetRetryAfter(window, now), budget.scope);
      if (budget.max <= 0) throw refuse();
      const [row] = await s.rows<{ n: number }>(
        `INSERT INTO send_budget (key, window_start, window_end, n) VALUES ($1::text, $2::bigint, $3::bigint, 1)
         ON CONFLICT (key, window_start) DO UPDATE SET n = send_budget.n + 1 WHERE send_budget.n < $4::integer
         RETURNING n`,
        [window.key, window.start, window.end, budget.max],
      );
      if (!row) throw refuse();
    }
  }

  /** `work`'s result, or the refusal of the budget that stopped it (its transaction rolled back). */
  async function withinBudgets<T>(work: () => Promise<T>, refused: (error: BudgetRefused) => T): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof BudgetRefused) return refused(error);
      throw error;
    }
  }

  // ---- auth requests -------------------------------------------------------------------------

  /** The request, when `clientId` created it: another client's request is, to it, not there. */
  async function findRow(s: Session, id: string, clientId: string | null = null, lock = false): Promise<AuthRequestRow | undefined> {
    if (unstorable(id) || (clientId !== null && unstorable(clientId))) return undefined;
    const [row] = await s.rows<AuthRequestRow>(
      `SELECT ${AUTH_REQUEST_COLUMNS} FROM auth_requests WHERE id = $1::text AND ($2::text IS NULL OR client_id = $2::text)${lock ? ' FOR NO KEY UPDATE' : ''}`,
      [id, clientId],
    );
    return row;
  }

  /** Why a request that an atomic UPDATE did not match cannot be used; null when it still can. */
  function classify(row: AuthRequestRow | undefined, now: number, maxAttempts: number): Terminal | null {
    if (!row) return 'not_found';
    if (row.consumed_at !== null || row.status === 'verified') return 'already_used';
    if (row.status === 'locked') return 'locked';
    if (row.expires_at <= now) return 'expired';
    if (row.attempts >= maxAttempts) return 'locked';
    return null;
  }

  async function createAuthRequest(command: CreateAuthRequestCommand): Promise<LimitResult> {
    const { request, email, sendLimit, budgets, now } = command;
    if (email.authRequestId !== request.id) throw new Error('The outbox email must belong to the auth request it is created with.');
    return withinBudgets<LimitResult>(
      () =>
        run(async (s): Promise<LimitResult> => {
          await lockAddress(s, request.emailKey);
          const retryAfterMs = await windowRetryAfter(s, 'send', request.emailKey, sendLimit, now);
          if (retryAfterMs !== null) return { ok: false, retryAfterMs, scope: 'address' };
          await countBudgets(s, budgets, now);
          // The request, its email and the email's first event: one statement. The send counts
          // toward the limit through the request's own row (WINDOW_EVENTS).
          await s.count(
            `WITH request AS (
           INSERT INTO auth_requests (id, client_id, email, email_key, template, type, magiclink_auth_uri, state,
             template_variables, otp_hash, link_token_hash, link_lookup, created_at, expires_at, attempts, sends, status)
           VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
             $9::text, $10::bytea, $11::bytea, $12::bytea, $13::bigint, $14::bigint, 0, 1, 'pending')
           RETURNING id),
         email AS (
           INSERT INTO outbox (id, auth_request_id, status, sealed_payload, attempts, created_at, next_attempt_at, lease_owner, lease_until)
           SELECT $15::text, id, 'queued', $16::bytea, 0, $17::bigint, $18::bigint, $19::text, $20::bigint FROM request
           RETURNING id, auth_request_id)
         INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind) SELECT id, auth_request_id, $18::bigint, 'queued' FROM email`,
            [
              request.id,
              request.clientId,
              request.email,
              request.emailKey,
              request.template,
              request.type,
              request.magiclinkAuthUri,
              request.state,
              JSON.stringify(request.templateVariables),
              request.otpHash,
              request.linkTokenHash,
              request.linkLookup,
              request.createdAt,
              request.expiresAt,
              email.id,
              email.sealedPayload,
              email.createdAt,
              now,
              email.lease?.owner ?? null,
              email.lease?.until ?? null,
            ],
          );
          return { ok: true };
        }, TX),
      (refused) => ({ ok: false, retryAfterMs: refused.retryAfterMs, scope: refused.scope }),
    );
  }

  async function consumeWithOtp(command: ConsumeOtpCommand): Promise<ConsumeResult> {
    const { id, clientId, otpHash, now, maxAttempts, addressFailureLimit } = command;
    if (unstorable(id) || unstorable(clientId)) return { outcome: 'not_found' };
    return run(async (s): Promise<ConsumeResult> => {
      // Finds the address and locks it in one round trip (email_key never changes). Another
      // client's request is not found: no lock, no attempt, no failure counted.
      const [owner] = await s.rows<{ email_key: string }>(
        `SELECT email_key, pg_advisory_xact_lock(hashtextextended('sesame:address:' || email_key, 0))::text AS locked
         FROM auth_requests WHERE id = $1::text AND client_id = $2::text`,
        [id, clientId],
      );
      if (!owner) return { outcome: 'not_found' };
      const retryAfterMs = await windowRetryAfter(s, 'otpFailure', owner.email_key, addressFailureLimit, now);
      if (retryAfterMs !== null) return { outcome: 'address_limited', retryAfterMs };

      // One statement decides: it consumes on a match, or counts the failure (and locks at the cap)
      // in SQL, and logs the failure against the address. Every SET expression sees the row as it
      // was before this UPDATE; a racing UPDATE re-checks the WHERE on the committed row.
      // `otp_hash = $2` is NULL, so false, for a request without a code. Comparing keyed digests
      // leaks nothing usable: an attacker cannot choose the digest's bytes without the secret.
      const [updated] = await s.rows<AuthRequestRow>(
        `WITH updated AS (
           UPDATE auth_requests SET
             consumed_at = CASE WHEN otp_hash = $2::bytea THEN $3::bigint ELSE consumed_at END,
             status = CASE WHEN otp_hash = $2::bytea THEN 'verified'
                           WHEN attempts + 1 >= $4::integer THEN 'locked'
                           ELSE status END,
             attempts = CASE WHEN otp_hash = $2::bytea THEN attempts ELSE attempts + 1 END
           WHERE id = $1::text AND client_id = $5::text
             AND consumed_at IS NULL AND status = 'pending' AND expires_at > $3::bigint AND attempts < $4::integer
           RETURNING ${AUTH_REQUEST_COLUMNS}),
         failure AS (
           INSERT INTO otp_failures (email_key, at) SELECT email_key, $3::bigint FROM updated WHERE status <> 'verified')
         SELECT * FROM updated`,
        [id, otpHash, now, maxAttempts, clientId],
      );
      if (updated) {
        if (updated.status === 'verified') return { outcome: 'verified', request: toRecord(updated, now) };
        return { outcome: 'invalid_credential', attemptsLeft: Math.max(0, maxAttempts - updated.attempts) };
      }
      // A fresh statement sees what beat us. Every way out of 'pending' is final and attempts only
      // grow, so a request the UPDATE refused is still refused here.
      const terminal = classify(await findRow(s, id, clientId), now, maxAttempts);
      if (terminal === null) throw new Error(`Auth request ${id} matched no consume condition yet is usable.`);
      return { outcome: terminal };
    }, TX);
  }

  async function consumeWithLink(command: ConsumeLinkCommand): Promise<ConsumeResult> {
    const { id, clientId, linkTokenHash, now, maxAttempts } = command;
    if (unstorable(id) || unstorable(clientId)) return { outcome: 'not_found' };
    return run(async (s): Promise<ConsumeResult> => {
      const [updated] = await s.rows<AuthRequestRow>(
        `UPDATE auth_requests SET consumed_at = $3::bigint, status = 'verified'
         WHERE id = $1::text AND client_id = $5::text AND link_token_hash = $2::bytea
           AND consumed_at IS NULL AND status = 'pending' AND expires_at > $3::bigint AND attempts < $4::integer
         RETURNING ${AUTH_REQUEST_COLUMNS}`,
        [id, linkTokenHash, now, maxAttempts, clientId],
      );
      if (updated) return { outcome: 'verified', request: toRecord(updated, now) };
      const row = await findRow(s, id, clientId);
      const terminal = classify(row, now, maxAttempts);
      if (terminal !== null) return { outcome: terminal };
      // Still usable, so the digest differed. A wrong link burns nothing: attempts count codes only.
      return { outcome: 'invalid_credential', attemptsLeft: Math.max(0, maxAttempts - (row?.attempts ?? 0)) };
    }, WRITE);
  }

  async function reissueCredentials(command: ReissueCommand): Promise<ReissueResult> {
    const { id, clientId, digests, email, sendLimit, budgets, now } = command;
    if (email.authRequestId !== id) throw new Error('The outbox email must belong to the auth request it is reissued for.');
    if (unstorable(id) || unstorable(clientId)) return { outcome: 'not_found' };
    return withinBudgets<ReissueResult>(
      () =>
        run(async (s): Promise<ReissueResult> => {
          const [owner] = await s.rows<{ email_key: string }>(
            'SELECT email_key FROM auth_requests WHERE id = $1::text AND client_id = $2::text',
            [id, clientId],
          );
          if (!owner) return { outcome: 'not_found' };
          await lockAddress(s, owner.email_key);
          // Address first, then the row (the order every transaction uses): nothing can finish the
          // request between this classification and the UPDATE below.
          const row = await findRow(s, id, clientId, true);
          // A finished request answers as finished, whatever the send limit says: no send is counted.
          const terminal = classify(row, now, Number.POSITIVE_INFINITY);
          if (terminal !== null || !row) return { outcome: terminal ?? 'not_found' };
          const retryAfterMs = await windowRetryAfter(s, 'send', row.email_key, sendLimit, now);
          if (retryAfterMs !== null) return { outcome: 'send_limited', retryAfterMs, scope: 'address' };
          await countBudgets(s, budgets, now);

          // New credentials, and the old email carries dead ones: never deliver it, drop its sealed copy.
          const [updated] = await s.rows<AuthRequestRow>(
            `WITH updated AS (
           UPDATE auth_requests SET otp_hash = $2::bytea, link_token_hash = $3::bytea, link_lookup = $4::bytea, sends = sends + 1
           WHERE id = $1::text AND client_id = $6::text AND consumed_at IS NULL AND status = 'pending' AND expires_at > $5::bigint
           RETURNING ${AUTH_REQUEST_COLUMNS}),
         superseded AS (
           UPDATE outbox SET status = 'superseded', sealed_payload = NULL, lease_owner = NULL, lease_until = NULL
           WHERE auth_request_id = $1::text AND status = 'queued' AND EXISTS (SELECT 1 FROM updated)
           RETURNING id),
         events AS (
           INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind) SELECT id, $1::text, $5::bigint, 'superseded' FROM superseded)
         SELECT * FROM updated`,
            [id, digests.otpHash, digests.linkTokenHash, digests.linkLookup, now, clientId],
          );
          if (!updated) throw new Error(`Auth request ${id} was usable but could not be reissued.`);
          // A statement of its own, so the new email's 'queued' event follows the 'superseded' ones.
          await s.count(
            `WITH email AS (
           INSERT INTO outbox (id, auth_request_id, status, sealed_payload, attempts, created_at, next_attempt_at, lease_owner, lease_until)
           VALUES ($1::text, $2::text, 'queued', $3::bytea, 0, $4::bigint, $5::bigint, $7::text, $8::bigint)
           RETURNING id, auth_request_id),
         queued AS (
           INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind) SELECT id, auth_request_id, $5::bigint, 'queued' FROM email)
         INSERT INTO send_log (email_key, at) VALUES ($6::text, $5::bigint)`,
            [
              email.id,
              id,
              email.sealedPayload,
              email.createdAt,
              now,
              updated.email_key,
              email.lease?.owner ?? null,
              email.lease?.until ?? null,
            ],
          );
          return { outcome: 'reissued', request: toRecord(updated, now) };
        }, TX),
      (refused) => ({ outcome: 'send_limited', retryAfterMs: refused.retryAfterMs, scope: refused.scope }),
    );
  }

  async function sweepExpired(command: SweepCommand): Promise<SweepResult> {
    const batchSize = Math.max(0, Math.trunc(command.batchSize));
    const sendLogBefore = command.sendLogBefore ?? command.now - SEND_LOG_RETENTION_MS;
    return run(async (s) => {
      // SKIP LOCKED: sweepers of several instances take disjoint batches and never wait on each other.
      const ids = (
        await s.rows<{ id: string }>(
          // A request created within a send window still counts toward the limit: it stays.
          `SELECT id FROM auth_requests WHERE expires_at < $1::bigint AND created_at < $3::bigint
           ORDER BY expires_at LIMIT $2::bigint FOR UPDATE SKIP LOCKED`,
          [command.expiredBefore, batchSize, sendLogBefore],
        )
      ).map((row) => row.id);
      // Their outbox rows and delivery events go with them (ON DELETE CASCADE).
      if (ids.length > 0) await s.count('DELETE FROM auth_requests WHERE id = ANY($1::text[])', [ids]);
      const sendLog = await s.count(
        'DELETE FROM send_log WHERE ctid = ANY (ARRAY(SELECT ctid FROM send_log WHERE at < $1::bigint LIMIT $2::bigint))',
        [sendLogBefore, batchSize],
      );
      const otpFailures = await s.count(
        'DELETE FROM otp_failures WHERE ctid = ANY (ARRAY(SELECT ctid FROM otp_failures WHERE at < $1::bigint LIMIT $2::bigint))',
        [command.otpFailuresBefore ?? command.now - OTP_FAILURE_RETENTION_MS, batchSize],
      );
      // Budget windows over for a day, and admin sessions past their expiry: neither is read again.
      await s.count(
        `DELETE FROM send_budget WHERE (key, window_start) IN
           (SELECT key, window_start FROM send_budget WHERE window_end < $1::bigint LIMIT $2::bigint FOR UPDATE SKIP LOCKED)`,
        [command.now - SEND_BUDGET_RETENTION_MS, batchSize],
      );
      await s.count(
        'DELETE FROM admin_sessions WHERE id_hash IN (SELECT id_hash FROM admin_sessions WHERE expires_at <= $1::bigint LIMIT $2::bigint)',
        [command.now, batchSize],
      );
      return { authRequests: ids.length, sendLog, otpFailures };
    }, TX);
  }

  // ---- outbox --------------------------------------------------------------------------------

  async function claimOutbox(command: ClaimOutboxCommand): Promise<OutboxClaim[]> {
    const { owner, now, leaseMs, limit } = command;
    const rows = await run(
      (s) =>
        // A live lease belongs to another worker; an expired one was abandoned and may be taken
        // over. SKIP LOCKED: a row another claimer is taking right now is simply not ours.
        s.rows<ClaimRow>(
          `WITH picked AS (
             SELECT id FROM outbox
             WHERE status = 'queued' AND next_attempt_at <= $2::bigint AND (lease_until IS NULL OR lease_until <= $2::bigint)
               AND NOT ${REVOKED_CLIENT}
             ORDER BY next_attempt_at, id
             LIMIT $4::bigint
             FOR UPDATE SKIP LOCKED),
           claimed AS (
             UPDATE outbox SET lease_owner = $1::text, lease_until = $3::bigint
             FROM picked WHERE outbox.id = picked.id
             RETURNING outbox.id, outbox.auth_request_id, outbox.sealed_payload, outbox.attempts, outbox.created_at, outbox.next_attempt_at)
           SELECT claimed.*, a.email, a.template, a.type, a.magiclink_auth_uri, a.template_variables, a.expires_at, a.client_id
           FROM claimed JOIN auth_requests a ON a.id = claimed.auth_request_id`,
          [owner, now, now + leaseMs, Math.max(0, Math.trunc(limit))],
        ),
      WRITE,
    );
    rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return rows.map((row) => ({
      id: row.id,
      authRequestId: row.auth_request_id,
      sealedPayload: row.sealed_payload ?? new Uint8Array(),
      attempts: row.attempts,
      createdAt: row.created_at,
      request: {
        email: row.email,
        template: row.template,
        type: row.type,
        magiclinkAuthUri: row.magiclink_auth_uri,
        templateVariables: parseVariables(row.template_variables),
        expiresAt: row.expires_at,
        clientId: row.client_id,
      },
    }));
  }

  /**
   * Completion calls succeed only for the worker named in `lease_owner`. An expired lease that no
   * one took over is still honoured: the email was handled, and refusing would resend it.
   */
  async function recordDeliveryAttempt(command: OutboxSettleCommand): Promise<boolean> {
    const changed = await run(
      (s) =>
        s.count(
          `WITH attempt AS (
             UPDATE outbox SET attempts = attempts + 1
             WHERE id = $1::text AND lease_owner = $2::text AND status = 'queued' AND NOT ${REVOKED_CLIENT}
             RETURNING id, auth_request_id, attempts)
           INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind, attempt, detail)
           SELECT id, auth_request_id, $3::bigint, 'attempt', attempts, $4::text FROM attempt`,
          [command.id, command.owner, command.now, command.detail],
        ),
      WRITE,
    );
    return changed > 0;
  }

  async function settleOutbox(command: OutboxSettleCommand, status: 'sent' | 'failed'): Promise<boolean> {
    const changed = await run(
      (s) =>
        s.count(
          `WITH settled AS (
             UPDATE outbox SET status = $3::text, sealed_payload = NULL, lease_owner = NULL, lease_until = NULL
             WHERE id = $1::text AND lease_owner = $2::text AND status = 'queued'
             RETURNING id, auth_request_id, attempts)
           INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind, attempt, detail)
           SELECT id, auth_request_id, $4::bigint, $3::text, CASE WHEN attempts > 0 THEN attempts END, $5::text FROM settled`,
          [command.id, command.owner, status, command.now, command.detail],
        ),
      WRITE,
    );
    return changed > 0;
  }

  async function retryOutbox(command: OutboxRetryCommand): Promise<boolean> {
    const changed = await run(
      (s) =>
        s.count(
          `WITH retried AS (
             UPDATE outbox SET next_attempt_at = $3::bigint, lease_owner = NULL, lease_until = NULL
             WHERE id = $1::text AND lease_owner = $2::text AND status = 'queued'
             RETURNING id, auth_request_id, attempts)
           INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind, attempt, detail)
           SELECT id, auth_request_id, $4::bigint, 'retry_scheduled', CASE WHEN attempts > 0 THEN attempts END, $5::text FROM retried`,
          [command.id, command.owner, command.nextAttemptAt, command.now, command.detail],
        ),
      WRITE,
    );
    return changed > 0;
  }

  // ---- migrations ----------------------------------------------------------------------------

  const migrationTimeoutMs = Math.max(1, Math.trunc(options.migrationTimeoutMs ?? DEFAULTS.migrationTimeoutMs));

  async function migrate(): Promise<void> {
    await run(async (s) => {
      const long = migrationTimeoutMs + 1_000;
      await s.script(`SET LOCAL statement_timeout = ${migrationTimeoutMs}`);
      // Instances starting together queue here; each sees the work of those before it.
      await s.script("SELECT pg_advisory_xact_lock(hashtextextended('sesame:migrate', 0))", long);
      await s.script(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER NOT NULL PRIMARY KEY,
        name       TEXT    NOT NULL,
        applied_at BIGINT  NOT NULL
      )`);
      const [row] = await s.rows<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
      const version = row?.version ?? 0;
      if (version > POSTGRES_LATEST_VERSION) {
        throw new Error(`The database schema is at version ${version}, newer than this Sesame build knows (${POSTGRES_LATEST_VERSION}).`);
      }
      for (const step of POSTGRES_MIGRATIONS) {
        if (step.version <= version) continue;
        await s.script(step.sql, long);
        // The one clock read in the store: bookkeeping, not a domain time.
        await s.count('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1::integer, $2::text, $3::bigint)', [
          step.version,
          step.name,
          Date.now(),
        ]);
      }
    }, TX);
  }

  const read = <T>(work: (s: Session) => Promise<T>): Promise<T> => run(work, READ);
  const write = <T>(work: (s: Session) => Promise<T>): Promise<T> => run(work, WRITE);

  return {
    ...postgresAdminMethods({ read, write, transaction: (work) => run(work, TX) }),
    ...postgresClientMethods({ read, write, transaction: (work) => run(work, TX) }),
    migrate,
    async ready() {
      if (closed) return false;
      try {
        const [row] = await read((s) => s.rows<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations'));
        return row?.version === POSTGRES_LATEST_VERSION;
      } catch {
        // Unreachable, no schema_migrations table yet, or closed.
        return false;
      }
    },

    createAuthRequest,
    async findAuthRequest(id, now) {
      const row = await read((s) => findRow(s, id));
      return row ? toRecord(row, now) : null;
    },
    async findAuthRequestByLinkLookup(linkLookup, now) {
      const [row] = await read((s) =>
        s.rows<AuthRequestRow>(`SELECT ${AUTH_REQUEST_COLUMNS} FROM auth_requests WHERE link_lookup = $1::bytea`, [linkLookup]),
      );
      return row ? toRecord(row, now) : null;
    },
    consumeWithOtp,
    consumeWithLink,
    reissueCredentials,
    sweepExpired,

    claimOutbox,
    markOutboxSent: (command) => settleOutbox(command, 'sent'),
    markOutboxFailed: (command) => settleOutbox(command, 'failed'),
    markOutboxRetry: retryOutbox,
    recordDeliveryAttempt,
    async deliveryTimeline(authRequestId) {
      if (unstorable(authRequestId)) return [];
      const rows = await read((s) =>
        s.rows<DeliveryEventRow>(
          `SELECT outbox_id, auth_request_id, at, kind, attempt, detail FROM delivery_events
           WHERE auth_request_id = $1::text ORDER BY at, seq`,
          [authRequestId],
        ),
      );
      return rows.map(toDeliveryEvent);
    },
    async outboxDepth() {
      const [row] = await read((s) => s.rows<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE status = 'queued'"));
      return row?.n ?? 0;
    },

    async putDevInboxMessage(message) {
      await write((s) =>
        s.count(
          `INSERT INTO dev_inbox (id, outbox_id, to_address, from_address, subject, text_body, html_body, created_at)
           VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::bigint)
           ON CONFLICT (id) DO UPDATE SET outbox_id = excluded.outbox_id, to_address = excluded.to_address,
             from_address = excluded.from_address, subject = excluded.subject, text_body = excluded.text_body,
             html_body = excluded.html_body, created_at = excluded.created_at`,
          [message.id, message.outboxId, message.to, message.from, message.subject, message.text, message.html, message.createdAt],
        ),
      );
    },
    async listDevInbox(options) {
      const rows = await read((s) =>
        s.rows<DevInboxRow>(
          `SELECT id, outbox_id, to_address, from_address, subject, text_body, html_body, created_at
           FROM dev_inbox ORDER BY created_at DESC, seq DESC LIMIT $1::bigint`,
          [Math.max(0, Math.trunc(options.limit))],
        ),
      );
      return rows.map(toDevInboxMessage);
    },
    async getDevInboxMessage(id) {
      if (unstorable(id)) return null;
      const [row] = await read((s) =>
        s.rows<DevInboxRow>(
          'SELECT id, outbox_id, to_address, from_address, subject, text_body, html_body, created_at FROM dev_inbox WHERE id = $1::text',
          [id],
        ),
      );
      return row ? toDevInboxMessage(row) : null;
    },

    async getSetting(key) {
      if (unstorable(key)) return null;
      const [row] = await read((s) => s.rows<{ value: string }>('SELECT value FROM settings WHERE key = $1::text', [key]));
      return row ? row.value : null;
    },
    async putSetting(key, value, now) {
      await write((s) =>
        s.count(
          `INSERT INTO settings (key, value, updated_at) VALUES ($1::text, $2::text, $3::bigint)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
          [key, value, now],
        ),
      );
    },

    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
