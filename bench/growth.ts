/**
 * Growth: "with 10 million stored auth requests (and outbox rows) the p99 of send and
 * verify is within 1.5× of an empty database".
 *
 *   npm run bench:growth                       # 10,000,000 rows (file cached under /tmp)
 *   npm run bench:growth -- --rows 200000      # quick validation
 *   npm run bench:growth -- --rebuild          # rebuild the cached file
 *   npm run bench:growth -- --build-only       # build (or check) the cached file, no load
 *
 * - The bench server (bench/sesame/server.mjs: the real Sesame with SQLite and the outbox
 *   worker, a capturing mail transport and a mailbox sidecar) runs twice in one run: on a fresh
 *   database, and on a copy of a prefilled one (SESAME_BENCH_DB). The prefilled server runs
 *   first, so any warm-up of this process favours the empty baseline.
 * - Per database: send (a new address per request), then verify by code and verify by link on
 *   auth requests this run created (untimed sends first, codes and links read from the sidecar,
 *   half of the requests verified by code and the other half by link, each once). Closed loop:
 *   CONCURRENCY workers over node:http keep-alive connections, WARM_UP_MS then MEASURE_MS,
 *   bounded by MAX_REQUESTS (and, for verify, by the pool at hand).
 * - The prefilled file: N auth requests created over the day before it was built (ids in the
 *   real time-ordered format, random 32-byte digests, a unique link lookup each (the issue time's
 *   6 bytes, then 32 random ones, as core's linkLookupKey makes them), expiry 5 min
 *   after creation: most expired, the last minutes' still live; 70 % verified, 28 % never used,
 *   1.5 % with failed code attempts, 0.5 % locked), one outbox row each (sent and sealed payload
 *   dropped, 0.2 % failed, 0.01 % parked queued with a retry far in the future, so they are never
 *   due), their delivery timeline (queued, attempt, outcome: 3 events a row) and the otp_failures
 *   rows of the failed attempts. No send_log rows: it holds resends only, and the sweeper keeps
 *   two send-limit windows of them (2 min by default). Rows are generated inside SQLite
 *   (recursive CTE; ids from a registered function) with the secondary indexes dropped; the
 *   indexes are then recreated with the very SQL the migrations stored in sqlite_master. The
 *   file is cached (CACHE_DIR/sesame-growth-<rows>.db with a .json beside it) and rebuilt when
 *   the migrations or the generator change, when it is over a day old (see below), or with
 *   --rebuild; each run works on a fresh copy.
 * - The expiry sweeper deletes what expired more than SESAME_RETENTION_SECONDS ago. A cached
 *   file ages, so the prefilled server gets a retention of one day plus the file's age: the
 *   sweeper then sees the state of a file built just now (nothing overdue, rows ageing out at
 *   the rate they were created), not a backlog of days to delete during the measurement. (The
 *   otp_failures rows, kept two days, are why the file is rebuilt once a day old.)
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { LATEST_VERSION, MIGRATIONS, openSqliteStore } from '@sesame/storage';
import {
  BENCH_REDIRECT,
  fmt,
  markdownTable,
  OutOfWork,
  PASSWORDLESS_API,
  resultCells,
  runClosedLoop,
  STANDARD_WINDOW,
  type ClosedLoopResult,
  type Operation,
} from './lib/closed-loop.js';
import { getJson, postJson, startBenchServer, stopBenchServer, type BenchServer } from './lib/bench-server.js';
import { processCpu, processRssMiB } from './lib/proc-cpu.js';

const API = PASSWORDLESS_API;
const REDIRECT = BENCH_REDIRECT;

const { concurrency: CONCURRENCY, warmUpMs: WARM_UP_MS, measureMs: MEASURE_MS, maxRequests: MAX_REQUESTS } = STANDARD_WINDOW;
/** Auth requests wanted for each verify workload (by code, by link) before the verify phases. */
const VERIFY_POOL = 60_000;
/** Bound on the untimed sends that top the pool up. */
const FILL_MS = 45_000;
/** Bound on waiting for the outbox to deliver what a phase queued. */
const DRAIN_MS = 30_000;
/** The load part of the run (after the prefilled file is ready) is stopped past this. */
const RUN_LIMIT_MS = 8 * 60_000;
/** Building the prefilled file is stopped past this. */
const BUILD_LIMIT_MS = 20 * 60_000;
const P99_TARGET = 1.5;

