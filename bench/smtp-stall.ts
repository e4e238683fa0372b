/**
 * Send latency is independent of SMTP (target: "with a stalled SMTP server the figures do not
 * drop"). REST send against the bench server (bench/sesame/server.mjs, the real Sesame on
 * SQLite with its outbox worker) delivering through the real SMTP transport
 * (SESAME_BENCH_SMTP_URL) to, in one run:
 *
 *   - a healthy SMTP server: @sesame/testkit's SMTP capture keeping nothing, in a child process of
 *     its own (so its work neither shares this process's event loop with the load generator nor
 *     is counted as Sesame's);
 *   - a stalled one that accepts TCP and never sends a greeting (@sesame/testkit's 'stall');
 *   - a stalled one that speaks SMTP up to DATA's 354, takes the message and never answers it
 *     (@sesame/testkit's 'silent-after-data').
 *
 *   npm run bench:smtp-stall
 *
 * Per row: a fresh server and database, send (a new address per request) in a closed loop of
 * CONCURRENCY workers over node:http keep-alive connections, WARM_UP_MS then MEASURE_MS, bounded
 * by MAX_REQUESTS; the Sesame process's CPU over the window; the outbox depth at the end of the
 * window and SETTLE_MS later (healthy: drains; stalled: grows and stays).
 */
