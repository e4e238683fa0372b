/**
 * `npm run bench:soak`: a steady load for a long while against one Sesame (the bench server,
 * bench/sesame/server.mjs: real startSesame on SQLite, capturing transport), to show the
 * two things the expiry sweeper is for:
 *   - the tables stay bounded: auth_requests, outbox and delivery_events plateau once requests
 *     start expiring (short expiry, SESAME_RETENTION_SECONDS=0, a short sweep interval);
 *   - the server's RSS stays flat (last minute within 10 % of the first minute after warm-up).
 *
 *   npm run bench:soak                      # 10 minutes at 500 req/s
 *   npm run bench:soak -- --minutes 2       # shorter (1–60; the run is cut at minutes + 2)
 *   npm run bench:soak -- --rate 300 --sweep-ms 5000
 *   npm run bench:soak -- --port 4760       # the server's port (default 4760; the sidecar takes the next)
 *
 * Load is open-loop at a fixed rate (not closed-loop: a soak must hold the same load whatever
 * the latency): 55 % sends (expires_in 60 s, the policy minimum, to a pool of addresses reused
 * every few minutes as real users are), 45 % verifies of the codes and links drained from the
 * sidecar's mailbox, half by code and half by link; the other ~18 % of requests are abandoned
 * and simply expire, as unfinished sign-ins do. Every 10 s: server RSS and CPU, the interval's
 * req/s and p99, and the row counts, read through a read-only SQLite connection to the server's
 * own database file. The server's warn and error lines (a failing sweep shows up there) are read
 * from its log file at the end.
 *
 * The parts: soak/options.ts (options, the load's shape), soak/load.ts (the open loop),
 * soak/rows.ts (row counts), soak/report.ts (the table and the verdict).
 */
import { readFileSync } from 'node:fs';
import { getText, startBenchServer, stopBenchServer, stopChild, type BenchServer } from './lib/bench-server.js';
import { sidecarStats } from './lib/bench-api.js';
import { fmt } from './lib/closed-loop.js';
import { machineLine, processAnonMiB, processCpu, processRssMiB } from './lib/proc-cpu.js';
import { percentile } from './lib/stats.js';
import { drainMailbox, newState, runOpenLoop, sendsSince, settle } from './soak/load.js';
import { EXPIRES_IN_S, parseOptions, REQUEST_TIMEOUT_MS, ROW_LIFETIME_S, SAMPLE_MS, SENDS_PER_20 } from './soak/options.js';
import { sampleTable, verdict, type Sample } from './soak/report.js';
import { databaseFileOf, rowCounter } from './soak/rows.js';

