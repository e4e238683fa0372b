/**
 * The prefilled database bench:growth measures against, generated inside SQLite: N auth requests
 * over the day before the build, one outbox row each, their delivery timeline and the
 * otp_failures rows of failed attempts (the entry point's header says what each row is like).
 * Rows go in by recursive CTE with the secondary indexes dropped; the indexes come back after,
 * from the SQL the migrations stored in sqlite_master.
 */
import { randomFillSync } from 'node:crypto';
import { renameSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openSqliteStore } from '@sesame/storage';
import { BENCH_REDIRECT as REDIRECT } from '../lib/closed-loop.js';
import { DAY_MS } from './options.js';

/** Bump when the generated rows change: cached files of another generator are rebuilt. */
export const GENERATOR = 3;
/** The policy default (expirySeconds 300). */
const EXPIRY_MS = 300_000;
/** Rows generated per INSERT … SELECT statement (progress is printed between them). */
const CHUNK = 1_000_000;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * Ids as packages/core/src/credentials.ts generateTimeOrderedId makes them: the time in ms as 10
 * Crockford base32 characters, then 16 random bytes as base64url (22 characters).
 */
function timeOrderedIds(): (ms: number) => string {
  const pool = Buffer.allocUnsafe(16 * 8192);
  let offset = pool.length;
  let lastMs = -1;
  let lastPrefix = '';
  return (ms) => {
    if (ms !== lastMs) {
      let time = ms;
      let prefix = '';
      for (let i = 0; i < 10; i++) {
        prefix = CROCKFORD.charAt(time % 32) + prefix;
        time = Math.floor(time / 32);
      }
      lastMs = ms;
      lastPrefix = prefix;
    }
    if (offset === pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    offset += 16;
    return lastPrefix + pool.toString('base64url', offset - 16, offset);
  };
}

/** Parameters bound as SQLite INTEGERs (better-sqlite3 binds a JS number as a REAL). */
function ints(values: Record<string, number>): Record<string, bigint> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, BigInt(Math.trunc(value))]));
}

function chunks(total: number, step: number, each: (from: number, to: number) => void): void {
  for (let from = 0; from < total; from += step) each(from, Math.min(total, from + step));
}

export interface Built {
  /** Creation times end here (ms). */
  readonly anchor: number;
  readonly buildSeconds: number;
  readonly bytes: number;
}

