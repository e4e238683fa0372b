/**
 * One database's phase of bench:growth: send, then verify by code and by link on auth requests
 * this run created, each in the closed loop, with the server's CPU over the measured window.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { postPasswordless, sidecarStats, takeMail, verifyBody } from '../lib/bench-api.js';
import type { BenchServer } from '../lib/bench-server.js';
import {
  BENCH_REDIRECT as REDIRECT,
  OutOfWork,
  resultLine,
  runClosedLoop,
  type ClosedLoopResult,
  type Operation,
} from '../lib/closed-loop.js';
import { processCpu, processRssMiB } from '../lib/proc-cpu.js';
import { startTrackedServer } from '../lib/tracked-servers.js';
import { CONCURRENCY, DRAIN_MS, FILL_MS, MAX_REQUESTS, MEASURE_MS, VERIFY_POOL, WARM_UP_MS } from './options.js';

/** The bench server on a database, with the queued outbox rows it had at start (parked rows of a prefilled file). */
export interface GrowthServer extends BenchServer {
  readonly startDepth: number;
}

export interface Row {
  readonly database: string;
  readonly workload: string;
  readonly result: ClosedLoopResult;
  /** Server CPU (ms) per measured request, over the measured window. */
  readonly serverMsPerReq: number;
  readonly rssMiB: number;
}

export async function startServer(env: Record<string, string>): Promise<GrowthServer> {
  const server = await startTrackedServer({ env, maxSockets: CONCURRENCY });
  return { ...server, startDepth: (await sidecarStats(server)).outboxDepth };
}

let sequence = 0;
const runTag = `${process.pid}-${Date.now().toString(36)}`;

function sendOp(server: BenchServer): Operation {
  return async () => {
    const email = `growth-${runTag}-${++sequence}@example.com`;
    const reply = await postPasswordless(server, 'send', { email, magiclink_auth_uri: REDIRECT });
    return reply.status === 200;
  };
}

function verifyOp(server: BenchServer, pool: readonly Record<string, string>[]): Operation {
  let next = 0;
  return async () => {
    const body = pool[next++];
    if (!body) throw new OutOfWork();
    const reply = await postPasswordless(server, 'verify', body);
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
  console.log(`  ${workload}: ${resultLine(result)}${note}`);
  return row;
}

/** Waits (bounded) until the outbox is back to its starting depth. */
async function drain(server: GrowthServer): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  for (;;) {
    const { outboxDepth } = await sidecarStats(server);
    if (outboxDepth <= server.startDepth) return;
    if (Date.now() > deadline) {
      console.log(`  (outbox: ${outboxDepth - server.startDepth} emails still queued after ${DRAIN_MS / 1000} s)`);
      return;
    }
    await sleep(100);
  }
}

/** Untimed sends until the mailbox holds 2 × VERIFY_POOL requests (bounded by FILL_MS). */
async function fill(server: GrowthServer): Promise<void> {
  const { captured } = await sidecarStats(server);
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
  const otp = await takeMail(server, 'otp', 200_000);
  const link = await takeMail(server, 'link', 200_000);
  const half = new Set(otp.filter((_, i) => i % 2 === 0).map((mail) => mail.auth_request_id));
  return {
    byCode: otp.filter((mail) => half.has(mail.auth_request_id)).map(verifyBody),
    byLink: link.filter((mail) => !half.has(mail.auth_request_id)).map(verifyBody),
  };
}

export async function phase(database: string, server: GrowthServer): Promise<Row[]> {
  const rows: Row[] = [];
  rows.push(await measure(database, 'send', server, sendOp(server)));
  await fill(server);
  const { byCode, byLink } = await pools(server);
  console.log(`  pools: ${byCode.length} codes, ${byLink.length} links`);
  rows.push(await measure(database, 'verify (code)', server, verifyOp(server, byCode)));
  rows.push(await measure(database, 'verify (link)', server, verifyOp(server, byLink)));
  return rows;
}
