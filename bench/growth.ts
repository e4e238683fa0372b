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
 *
 * The parts: growth/options.ts, growth/prefill.ts (the generator), growth/cache.ts (the cached
 * file and the run's copy), growth/load.ts (one database's phase), growth/report.ts.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopBenchServer } from './lib/bench-server.js';
import { loadAverage, machineLine } from './lib/proc-cpu.js';
import { runMain } from './lib/run-main.js';
import { signalTracked } from './lib/tracked-servers.js';
import { copyForRun, prefilled } from './growth/cache.js';
import { phase, startServer, type Row } from './growth/load.js';
import { BUILD_LIMIT_MS, CACHE_DIR, parseOptions, RETENTION_S, RUN_LIMIT_MS } from './growth/options.js';
import { report } from './growth/report.js';

const runDir = join(CACHE_DIR, `sesame-growth-run-${process.pid}`);

/** Whatever happened: the servers this run started are killed and its copy removed. */
async function cleanup(): Promise<void> {
  signalTracked('SIGKILL');
  await sleep(100);
  rmSync(runDir, { recursive: true, force: true });
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  console.log(machineLine());

  const buildLimit = setTimeout(() => {
    console.error(`bench:growth: building took over ${BUILD_LIMIT_MS / 60_000} min; stopping`);
    process.exit(2);
  }, BUILD_LIMIT_MS);
  const cache = await prefilled(options);
  clearTimeout(buildLimit);
  const age = (Date.now() - cache.meta.anchor) / 3_600_000;
  const rowsLabel = cache.meta.rows.toLocaleString('en-US');
  console.log(
    `prefilled file: ${cache.file}, ${rowsLabel} auth requests, ${gib(cache.meta.bytes)}, ` +
      `${cache.built ? 'built now' : `cached (built ${age.toFixed(1)} h ago)`} in ${cache.meta.buildSeconds.toFixed(0)} s`,
  );
  if (options.buildOnly) return 0;

  const hard = setTimeout(() => {
    console.error(`bench:growth: hard limit of ${RUN_LIMIT_MS / 60_000} min reached; stopping`);
    void cleanup().finally(() => process.exit(2));
  }, RUN_LIMIT_MS);
  try {
    const copy = copyForRun(cache.file, runDir);
    console.log(`copied for this run in ${copy.seconds.toFixed(1)} s`);
    const label = `${rowsLabel} rows`;
    const rows: Row[] = [];
    // A cached file has aged since it was built: a retention of one day plus that age lets the
    // sweeper see it as if built just now, not a backlog to delete during the measurement.
    const retention = String(RETENTION_S + Math.ceil((Date.now() - cache.meta.anchor) / 1000));

    console.log(`${label}:`);
    let server = await startServer({ SESAME_BENCH_DB: copy.file, SESAME_RETENTION_SECONDS: retention });
    try {
      console.log(`  server pid ${server.pid}, ${server.startDepth} parked outbox rows`);
      rows.push(...(await phase(label, server)));
    } finally {
      await stopBenchServer(server, 20_000);
    }
    rmSync(runDir, { recursive: true, force: true });

    console.log('empty:');
    server = await startServer({});
    try {
      console.log(`  server pid ${server.pid}`);
      rows.push(...(await phase('empty', server)));
    } finally {
      await stopBenchServer(server, 20_000);
    }

    report(rows, label);
    console.log('');
    console.log(`load average at the end: ${loadAverage()}`);
  } finally {
    clearTimeout(hard);
  }
  return 0;
}

await runMain(main, cleanup);