/** Bump when the generated rows change: cached files of another generator are rebuilt. */
const GENERATOR = 3;
const CACHE_DIR = process.env.SESAME_GROWTH_CACHE_DIR ?? tmpdir();
const DAY_MS = 86_400_000;
/** The policy default (expirySeconds 300) and the server's default retention (one day). */
const EXPIRY_MS = 300_000;
const RETENTION_S = 86_400;
/** Rows generated per INSERT … SELECT statement (progress is printed between them). */
const CHUNK = 1_000_000;

// ---- options ----------------------------------------------------------------------------------

interface Options {
  readonly rows: number;
  readonly rebuild: boolean;
  readonly buildOnly: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  let rows = 10_000_000;
  let rebuild = false;
  let buildOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--rows') {
      rows = Number(argv[++i]?.replace(/_/g, ''));
      if (!Number.isInteger(rows) || rows < 1_000) throw new Error('--rows wants an integer ≥ 1000');
    } else if (arg === '--rebuild') rebuild = true;
    else if (arg === '--build-only') buildOnly = true;
    else throw new Error(`unknown option ${arg} (known: --rows N, --rebuild, --build-only)`);
  }
  return { rows, rebuild, buildOnly };
}

// ---- the prefilled file -------------------------------------------------------------------------

interface CacheMeta {
  readonly rows: number;
  readonly generator: number;
  readonly schemaVersion: number;
  /** Digest of every migration's SQL: a changed schema means a rebuild. */
  readonly schema: string;
  /** Creation times end here (ms). */
  readonly anchor: number;
  readonly buildSeconds: number;
  readonly bytes: number;
}

function schemaDigest(): string {
  const hash = createHash('sha256');
  for (const step of MIGRATIONS) hash.update(`${step.version}\n${step.sql}\n`);
  return hash.digest('hex').slice(0, 16);
}

function cachePaths(rows: number): { db: string; meta: string } {
  const db = join(CACHE_DIR, rows === 10_000_000 ? 'sesame-growth-10m.db' : `sesame-growth-${rows}.db`);
  return { db, meta: `${db}.json` };
}

function readMeta(path: string): CacheMeta | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CacheMeta;
  } catch {
    return null;
  }
}

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

/** Builds the prefilled file at `target` (via a temp file, renamed when complete). */
async function buildPrefilled(target: string, rows: number): Promise<CacheMeta> {
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
  const meta: CacheMeta = {
    rows,
    generator: GENERATOR,
    schemaVersion: LATEST_VERSION,
    schema: schemaDigest(),
    anchor,
    buildSeconds: (performance.now() - started) / 1000,
    bytes: statSync(building).size,
  };
  renameSync(building, target);
  return meta;
}

/** The cached prefilled file for `rows`, built when missing, stale or asked for. */
async function prefilled(options: Options): Promise<{ file: string; meta: CacheMeta; built: boolean }> {
  const paths = cachePaths(options.rows);
  const meta = readMeta(paths.meta);
  const fresh =
    meta !== null &&
    existsSync(paths.db) &&
    meta.rows === options.rows &&
    meta.generator === GENERATOR &&
    meta.schemaVersion === LATEST_VERSION &&
    meta.schema === schemaDigest() &&
    // Past a day the otp_failures rows (kept two windows of a day) would be swept during the run.
    Date.now() - meta.anchor < DAY_MS;
  if (fresh && !options.rebuild) return { file: paths.db, meta, built: false };
  console.log(
    `building ${paths.db} (${options.rows.toLocaleString('en-US')} auth requests)${meta && !options.rebuild ? ': the cached file is stale' : ''}`,
  );
  rmSync(paths.meta, { force: true });
  mkdirSync(CACHE_DIR, { recursive: true });
  const built = await buildPrefilled(paths.db, options.rows);
  writeFileSync(paths.meta, `${JSON.stringify(built, null, 2)}\n`);
  return { file: paths.db, meta: built, built: true };
}

/** A fresh copy of the prefilled file for one run, flushed to disk so no write-back overlaps the load. */
function copyForRun(source: string, dir: string): { file: string; seconds: number } {
  const t0 = performance.now();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'sesame.db');
  copyFileSync(source, file);
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { file, seconds: (performance.now() - t0) / 1000 };
}

// ---- the server ---------------------------------------------------------------------------------

/** The bench server on a database, with the queued outbox rows it had at start (parked rows of a prefilled file). */
interface GrowthServer extends BenchServer {
  readonly startDepth: number;
}

