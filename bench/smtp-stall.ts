/**
 * Send latency is independent of SMTP (target: "with a stalled SMTP server the figures do not
 * drop"). REST send against the bench server (bench/sesame/server.mjs, the real Sesame on
 * SQLite with its outbox worker) delivering through the real SMTP transport
 * (SESAME_BENCH_SMTP_URL) to, in one run:
 *
 *   - a healthy SMTP server: smtp-server accepting every message, in a child process of its own
 *     (so its work neither shares this process's event loop with the load generator nor is
 *     counted as Sesame's);
 *   - a stalled one that accepts TCP and never sends a greeting (@sesame/testkit's 'stall');
 *   - a stalled one that speaks SMTP up to DATA's 354, takes the message and never answers it.
 *
 *   npm run bench:smtp-stall
 *
 * Per row: a fresh server and database, send (a new address per request) in a closed loop of
 * CONCURRENCY workers over node:http keep-alive connections, WARM_UP_MS then MEASURE_MS, bounded
 * by MAX_REQUESTS; the Sesame process's CPU over the window; the outbox depth at the end of the
 * window and SETTLE_MS later (healthy: drains; stalled: grows and stays).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { startFaultySmtp, type FaultySmtp } from '@sesame/testkit';
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
import { getJson, postJson, startBenchServer, stopBenchServer, stopChild, type BenchServer } from './lib/bench-server.js';
import { processCpu } from './lib/proc-cpu.js';

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

/** Resolves with the first capture of `pattern` in the child's stdout. */
function waitForLine(child: ChildProcess, pattern: RegExp, label: string, output: { text: string }): Promise<string> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${label}: not ready within 60 s\n${output.text}`)), 60_000);
    const keep = (d: Buffer) => {
      output.text = (output.text + d.toString()).slice(-8_000);
      const match = pattern.exec(output.text)?.[1];
      if (match !== undefined) {
        clearTimeout(timer);
        done(match);
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`${label} exited early (${code ?? signal})\n${output.text}`));
    });
  });
}

// ---- SMTP servers -------------------------------------------------------------------------------

interface Smtp {
  readonly url: string;
  close(): Promise<void>;
}

/** A plain smtp-server in a child process that accepts and discards every message. */
const HEALTHY_SMTP = `
import { SMTPServer } from 'smtp-server';
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, _session, callback) {
    stream.on('end', () => callback());
    stream.resume();
  },
});
server.on('error', () => undefined);
server.listen(0, '127.0.0.1', () => process.stdout.write('SMTP ' + server.server.address().port + '\\n'));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
`;

async function healthySmtp(): Promise<Smtp> {
  const child = track(
    spawn(process.execPath, ['--input-type=module', '-e', HEALTHY_SMTP], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const port = await waitForLine(child, /^SMTP (\d+)$/m, 'smtp-server', { text: '' });
  return { url: `smtp://127.0.0.1:${port}`, close: () => stopChild(child, 2_000) };
}

/** Speaks SMTP up to DATA's 354, reads the message, and never answers it (nor anything after). */
async function stalledAtDataSmtp(): Promise<Smtp> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    let buffered = '';
    let inData = false;
    socket.write('220 stall.test ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      if (inData) return;
      buffered += chunk.toString('latin1');
      let newline: number;
      while (!inData && (newline = buffered.indexOf('\r\n')) >= 0) {
        const verb = buffered.slice(0, 4).toUpperCase();
        buffered = buffered.slice(newline + 2);
        if (verb === 'EHLO') socket.write('250-stall.test\r\n250 8BITMIME\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 Go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 Bye\r\n');
        else socket.write('250 OK\r\n');
      }
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
}

async function stalledSmtp(): Promise<Smtp> {
  const faulty: FaultySmtp = await startFaultySmtp({ kind: 'stall' });
  return { url: faulty.url, close: () => faulty.close() };
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

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const rows: Row[] = [];
  rows.push(await measure('healthy', healthySmtp));
  rows.push(await measure('stalled (no greeting)', stalledSmtp));
  rows.push(await measure('stalled (no reply to DATA)', stalledAtDataSmtp));

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
}

async function cleanup(): Promise<void> {
  for (const close of closers) await close().catch(() => undefined);
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

const hard = setTimeout(() => {
  console.error(`bench:smtp-stall: hard limit of ${HARD_LIMIT_MS / 60_000} min reached; stopping`);
  void cleanup().finally(() => process.exit(2));
}, HARD_LIMIT_MS);

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  clearTimeout(hard);
  await cleanup();
}