/** Builds the prefilled file at `target` (via a temp file, renamed when complete). */
export async function buildPrefilled(target: string, rows: number): Promise<Built> {
  const started = performance.now();
  const anchor = Date.now();
  const building = `${target}.building`;
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(building + suffix, { force: true });

  // The schema exactly as the store creates it.
  const store = openSqliteStore({ filename: building, checkpoint: 'on-commit' });
  await store.migrate();
  await store.close();

  const db = new Database(building);
  const step = (label: string, fn: () => void) => {
    const t0 = performance.now();
    fn();
    console.log(`  ${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };
  try {
    // No journal while building (the store left the file in WAL mode; leave that first).
    // better-sqlite3's defensive mode refuses journal_mode = OFF; unsafe mode allows it.
    db.unsafeMode(true);
    db.pragma('journal_mode = DELETE');
    if (db.pragma('journal_mode = OFF', { simple: true }) !== 'off') throw new Error('could not turn the journal off');
    db.pragma('synchronous = OFF');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('foreign_keys = OFF');
    // Index builds sort in memory (some hundreds of MiB each at 10 M rows) rather than in temp files.
    db.pragma('cache_size = -2097152');
    db.pragma('temp_store = MEMORY');
    db.pragma('threads = 2');
    const nextId = timeOrderedIds();
    db.function('time_ordered_id', { deterministic: false }, (ms) => nextId(Number(ms)));

    // Secondary indexes go now and come back after the rows, built by sorting (not 10 M random
    // inserts), from the SQL SQLite stored when the migrations created them.
    const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").all() as {
      name: string;
      sql: string;
    }[];
    for (const index of indexes) db.exec(`DROP INDEX ${index.name}`);

    const users = Math.max(1, Math.floor(rows / 3));
    // Row i: created at anchor − 1 day + i/N of a day; r, a fixed pseudo-random 0…999, picks its fate.
    const authRequests = db.prepare(`
      WITH RECURSIVE n(i) AS (SELECT @from UNION ALL SELECT i + 1 FROM n WHERE i + 1 < @to),
      g AS (
        SELECT i,
               @start + (i * ${DAY_MS}) / @rows AS c,
               ((i * 2654435761) % 1000003) % 1000 AS r,
               (i * 2246822519) % @users AS u
        FROM n)
      INSERT INTO auth_requests (id, client_id, email, email_key, template, type, magiclink_auth_uri, state,
        template_variables, otp_hash, link_token_hash, link_lookup, created_at, expires_at, attempts, sends, consumed_at, status)
      SELECT time_ordered_id(c), 'skc_prefill_Xq3v9LmT2wK8', e, e,
             CASE WHEN r % 7 = 0 THEN 'SIGNUP' ELSE 'SIGNIN' END, 'LINK_OTP', '${REDIRECT}', NULL, '{}',
             randomblob(32), randomblob(32), unhex(printf('%012x', c) || hex(randomblob(32))), c, c + ${EXPIRY_MS},
             CASE WHEN r >= 995 THEN 5 WHEN r >= 980 THEN 1 + r % 3 ELSE 0 END,
             1,
             CASE WHEN r < 700 THEN c + 8000 + (i * 7919) % 150000 END,
             CASE WHEN r < 700 THEN 'verified' WHEN r >= 995 THEN 'locked' ELSE 'pending' END
      FROM (SELECT i, c, r, 'user' || u || '@' || CASE u % 5 WHEN 0 THEN 'gmail.com' WHEN 1 THEN 'outlook.com'
              WHEN 2 THEN 'example.com' WHEN 3 THEN 'mail.example.org' ELSE 'corp.example.net' END AS e FROM g)`);
    step(`auth_requests (${rows.toLocaleString('en-US')})`, () =>
      chunks(rows, CHUNK, (from, to) => authRequests.run(ints({ from, to, rows, start: anchor - DAY_MS, users }))),
    );

    // One email a request, created with it (same millisecond, so the same id prefix).
    const outbox = db.prepare(`
      INSERT INTO outbox (id, auth_request_id, status, sealed_payload, attempts, created_at, next_attempt_at, lease_owner, lease_until)
      SELECT time_ordered_id(created_at), id,
             CASE WHEN k < 20 THEN 'failed' WHEN k = 20 THEN 'queued' ELSE 'sent' END,
             CASE WHEN k = 20 THEN randomblob(420) END,
             CASE WHEN k < 20 THEN 3 ELSE 1 END,
             created_at,
             CASE WHEN k < 20 THEN created_at + 240000 WHEN k = 20 THEN @parked ELSE created_at END,
             NULL, NULL
      FROM (SELECT rowid, id, created_at, (rowid * 40503) % 10007 AS k FROM auth_requests WHERE rowid > @from AND rowid <= @to)
      ORDER BY rowid`);
    step('outbox', () => chunks(rows, CHUNK, (from, to) => outbox.run(ints({ from, to, parked: anchor + 10 * 365 * DAY_MS }))));

    // queued, attempt, then sent / failed / retry_scheduled: the worker's timeline of one email.
    const events = db.prepare(`
      INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind, attempt, detail)
      SELECT o.id, o.auth_request_id,
             o.created_at + CASE s.k WHEN 0 THEN 0 WHEN 1 THEN 15 ELSE 180 + o.rowid % 400 END,
             CASE s.k WHEN 0 THEN 'queued' WHEN 1 THEN 'attempt'
                      ELSE CASE o.status WHEN 'queued' THEN 'retry_scheduled' ELSE o.status END END,
             CASE s.k WHEN 0 THEN NULL ELSE o.attempts END,
             CASE WHEN s.k < 2 THEN NULL
                  WHEN o.status = 'sent' THEN '250 2.0.0 Ok: queued as ' || hex(randomblob(5))
                  WHEN o.status = 'failed' THEN 'gave up after 3 attempts; last reply: 451 4.7.1 Try again later'
                  ELSE '421 4.4.2 mx.example.net Error: timeout exceeded' END
      FROM outbox o CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) s
      WHERE o.rowid > @from AND o.rowid <= @to`);
    step('delivery_events', () => chunks(rows, CHUNK, (from, to) => events.run(ints({ from, to }))));

    // No send_log rows: it holds resends only, and the sweeper keeps two of the policy's windows
    // of them (2 min by default), so a day-old file holds none the server would keep.
    step('otp_failures', () =>
      db.exec(`INSERT INTO otp_failures (email_key, at)
               SELECT a.email_key, a.created_at + 20000 * s.k FROM auth_requests a
               JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5) s ON s.k <= a.attempts
               WHERE a.attempts > 0`),
    );

    for (const index of indexes) step(`index ${index.name}`, () => db.exec(index.sql));
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
  const built = { anchor, buildSeconds: (performance.now() - started) / 1000, bytes: statSync(building).size };
  renameSync(building, target);
  return built;
}