interface Stats {
  readonly rssMiB: number;
  readonly captured: number;
  readonly outboxDepth: number;
}

/** Children started by this run, killed on the way out whatever happened. */
const children = new Set<ChildProcess>();

async function startServer(env: Record<string, string>): Promise<GrowthServer> {
  const server = await startBenchServer({ env, maxSockets: CONCURRENCY });
  children.add(server.child);
  server.child.once('exit', () => children.delete(server.child));
  return { ...server, startDepth: (await stats(server)).outboxDepth };
}

async function stopServer(server: BenchServer): Promise<void> {
  await stopBenchServer(server, 20_000);
}

function stats(server: BenchServer): Promise<Stats> {
  return getJson<Stats>(`${server.sidecar}/stats`);
}

function post(server: BenchServer, action: 'send' | 'verify', body: unknown): Promise<{ status: number; body: string }> {
  return postJson(server, `${API}/${action}`, body);
}

// ---- load ---------------------------------------------------------------------------------------

interface Row {
  readonly database: string;
  readonly workload: string;
  readonly result: ClosedLoopResult;
  /** Server CPU (ms) per measured request, over the measured window. */
  readonly serverMsPerReq: number;
  readonly rssMiB: number;
}

let sequence = 0;
const runTag = `${process.pid}-${Date.now().toString(36)}`;

function sendOp(server: BenchServer): Operation {
  return async () => {
    const email = `growth-${runTag}-${++sequence}@example.com`;
    const reply = await post(server, 'send', { email, magiclink_auth_uri: REDIRECT });
    return reply.status === 200;
  };
}

function verifyOp(server: BenchServer, pool: readonly Record<string, string>[]): Operation {
  let next = 0;
  return async () => {
    const body = pool[next++];
    if (!body) throw new OutOfWork();
    const reply = await post(server, 'verify', body);
    return reply.status === 200;
  };
}

async function measure(database: string, workload: string, server: BenchServer, operation: Operation): Promise<Row> {
  const cpu = { before: NaN };
  const result = await runClosedLoop(operation, {
    concurrency: CONCURRENCY,
    warmUpMs: WARM_UP_MS,
    measureMs: MEASURE_MS,
    maxRequests: MAX_REQUESTS,
    onMeasureStart: () => (cpu.before = processCpu(server.pid)?.selfMs ?? NaN),
  });
  const after = processCpu(server.pid)?.selfMs ?? NaN;
  const row = { database, workload, result, serverMsPerReq: (after - cpu.before) / result.requests, rssMiB: processRssMiB(server.pid) };
  const note = result.exhausted ? ` (pool used up after ${result.seconds.toFixed(1)} s)` : '';
  console.log(
    `  ${workload}: ${fmt(result.rps, 0)} req/s, p50 ${fmt(result.p50)} ms, p99 ${fmt(result.p99)} ms, ${result.errors} errors${note}`,
  );
  return row;
}

/** Waits (bounded) until the outbox is back to its starting depth. */
async function drain(server: GrowthServer): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  for (;;) {
    const { outboxDepth } = await stats(server);
    if (outboxDepth <= server.startDepth) return;
    if (Date.now() > deadline) {
      console.log(`  (outbox: ${outboxDepth - server.startDepth} emails still queued after ${DRAIN_MS / 1000} s)`);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Untimed sends until the mailbox holds 2 × VERIFY_POOL requests (bounded by FILL_MS). */
async function fill(server: GrowthServer): Promise<void> {
  const { captured } = await stats(server);
  const want = Math.max(0, 2 * VERIFY_POOL - captured);
  const deadline = Date.now() + FILL_MS;
  const send = sendOp(server);
  let issued = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (issued < want && Date.now() < deadline) await send(issued++).catch(() => false);
    }),
  );
  await drain(server);
}

/** Codes and links from the sidecar, split: half the auth requests for each verify workload. */
async function pools(server: BenchServer): Promise<{ byCode: Record<string, string>[]; byLink: Record<string, string>[] }> {
  const otp = await getJson<{ otp: string; auth_request_id: string }[]>(`${server.sidecar}/mailbox/otp?max=200000`);
  const link = await getJson<{ link_token: string; auth_request_id: string }[]>(`${server.sidecar}/mailbox/link?max=200000`);
  const half = new Set(otp.filter((_, i) => i % 2 === 0).map((item) => item.auth_request_id));
  return {
    byCode: otp.filter((item) => half.has(item.auth_request_id)).map((item) => ({ code: item.otp, auth_request_id: item.auth_request_id })),
    byLink: link
      .filter((item) => !half.has(item.auth_request_id))
      .map((item) => ({ link_token: item.link_token, auth_request_id: item.auth_request_id })),
  };
}