import type { ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { killStartedProcesses, startFaultySmtp, startProcess, waitForOutput } from '@sesame/testkit';
import {
  BENCH_REDIRECT,
  fmt,
  markdownTable,
  PASSWORDLESS_API,
  resultCells,
  runClosedLoop,
  STANDARD_WINDOW,
  type ClosedLoopResult,
  type Operation,
} from './lib/closed-loop.js';
import { getJson, postJson, startBenchServer, stopBenchServer, type BenchServer } from './lib/bench-server.js';
import { processCpu } from './lib/proc-cpu.js';
import { runMain } from './lib/run-main.js';

const ROOT = resolve(import.meta.dirname, '..');
const API = PASSWORDLESS_API;
const REDIRECT = BENCH_REDIRECT;

const { concurrency: CONCURRENCY, warmUpMs: WARM_UP_MS, measureMs: MEASURE_MS, maxRequests: MAX_REQUESTS } = STANDARD_WINDOW;
/** How long after the window the outbox depth is read again. */
const SETTLE_MS = 10_000;
const HARD_LIMIT_MS = 4 * 60_000;
/** Stalled throughput wanted relative to healthy. */
const RPS_TARGET = 0.9;

const children = new Set<ChildProcess>();
const closers: (() => Promise<void>)[] = [];

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

// ---- SMTP servers -------------------------------------------------------------------------------

interface Smtp {
  readonly url: string;
  close(): Promise<void>;
}

/** @sesame/testkit's SMTP capture keeping nothing: a sink that accepts every message. */
const HEALTHY_SMTP = `
import { startSmtpCapture } from '@sesame/testkit';
const smtp = await startSmtpCapture({ discard: true });
process.stdout.write('SMTP ' + smtp.port + '\\n');
process.once('SIGTERM', () => void smtp.close().then(() => process.exit(0)));
`;

async function healthySmtp(): Promise<Smtp> {
  const child = startProcess(process.execPath, ['--input-type=module', '-e', HEALTHY_SMTP], {
    cwd: ROOT,
    env: process.env,
    keepOutputChars: 8_000,
  });
  const [, port] = await waitForOutput(child, /^SMTP (\d+)$/m, 60_000, 'smtp-server');
  return {
    url: `smtp://127.0.0.1:${port}`,
    close: async () => {
      await child.stop(2_000);
    },
  };
}

// ---- the Sesame server --------------------------------------------------------------------------

async function startServer(smtpUrl: string): Promise<BenchServer> {
  const server = await startBenchServer({ env: { SESAME_BENCH_SMTP_URL: smtpUrl }, maxSockets: CONCURRENCY, readyTimeoutMs: 60_000 });
  track(server.child);
  return server;
}

async function outboxDepth(server: BenchServer): Promise<number> {
  return (await getJson<{ outboxDepth: number }>(`${server.sidecar}/stats`, 30_000)).outboxDepth;
}

let sequence = 0;
const runTag = `${process.pid}-${Date.now().toString(36)}`;

function sendOp(server: BenchServer): Operation {
  return async () => {
    const reply = await postJson(server, `${API}/send`, {
      email: `stall-${runTag}-${++sequence}@example.com`,
      magiclink_auth_uri: REDIRECT,
    });
    return reply.status === 200;
  };
}

// ---- main ---------------------------------------------------------------------------------------

interface Row {
  readonly smtp: string;
  readonly result: ClosedLoopResult;
  readonly serverMsPerReq: number;
  readonly depthAtEnd: number;
  readonly depthLater: number;
}

async function measure(label: string, startSmtp: () => Promise<Smtp>): Promise<Row> {
  const smtp = await startSmtp();
  closers.push(() => smtp.close());
  const server = await startServer(smtp.url);
  try {
    const cpu = { before: NaN };
    const result = await runClosedLoop(sendOp(server), {
      concurrency: CONCURRENCY,
      warmUpMs: WARM_UP_MS,
      measureMs: MEASURE_MS,
      maxRequests: MAX_REQUESTS,
      onMeasureStart: () => (cpu.before = processCpu(server.pid)?.selfMs ?? NaN),
    });
    const serverMsPerReq = ((processCpu(server.pid)?.selfMs ?? NaN) - cpu.before) / result.requests;
    const depthAtEnd = await outboxDepth(server);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const depthLater = await outboxDepth(server);
    console.log(
      `${label}: ${fmt(result.rps, 0)} req/s, p50 ${fmt(result.p50)} ms, p99 ${fmt(result.p99)} ms, ${result.errors} errors; outbox ${depthAtEnd} → ${depthLater}`,
    );
    return { smtp: label, result, serverMsPerReq, depthAtEnd, depthLater };
  } finally {
    // The SMTP server first: a stalled one would hold the worker's batch (and the shutdown) for
    // up to its send budget; closed, the sends fail at once.
    await smtp.close();
    server.agent.destroy();
    await stopBenchServer(server);
  }
}

async function main(): Promise<number> {
  console.log(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const rows: Row[] = [];
  rows.push(await measure('healthy', healthySmtp));
  rows.push(await measure('stalled (no greeting)', () => startFaultySmtp({ kind: 'stall' })));
  rows.push(await measure('stalled (no reply to DATA)', () => startFaultySmtp({ kind: 'silent-after-data' })));

  const healthy = rows[0]!.result;
  console.log('');
  console.log(
    markdownTable(
      [
        'SMTP server',
        'req/s',
        'p50 ms',
        'p99 ms',
        'errors',
        'requests',
        'Sesame CPU ms/req',
        'req/s ÷ healthy',
        'p99 ÷ healthy',
        'outbox at end',
        `outbox ${SETTLE_MS / 1000} s later`,
      ],
      rows.map((r) => [
        r.smtp,
        ...resultCells(r.result),
        fmt(r.serverMsPerReq, 2),
        fmt(r.result.rps / healthy.rps, 2),
        fmt(r.result.p99 / healthy.p99, 2),
        String(r.depthAtEnd),
        String(r.depthLater),
      ]),
    ),
  );
  console.log('');
  const worst = Math.min(...rows.slice(1).map((r) => r.result.rps / healthy.rps));
  console.log(`stalled ÷ healthy throughput, worst: ${fmt(worst, 2)} (target ≥ ${RPS_TARGET}: ${worst >= RPS_TARGET ? 'ok' : 'BELOW'})`);
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  return 0;
}

async function cleanup(): Promise<void> {
  for (const close of closers) await close().catch(() => undefined);
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await killStartedProcesses();
}

await runMain(main, cleanup, {
  hardLimit: { ms: HARD_LIMIT_MS, message: `bench:smtp-stall: hard limit of ${HARD_LIMIT_MS / 60_000} min reached; stopping` },
});
