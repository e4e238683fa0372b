/**
 * The embedded default Store: one SQLite file (better-sqlite3, WAL).
 *
 * Every method that writes runs in a `BEGIN IMMEDIATE` transaction. In WAL mode a deferred
 * transaction that reads and then writes can fail with SQLITE_BUSY_SNAPSHOT without waiting;
 * IMMEDIATE takes the write lock first, so concurrent processes queue on `busy_timeout` instead,
 * and a limit check and the write it guards see the same database. The auth-request and outbox
 * writes are group-committed (./group-commit.ts): calls made in one turn of the event loop share
 * one such transaction, each in its own savepoint, with its own result.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type {
  ClaimOutboxCommand,
  ConsumeLinkCommand,
  ConsumeOtpCommand,
  ConsumeResult,
  CreateAuthRequestCommand,
  DeliveryEventKind,
  LimitResult,
  NewOutboxEmail,
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
import { OTP_FAILURE_RETENTION_MS, SEND_LOG_RETENTION_MS } from '../retention.js';
import { sqliteAdminMethods } from './admin.js';
import { sqliteClientMethods } from './clients.js';
import { startCheckpointer, type CheckpointOptions } from './checkpointer.js';
import { createConfigReadCache } from './config-cache.js';
import { createGroupCommit } from './group-commit.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';
import { budgetRetryAfter, budgetWindow, SEND_BUDGET_RETENTION_MS } from '../budgets.js';
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
import { statementCache } from './statements.js';

export interface SqliteStoreOptions {
  /** Path of the database file; its directory is created when missing. `:memory:` works for one connection. */
  readonly filename: string;
  /** How long a writer waits for another connection's transaction before failing. Default 5000. */
  readonly busyTimeoutMs?: number;
  /**
   * Who checkpoints the WAL of a database file: a background thread (default; see
   * ./checkpointer.ts), or `'on-commit'`, SQLite's default of the committing connection itself.
   */
  readonly checkpoint?: CheckpointOptions | 'on-commit';
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

interface OutboxRow {
  id: string;
  auth_request_id: string;
  sealed_payload: Buffer | null;
  attempts: number;
  created_at: number;
  next_attempt_at: number;
}

interface ClaimRequestRow {
  email: string;
  template: TemplateType;
  type: PasswordlessType;
  magiclink_auth_uri: string | null;
  template_variables: string;
  expires_at: number;
  client_id: string;
}

type Params = Record<string, unknown>;

/**
 * True, inside a statement on `outbox`, when the row's auth request belongs to a revoked client.
 * Revoking fails the client's queued emails in its own transaction; this also stops one queued
 * by a send that raced the revocation. Callers that are not API clients (the built-in admin
 * sign-in) have no `api_clients` row and are never revoked. Two primary-key lookups per row.
 */
const REVOKED_CLIENT = `EXISTS (SELECT 1 FROM auth_requests a JOIN api_clients c ON c.id = a.client_id
  WHERE a.id = outbox.auth_request_id AND c.revoked_at IS NOT NULL)`;

/** The terminal outcomes a failed consume or reissue is classified into. */
type Terminal = 'not_found' | 'expired' | 'already_used' | 'locked';