async function phase(database: string, server: GrowthServer): Promise<Row[]> {
  const rows: Row[] = [];
  rows.push(await measure(database, 'send', server, sendOp(server)));
  await fill(server);
  const { byCode, byLink } = await pools(server);
  console.log(`  pools: ${byCode.length} codes, ${byLink.length} links`);
  rows.push(await measure(database, 'verify (code)', server, verifyOp(server, byCode)));
  rows.push(await measure(database, 'verify (link)', server, verifyOp(server, byLink)));
  return rows;
}

// ---- main ---------------------------------------------------------------------------------------

const runDir = join(CACHE_DIR, `sesame-growth-run-${process.pid}`);

async function cleanup(): Promise<void> {
  await Promise.all(
    [...children].map(async (child) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
    }),
  );
  rmSync(runDir, { recursive: true, force: true });
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  console.log(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  const buildLimit = setTimeout(() => {
    console.error(`bench:growth: building took over ${BUILD_LIMIT_MS / 60_000} min; stopping`);
    process.exit(2);
  }, BUILD_LIMIT_MS);
  const cache = await prefilled(options);
  clearTimeout(buildLimit);
  const age = (Date.now() - cache.meta.anchor) / 3_600_000;
  const rowsLabel = cache.meta.rows.toLocaleString('en-US');
  console.log(
    `prefilled file: ${cache.file}, ${rowsLabel} auth requests, ${mib(cache.meta.bytes)}, ` +
      `${cache.built ? 'built now' : `cached (built ${age.toFixed(1)} h ago)`} in ${cache.meta.buildSeconds.toFixed(0)} s`,
  );
  if (options.buildOnly) return;

  const hard = setTimeout(() => {
    console.error(`bench:growth: hard limit of ${RUN_LIMIT_MS / 60_000} min reached; stopping`);
    void cleanup().finally(() => process.exit(2));
  }, RUN_LIMIT_MS);
  try {
    const copy = copyForRun(cache.file, runDir);
    console.log(`copied for this run in ${copy.seconds.toFixed(1)} s`);
    const label = `${rowsLabel} rows`;
    const rows: Row[] = [];
    const retention = String(RETENTION_S + Math.ceil((Date.now() - cache.meta.anchor) / 1000));

    console.log(`${label}:`);
    let server = await startServer({ SESAME_BENCH_DB: copy.file, SESAME_RETENTION_SECONDS: retention });
    try {
      console.log(`  server pid ${server.pid}, ${server.startDepth} parked outbox rows`);
      rows.push(...(await phase(label, server)));
    } finally {
      await stopServer(server);
    }
    rmSync(runDir, { recursive: true, force: true });

    console.log('empty:');
    server = await startServer({});
    try {
      console.log(`  server pid ${server.pid}`);
      rows.push(...(await phase('empty', server)));
    } finally {
      await stopServer(server);
    }

    const order = ['empty', label];
    rows.sort((a, b) => order.indexOf(a.database) - order.indexOf(b.database));
    console.log('');
    console.log(
      markdownTable(
        ['database', 'workload', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'requests', 'server CPU ms/req', 'server RSS MiB'],
        rows.map((r) => [r.database, r.workload, ...resultCells(r.result, 'pool used up'), fmt(r.serverMsPerReq, 2), fmt(r.rssMiB, 0)]),
      ),
    );
    console.log('');
    const workloads = [...new Set(rows.map((r) => r.workload))];
    console.log(
      markdownTable(
        ['workload', 'p99 empty', `p99 ${label}`, `p99 ratio (target ≤ ${P99_TARGET})`, 'req/s ratio'],
        workloads.map((workload) => {
          const empty = rows.find((r) => r.database === 'empty' && r.workload === workload)!.result;
          const full = rows.find((r) => r.database === label && r.workload === workload)!.result;
          const ratio = full.p99 / empty.p99;
          return [
            workload,
            fmt(empty.p99),
            fmt(full.p99),
            `${fmt(ratio, 2)} ${ratio <= P99_TARGET ? 'ok' : 'OVER'}`,
            fmt(full.rps / empty.rps, 2),
          ];
        }),
      ),
    );
    console.log('');
    console.log(
      `load average at the end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    clearTimeout(hard);
  }
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanup();
}