/** The server's own count of swept auth requests, from /metrics. */
async function sweptTotal(server: BenchServer): Promise<number> {
  try {
    const text = await getText(new URL('/metrics', server.base).href, REQUEST_TIMEOUT_MS);
    return Number(/^sesame_swept_auth_requests_total (\d+)/m.exec(text)?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** What the server printed besides its READY line: at SESAME_LOG_LEVEL=warn, its warnings and errors. */
function complaints(server: BenchServer): string[] {
  return readFileSync(server.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('READY '));
}

async function main(): Promise<number> {
  const options = parseOptions();
  const hardLimit = setTimeout(
    () => {
      process.stderr.write(`soak: hard limit of ${options.minutes + 2} min reached\n`);
      process.exit(2);
    },
    (options.minutes + 2) * 60_000,
  );
  hardLimit.unref();
  console.log(machineLine());
  const server = await startBenchServer({
    port: options.port,
    env: { SESAME_LOG_LEVEL: 'warn', SESAME_RETENTION_SECONDS: '0', SESAME_SWEEP_INTERVAL_MS: String(options.sweepMs) },
    maxSockets: 128,
    // Idle sockets are dropped before the server's 5 s keep-alive timeout closes them: otherwise
    // a request sent on a socket the server is closing fails with ECONNRESET.
    agentTimeoutMs: 4_000,
  });
  process.once('exit', () => server.child.kill('SIGKILL'));
  const counter = rowCounter(databaseFileOf(server.pid));
  // Rows fill for their first lifetime (nothing may be swept yet), then one sweep interval more.
  const warmUpS = Math.ceil((ROW_LIFETIME_S * 1000 + 2 * options.sweepMs) / SAMPLE_MS) * (SAMPLE_MS / 1000);
  console.log(
    `soak: ${options.minutes} min at ${options.rate} req/s (${SENDS_PER_20 * 5} % sends, expires_in ${EXPIRES_IN_S} s), ` +
      `SESAME_RETENTION_SECONDS=0, SESAME_SWEEP_INTERVAL_MS=${options.sweepMs}; server pid ${server.pid}; warm-up ${warmUpS} s`,
  );

  const state = newState();
  const start = performance.now();
  const until = start + options.minutes * 60_000;
  const drains = [drainMailbox(server, 'otp', state), drainMailbox(server, 'link', state)];
  const load = runOpenLoop(server, state, options.rate, until);

  const samples: Sample[] = [];
  let lastCpu = processCpu(server.pid)?.selfMs ?? 0;
  let lastAt = start;
  async function takeSample(): Promise<void> {
    const now = performance.now();
    const cpu = processCpu(server.pid)?.selfMs ?? lastCpu;
    let outboxDepth = NaN;
    try {
      outboxDepth = (await sidecarStats(server, REQUEST_TIMEOUT_MS)).outboxDepth;
    } catch {
      // The sidecar is busy or gone: the column shows '-'.
    }
    const interval = state.interval;
    state.interval = { requests: 0, errors: 0, latencies: [] };
    interval.latencies.sort((a, b) => a - b);
    const seconds = (now - lastAt) / 1000;
    const sample: Sample = {
      t: Math.round((now - start) / 1000),
      rps: interval.requests / seconds,
      p99: percentile(interval.latencies, 0.99),
      errors: interval.errors,
      cpuPct: ((cpu - lastCpu) / (now - lastAt)) * 100,
      rssMiB: processRssMiB(server.pid),
      anonMiB: processAnonMiB(server.pid),
      rows: counter.counts(),
      dbUsedMiB: counter.usedMiB(),
      outboxDepth,
      bound: sendsSince(state, ROW_LIFETIME_S + options.sweepMs / 1000 + 2),
    };
    lastCpu = cpu;
    lastAt = now;
    samples.push(sample);
    const r = sample.rows;
    console.log(
      `t=${sample.t}s ${fmt(sample.rps, 0)} req/s p99 ${fmt(sample.p99)} ms, RSS ${fmt(sample.rssMiB)} MiB, ` +
        `rows: auth ${r.auth_requests} outbox ${r.outbox} events ${r.delivery_events} send_log ${r.send_log}`,
    );
  }
  const sampler = setInterval(() => void takeSample(), SAMPLE_MS);

  const inFlight = await load;
  clearInterval(sampler);
  // The last part-interval, if long enough to mean something, before in-flight requests settle.
  if (performance.now() - lastAt > SAMPLE_MS / 2) await takeSample();
  const pending = inFlight.size;
  const settledMs = await settle(inFlight);
  if (settledMs === null || settledMs > 1_000) {
    console.log(
      `${pending} request(s) in flight at the end took ${settledMs === null ? 'over 10 s (cut)' : `${fmt(settledMs, 0)} ms`} to answer`,
    );
  }
  const swept = await sweptTotal(server);
  state.stopping = true;
  // The log is read once the server has exited (all its lines written), before its directory goes.
  await stopChild(server.child);
  const warnings = complaints(server);
  await stopBenchServer(server);
  counter.close();
  await Promise.all(drains);
  clearTimeout(hardLimit);

  console.log('');
  console.log(sampleTable(samples));
  console.log('');
  for (const line of verdict(samples, options, warmUpS, state)) console.log(line);
  const left = samples[samples.length - 1]?.rows.auth_requests ?? NaN;
  console.log(
    `Swept by the server's sweeper (sesame_swept_auth_requests_total): ${swept}; sends ok − auth_requests left = ${state.sendsOk - left}.`,
  );
  if (warnings.length > 0) {
    console.log(`Server warnings/errors: ${warnings.length}; first: ${warnings.slice(0, 3).join(' | ')}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