export function openSqliteStore(options: SqliteStoreOptions): Store {
  const { filename } = options;
  if (filename !== ':memory:' && filename !== '') {
    mkdirSync(dirname(filename), { recursive: true });
    // Create a new database file readable by its owner only: it holds credential digests,
    // sealed payloads and client-secret hashes. SQLite gives the -wal and -shm files the same mode.
    closeSync(openSync(filename, 'a', 0o600));
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const db = new Database(filename, { timeout: busyTimeoutMs });
  // busy_timeout first, so that switching a fresh file to WAL waits for a concurrent opener.
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL: a commit survives a process crash; only an OS crash may lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Credential digests, ids and addresses are random keys: every insert lands on a different
  // index page. SQLite's default 2 MiB page cache then rereads most of them from the OS on each
  // send; 64 MiB (taken only as the database grows) keeps a busy server's working set in memory.
  db.pragma('cache_size = -65536');
  // Savepoints (one per group-committed command) journal the pages they touch in a
  // sub-journal that SQLite spills to a temp file past 64 KiB, and a spilled one is never
  // truncated: every journaled page was then two pwrite(2)s, ~30 per send. In memory it is
  // dropped at each batch's end; its size is bounded by one batch's pages.
  db.pragma('temp_store = MEMORY');
  const onDisk = filename !== ':memory:' && filename !== '';
  const checkpointer =
    onDisk && options.checkpoint !== 'on-commit' ? startCheckpointer(db, filename, busyTimeoutMs, options.checkpoint) : null;

  const sql = statementCache(db);
  const get = (source: string, params: Params = {}): unknown => sql(source).get(params);
  const all = (source: string, params: Params = {}): unknown[] => sql(source).all(params);
  const run = (source: string, params: Params = {}): Database.RunResult => sql(source).run(params);

  function immediate<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    const transaction = db.transaction(fn);
    return (...args: A) => transaction.immediate(...args);
  }

  // The domain's write transactions go through group commit (./group-commit.ts): those asked for
  // in one turn of the event loop share one BEGIN IMMEDIATE … COMMIT, each in its own savepoint.
  const group = createGroupCommit(db);
  // Clients and settings are read on every API call and almost never written (./config-cache.ts).
  const memo = createConfigReadCache(db, ['api_clients', 'settings']);
  function grouped<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => Promise<R> {
    return (...args: A) => group.run(() => fn(...args));
  }

  // ---- sliding windows -----------------------------------------------------------------------

  /**
   * The events a sliding window counts, as a subquery on @emailKey and @since. Sends: every auth
   * request created for the address (through its (email_key, created_at) index, which the insert
   * writes anyway) and every resend (the send log holds resends only). Before, each send also
   * wrote a send-log row, a third random-key index insert per send.
   */
  const WINDOW_EVENTS = {
    send: `SELECT created_at AS at FROM auth_requests WHERE email_key = @emailKey AND created_at > @since
           UNION ALL SELECT at FROM send_log WHERE email_key = @emailKey AND at > @since`,
    otpFailure: 'SELECT at FROM otp_failures WHERE email_key = @emailKey AND at > @since',
  } as const;
  const WINDOW_COUNTS = {
    send: `SELECT (SELECT count(*) FROM auth_requests WHERE email_key = @emailKey AND created_at > @since)
                + (SELECT count(*) FROM send_log WHERE email_key = @emailKey AND at > @since) AS n`,
    otpFailure: 'SELECT count(*) AS n FROM otp_failures WHERE email_key = @emailKey AND at > @since',
  } as const;

  /**
   * Milliseconds until `limit` allows one more event for `emailKey`, or null when it allows one
   * now. An event at `at` counts while `now < at + windowMs`. With n ≥ max events in the window,
   * n − max + 1 must age out, so the wait ends when the (n − max)-th oldest (0-based) does.
   */
  function windowRetryAfter(kind: keyof typeof WINDOW_EVENTS, emailKey: string, limit: WindowLimit, now: number): number | null {
    const since = now - limit.windowMs;
    const { n } = get(WINDOW_COUNTS[kind], { emailKey, since }) as { n: number };
    if (n < limit.max) return null;
    const oldest = get(`SELECT at FROM (${WINDOW_EVENTS[kind]}) ORDER BY at LIMIT 1 OFFSET @skip`, {
      emailKey,
      since,
      skip: Math.max(0, n - limit.max),
    }) as { at: number } | undefined;
    return oldest ? Math.max(1, oldest.at + limit.windowMs - now) : limit.windowMs;
  }

  // ---- send budgets --------------------------------------------------------------------------

  /**
   * Counts one send against every budget, or against none: one conditional primary-key upsert
   * per budget, which counts only while the budget is under its max. When one is at its max the
   * budgets counted before it are given back (all inside the write lock, so no other writer sees
   * the difference) and the refusal names it, with how long until its window ends.
   */
  function takeBudgets(budgets: readonly SendBudget[], now: number): { retryAfterMs: number; scope: SendLimitScope } | null {
    for (let i = 0; i < budgets.length; i++) {
      const budget = budgets[i]!;
      const window = budgetWindow(budget, now);
      const taken =
        budget.max > 0 &&
        get(
          `INSERT INTO send_budget (key, window_start, window_end, n) VALUES (@key, @start, @end, 1)
           ON CONFLICT (key, window_start) DO UPDATE SET n = n + 1 WHERE n < @max
           RETURNING n`,
          { ...window, max: budget.max },
        ) !== undefined;
      if (!taken) {
        for (const counted of budgets.slice(0, i)) {
          const back = budgetWindow(counted, now);
          run('UPDATE send_budget SET n = n - 1 WHERE key = @key AND window_start = @start', { key: back.key, start: back.start });
        }
        return { retryAfterMs: budgetRetryAfter(window, now), scope: budget.scope };
      }
    }
    return null;
  }

  // ---- auth requests -------------------------------------------------------------------------

  function findRow(id: string): AuthRequestRow | undefined {
    return get(`SELECT ${AUTH_REQUEST_COLUMNS} FROM auth_requests WHERE id = @id`, { id }) as AuthRequestRow | undefined;
  }

  /** The request when `clientId` created it: another client's request is, to it, not there. */
  function findOwnRow(id: string, clientId: string): AuthRequestRow | undefined {
    return get(`SELECT ${AUTH_REQUEST_COLUMNS} FROM auth_requests WHERE id = @id AND client_id = @clientId`, { id, clientId }) as
      AuthRequestRow | undefined;
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

  function insertOutbox(email: NewOutboxEmail, now: number): void {
    run(
      `INSERT INTO outbox (id, auth_request_id, status, sealed_payload, attempts, created_at, next_attempt_at, lease_owner, lease_until)
       VALUES (@id, @authRequestId, 'queued', @sealedPayload, 0, @createdAt, @now, @leaseOwner, @leaseUntil)`,
      {
        id: email.id,
        authRequestId: email.authRequestId,
        sealedPayload: email.sealedPayload,
        createdAt: email.createdAt,
        now,
        leaseOwner: email.lease?.owner ?? null,
        leaseUntil: email.lease?.until ?? null,
      },
    );
    appendEvent(email.id, email.authRequestId, now, 'queued', null, null);
  }

  function appendEvent(
    outboxId: string,
    authRequestId: string,
    at: number,
    kind: DeliveryEventKind,
    attempt: number | null,
    detail: string | null,
  ): void {
    run(
      `INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind, attempt, detail)
       VALUES (@outboxId, @authRequestId, @at, @kind, @attempt, @detail)`,
      { outboxId, authRequestId, at, kind, attempt, detail },
    );
  }

  const createAuthRequest = grouped((command: CreateAuthRequestCommand): LimitResult => {
    const { request, email, sendLimit, budgets, now } = command;
    if (email.authRequestId !== request.id) throw new Error('The outbox email must belong to the auth request it is created with.');
    const retryAfterMs = windowRetryAfter('send', request.emailKey, sendLimit, now);
    if (retryAfterMs !== null) return { ok: false, retryAfterMs, scope: 'address' };
    const refused = takeBudgets(budgets, now);
    if (refused) return { ok: false, ...refused };
    run(
      `INSERT INTO auth_requests (id, client_id, email, email_key, template, type, magiclink_auth_uri, state,
         template_variables, otp_hash, link_token_hash, link_lookup, created_at, expires_at, attempts, sends, status)
       VALUES (@id, @clientId, @email, @emailKey, @template, @type, @magiclinkAuthUri, @state,
         @templateVariables, @otpHash, @linkTokenHash, @linkLookup, @createdAt, @expiresAt, 0, 1, 'pending')`,
      {
        id: request.id,
        clientId: request.clientId,
        email: request.email,
        emailKey: request.emailKey,
        template: request.template,
        type: request.type,
        magiclinkAuthUri: request.magiclinkAuthUri,
        state: request.state,
        templateVariables: JSON.stringify(request.templateVariables),
        otpHash: request.otpHash,
        linkTokenHash: request.linkTokenHash,
        linkLookup: request.linkLookup,
        createdAt: request.createdAt,
        expiresAt: request.expiresAt,
      },
    );
    // The send counts toward the limit through the request's own row (WINDOW_EVENTS).
    insertOutbox(email, now);
    return { ok: true };
  });

  const consumeWithOtp = grouped((command: ConsumeOtpCommand): ConsumeResult => {
    const { id, clientId, otpHash, now, maxAttempts, addressFailureLimit } = command;
    const owner = get('SELECT email_key FROM auth_requests WHERE id = @id AND client_id = @clientId', { id, clientId }) as
      { email_key: string } | undefined;
    if (!owner) return { outcome: 'not_found' };
    const retryAfterMs = windowRetryAfter('otpFailure', owner.email_key, addressFailureLimit, now);
    if (retryAfterMs !== null) return { outcome: 'address_limited', retryAfterMs };

    // One statement decides: it consumes on a match, or counts the failure (and locks at the cap)
    // in SQL. Every SET expression sees the row as it was before this UPDATE. `otp_hash = @otpHash`
    // is NULL, so false, for a request without a code. Comparing keyed digests with memcmp leaks
    // nothing usable: an attacker cannot choose the digest's bytes without the server secret.
    const updated = get(
      `UPDATE auth_requests SET
         consumed_at = CASE WHEN otp_hash = @otpHash THEN @now ELSE consumed_at END,
         status = CASE WHEN otp_hash = @otpHash THEN 'verified'
                       WHEN attempts + 1 >= @maxAttempts THEN 'locked'
                       ELSE status END,
         attempts = CASE WHEN otp_hash = @otpHash THEN attempts ELSE attempts + 1 END
       WHERE id = @id AND client_id = @clientId AND consumed_at IS NULL AND status = 'pending' AND expires_at > @now AND attempts < @maxAttempts
       RETURNING ${AUTH_REQUEST_COLUMNS}`,
      { id, clientId, otpHash, now, maxAttempts },
    ) as AuthRequestRow | undefined;
    if (updated) {
      if (updated.status === 'verified') return { outcome: 'verified', request: toRecord(updated, now) };
      run('INSERT INTO otp_failures (email_key, at) VALUES (@emailKey, @now)', { emailKey: updated.email_key, now });
      return { outcome: 'invalid_credential', attemptsLeft: Math.max(0, maxAttempts - updated.attempts) };
    }
    const terminal = classify(findOwnRow(id, clientId), now, maxAttempts);
    // Inside the write lock nothing can change between the UPDATE and this read.
    if (terminal === null) throw new Error(`Auth request ${id} matched no consume condition yet is usable.`);
    return { outcome: terminal };
  });

  const consumeWithLink = grouped((command: ConsumeLinkCommand): ConsumeResult => {
    const { id, clientId, linkTokenHash, now, maxAttempts } = command;
    const updated = get(
      `UPDATE auth_requests SET consumed_at = @now, status = 'verified'
       WHERE id = @id AND client_id = @clientId AND link_token_hash = @linkTokenHash
         AND consumed_at IS NULL AND status = 'pending' AND expires_at > @now AND attempts < @maxAttempts
       RETURNING ${AUTH_REQUEST_COLUMNS}`,
      { id, clientId, linkTokenHash, now, maxAttempts },
    ) as AuthRequestRow | undefined;
    if (updated) return { outcome: 'verified', request: toRecord(updated, now) };
    const row = findOwnRow(id, clientId);
    const terminal = classify(row, now, maxAttempts);
    if (terminal !== null) return { outcome: terminal };
    // Still usable, so the digest differed. A wrong link burns nothing: attempts count codes only.
    return { outcome: 'invalid_credential', attemptsLeft: Math.max(0, maxAttempts - (row?.attempts ?? 0)) };
  });

  const reissueCredentials = grouped((command: ReissueCommand): ReissueResult => {
    const { id, clientId, digests, email, sendLimit, budgets, now } = command;
    if (email.authRequestId !== id) throw new Error('The outbox email must belong to the auth request it is reissued for.');
    const row = findOwnRow(id, clientId);
    // A finished request answers as finished, whatever the send limit says: no send is counted.
    const terminal = classify(row, now, Number.POSITIVE_INFINITY);
    if (terminal !== null || !row) return { outcome: terminal ?? 'not_found' };
    const retryAfterMs = windowRetryAfter('send', row.email_key, sendLimit, now);
    if (retryAfterMs !== null) return { outcome: 'send_limited', retryAfterMs, scope: 'address' };
    const refused = takeBudgets(budgets, now);
    if (refused) return { outcome: 'send_limited', ...refused };

    const updated = get(
      `UPDATE auth_requests SET otp_hash = @otpHash, link_token_hash = @linkTokenHash, link_lookup = @linkLookup,
         sends = sends + 1
       WHERE id = @id AND client_id = @clientId AND consumed_at IS NULL AND status = 'pending' AND expires_at > @now
       RETURNING ${AUTH_REQUEST_COLUMNS}`,
      { id, clientId, now, otpHash: digests.otpHash, linkTokenHash: digests.linkTokenHash, linkLookup: digests.linkLookup },
    ) as AuthRequestRow | undefined;
    if (!updated) throw new Error(`Auth request ${id} was usable but could not be reissued.`);

    // The old email carries dead credentials: never deliver it, and drop its sealed copy.
    const superseded = all(
      `UPDATE outbox SET status = 'superseded', sealed_payload = NULL, lease_owner = NULL, lease_until = NULL
       WHERE auth_request_id = @id AND status = 'queued'
       RETURNING id`,
      { id },
    ) as { id: string }[];
    for (const old of superseded) appendEvent(old.id, id, now, 'superseded', null, null);
    insertOutbox(email, now);
    run('INSERT INTO send_log (email_key, at) VALUES (@emailKey, @now)', { emailKey: updated.email_key, now });
    return { outcome: 'reissued', request: toRecord(updated, now) };
  });

  const sweepExpired = grouped((command: SweepCommand): SweepResult => {
    const batchSize = Math.max(0, Math.trunc(command.batchSize));
    const sendLogBefore = command.sendLogBefore ?? command.now - SEND_LOG_RETENTION_MS;
    // A request created within a send window still counts toward the limit: it stays.
    const ids = (
      all(
        `SELECT id FROM auth_requests WHERE expires_at < @expiredBefore AND created_at < @sendLogBefore
         ORDER BY expires_at LIMIT @batchSize`,
        { expiredBefore: command.expiredBefore, sendLogBefore, batchSize },
      ) as { id: string }[]
    ).map((row) => row.id);
    if (ids.length > 0) {
      const list = { ids: JSON.stringify(ids) };
      run('DELETE FROM delivery_events WHERE auth_request_id IN (SELECT value FROM json_each(@ids))', list);
      run('DELETE FROM outbox WHERE auth_request_id IN (SELECT value FROM json_each(@ids))', list);
      run('DELETE FROM auth_requests WHERE id IN (SELECT value FROM json_each(@ids))', list);
    }
    const prune = (table: 'send_log' | 'otp_failures', cutoff: number): number =>
      run(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE at < @cutoff LIMIT @batchSize)`, { cutoff, batchSize })
        .changes;
    // Budget windows over for a day, and admin sessions past their expiry: neither is ever read again.
    run(
      `DELETE FROM send_budget WHERE (key, window_start) IN
         (SELECT key, window_start FROM send_budget WHERE window_end < @cutoff LIMIT @batchSize)`,
      { cutoff: command.now - SEND_BUDGET_RETENTION_MS, batchSize },
    );
    run('DELETE FROM admin_sessions WHERE id_hash IN (SELECT id_hash FROM admin_sessions WHERE expires_at <= @now LIMIT @batchSize)', {
      now: command.now,
      batchSize,
    });
    return {
      authRequests: ids.length,
      sendLog: prune('send_log', sendLogBefore),
      otpFailures: prune('otp_failures', command.otpFailuresBefore ?? command.now - OTP_FAILURE_RETENTION_MS),
    };
  });

  // ---- outbox --------------------------------------------------------------------------------

  const claimOutbox = grouped((command: ClaimOutboxCommand): OutboxClaim[] => {
    const { owner, now, leaseMs, limit } = command;
    // A live lease belongs to another worker; an expired one was abandoned and may be taken over.
    const rows = all(
      `UPDATE outbox SET lease_owner = @owner, lease_until = @leaseUntil
       WHERE id IN (
         SELECT id FROM outbox
         WHERE status = 'queued' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)
           AND NOT ${REVOKED_CLIENT}
         ORDER BY next_attempt_at, id
         LIMIT @limit)
       RETURNING id, auth_request_id, sealed_payload, attempts, created_at, next_attempt_at`,
      { owner, now, leaseUntil: now + leaseMs, limit: Math.max(0, Math.trunc(limit)) },
    ) as OutboxRow[];
    // RETURNING has no defined order.
    rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // The auth requests of the whole batch in one statement, not one lookup per row.
    const requests = new Map(
      (
        all(
          `SELECT id, email, template, type, magiclink_auth_uri, template_variables, expires_at, client_id
           FROM auth_requests WHERE id IN (SELECT value FROM json_each(@ids))`,
          { ids: JSON.stringify(rows.map((row) => row.auth_request_id)) },
        ) as (ClaimRequestRow & { id: string })[]
      ).map((request) => [request.id, request]),
    );
    return rows.map((row) => {
      const request = requests.get(row.auth_request_id);
      // outbox.auth_request_id references auth_requests (foreign keys on): it cannot be missing.
      if (!request) throw new Error(`Outbox row ${row.id} has no auth request.`);
      return {
        id: row.id,
        authRequestId: row.auth_request_id,
        sealedPayload: bytes(row.sealed_payload) ?? new Uint8Array(),
        attempts: row.attempts,
        createdAt: row.created_at,
        request: {
          email: request.email,
          template: request.template,
          type: request.type,
          magiclinkAuthUri: request.magiclink_auth_uri,
          templateVariables: parseVariables(request.template_variables),
          expiresAt: request.expires_at,
          clientId: request.client_id,
        },
      };
    });
  });

  /**
   * Completion calls succeed only for the worker named in `lease_owner`. An expired lease that no
   * one took over is still honoured: the email was handled, and refusing would resend it.
   */
  const recordDeliveryAttempt = grouped((command: OutboxSettleCommand): boolean => {
    const row = get(
      `UPDATE outbox SET attempts = attempts + 1
       WHERE id = @id AND lease_owner = @owner AND status = 'queued' AND NOT ${REVOKED_CLIENT}
       RETURNING auth_request_id, attempts`,
      { id: command.id, owner: command.owner },
    ) as { auth_request_id: string; attempts: number } | undefined;
    if (!row) return false;
    appendEvent(command.id, row.auth_request_id, command.now, 'attempt', row.attempts, command.detail);
    return true;
  });

  const settleOutbox = grouped((command: OutboxSettleCommand, status: 'sent' | 'failed'): boolean => {
    const row = get(
      `UPDATE outbox SET status = @status, sealed_payload = NULL, lease_owner = NULL, lease_until = NULL
       WHERE id = @id AND lease_owner = @owner AND status = 'queued'
       RETURNING auth_request_id, attempts`,
      { id: command.id, owner: command.owner, status },
    ) as { auth_request_id: string; attempts: number } | undefined;
    if (!row) return false;
    appendEvent(command.id, row.auth_request_id, command.now, status, row.attempts > 0 ? row.attempts : null, command.detail);
    return true;
  });

  const retryOutbox = grouped((command: OutboxRetryCommand): boolean => {
    const row = get(
      `UPDATE outbox SET next_attempt_at = @nextAttemptAt, lease_owner = NULL, lease_until = NULL
       WHERE id = @id AND lease_owner = @owner AND status = 'queued'
       RETURNING auth_request_id, attempts`,
      { id: command.id, owner: command.owner, nextAttemptAt: command.nextAttemptAt },
    ) as { auth_request_id: string; attempts: number } | undefined;
    if (!row) return false;
    appendEvent(command.id, row.auth_request_id, command.now, 'retry_scheduled', row.attempts > 0 ? row.attempts : null, command.detail);
    return true;
  });

  // ---- migrations ----------------------------------------------------------------------------

  function currentVersion(): number {
    const row = get('SELECT max(version) AS version FROM schema_migrations') as { version: number | null };
    return row.version ?? 0;
  }

  // IMMEDIATE: two processes starting together serialise here; the second sees the first's work.
  const migrate = immediate((): void => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER NOT NULL PRIMARY KEY,
      name       TEXT    NOT NULL,
      applied_at INTEGER NOT NULL
    ) STRICT`);
    const version = currentVersion();
    if (version > LATEST_VERSION) {
      throw new Error(`The database schema is at version ${version}, newer than this Sesame build knows (${LATEST_VERSION}).`);
    }
    for (const step of MIGRATIONS) {
      if (step.version <= version) continue;
      db.exec(step.sql);
      // The one clock read in the store: bookkeeping, not a domain time.
      run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @appliedAt)', {
        version: step.version,
        name: step.name,
        appliedAt: Date.now(),
      });
    }
  });

  return {
    ...sqliteAdminMethods(db),
    ...sqliteClientMethods(db, memo),
    async migrate() {
      memo.reset();
      migrate();
      return Promise.resolve();
    },
    async ready() {
      let version: number;
      try {
        version = currentVersion();
      } catch {
        // No schema_migrations table yet, or the connection is closed.
        version = -1;
      }
      return Promise.resolve(version === LATEST_VERSION);
    },

    async createAuthRequest(command) {
      return createAuthRequest(command);
    },
    async findAuthRequest(id, now) {
      const row = findRow(id);
      return Promise.resolve(row ? toRecord(row, now) : null);
    },
    async findAuthRequestByLinkLookup(linkLookup, now) {
      const row = get(`SELECT ${AUTH_REQUEST_COLUMNS} FROM auth_requests WHERE link_lookup = @linkLookup`, { linkLookup }) as
        AuthRequestRow | undefined;
      return Promise.resolve(row ? toRecord(row, now) : null);
    },
    async consumeWithOtp(command) {
      return consumeWithOtp(command);
    },
    async consumeWithLink(command) {
      return consumeWithLink(command);
    },
    async reissueCredentials(command) {
      return reissueCredentials(command);
    },
    async sweepExpired(options) {
      return sweepExpired(options);
    },

    async claimOutbox(command) {
      return claimOutbox(command);
    },
    async markOutboxSent(command) {
      return settleOutbox(command, 'sent');
    },
    async markOutboxFailed(command) {
      return settleOutbox(command, 'failed');
    },
    async markOutboxRetry(command) {
      return retryOutbox(command);
    },
    async recordDeliveryAttempt(command) {
      return recordDeliveryAttempt(command);
    },
    async deliveryTimeline(authRequestId) {
      const rows = all(
        `SELECT outbox_id, auth_request_id, at, kind, attempt, detail FROM delivery_events
         WHERE auth_request_id = @authRequestId ORDER BY at, seq`,
        { authRequestId },
      ) as DeliveryEventRow[];
      return Promise.resolve(rows.map(toDeliveryEvent));
    },
    async outboxDepth() {
      const row = get("SELECT count(*) AS n FROM outbox WHERE status = 'queued'") as { n: number };
      return Promise.resolve(row.n);
    },

    async putDevInboxMessage(message) {
      run(
        `INSERT INTO dev_inbox (id, outbox_id, to_address, from_address, subject, text_body, html_body, created_at)
         VALUES (@id, @outboxId, @to, @from, @subject, @text, @html, @createdAt)
         ON CONFLICT (id) DO UPDATE SET outbox_id = excluded.outbox_id, to_address = excluded.to_address,
           from_address = excluded.from_address, subject = excluded.subject, text_body = excluded.text_body,
           html_body = excluded.html_body, created_at = excluded.created_at`,
        { ...message },
      );
      return Promise.resolve();
    },
    async listDevInbox(options) {
      const rows = all('SELECT * FROM dev_inbox ORDER BY created_at DESC, rowid DESC LIMIT @limit', {
        limit: Math.max(0, Math.trunc(options.limit)),
      }) as DevInboxRow[];
      return Promise.resolve(rows.map(toDevInboxMessage));
    },
    async getDevInboxMessage(id) {
      const row = get('SELECT * FROM dev_inbox WHERE id = @id', { id }) as DevInboxRow | undefined;
      return Promise.resolve(row ? toDevInboxMessage(row) : null);
    },

    async getSetting(key) {
      return Promise.resolve(
        memo.read(`setting:${key}`, () => {
          const row = get('SELECT value FROM settings WHERE key = @key', { key }) as { value: string } | undefined;
          return row ? row.value : null;
        }),
      );
    },
    async putSetting(key, value, now) {
      run(
        `INSERT INTO settings (key, value, updated_at) VALUES (@key, @value, @now)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        { key, value, now },
      );
      return Promise.resolve();
    },

    async close() {
      // Commands already queued commit (or fail) before the connection goes.
      if (db.open) group.flushNow();
      await checkpointer?.stop();
      if (db.open) db.close();
      return Promise.resolve();
    },
  };
}

/** A plain Uint8Array copy, so callers never hold a Node Buffer (or compare unequal to one). */
function bytes(value: Buffer | null): Uint8Array | null {
  return value === null ? null : Uint8Array.from(value);
}
