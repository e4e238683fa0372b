/**
 * One bench:grpc phase: a fresh bench server, the verify pool when the operation needs one, the
 * closed loop over REST or gRPC, and the CPU each side spent over the measured window.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logTail, stopBenchServer } from '../lib/bench-server.js';
import { fmt, resultLine, runClosedLoop, type ClosedLoopResult, type Operation } from '../lib/closed-loop.js';
import { machineBusyMs, ownCpuMs, processCpu, processRssMiB } from '../lib/proc-cpu.js';
import { startTrackedServer } from '../lib/tracked-servers.js';
import { closeSessions, grpcClients } from './clients.js';
import {
  CONCURRENCY,
  GRPC_CLIENT,
  MAX_REQUESTS,
  MEASURE_MS,
  SERVER_NODE_ARGS,
  SESSIONS,
  WARM_UP_MS,
  type OperationName,
  type Protocol,
} from './options.js';
import { fillPool, grpcOperation, restOperation, type PoolItem } from './workload.js';

export interface Row {
  readonly protocol: Protocol;
  readonly operation: OperationName;
  readonly result: ClosedLoopResult;
  readonly serverMsPerReq: number;
  readonly benchMsPerReq: number;
  readonly otherCores: number;
  readonly serverRssMiB: number;
  readonly pool: number | undefined;
}

interface CpuSample {
  readonly at: number;
  readonly server: number;
  readonly bench: number;
  readonly machine: number;
  readonly completed: number;
}

/** The servers' log files: one directory for the run, kept when a phase failed. */
export const serverLogs = {
  dir: undefined as string | undefined,
  keep: false,
  path(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'sesame-bench-grpc-'));
    return this.dir;
  },
  remove(): void {
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
  },
};

/** `fillBudgetMs`: how long the untimed fill of a verify phase may take. */
export async function runPhase(protocol: Protocol, operation: OperationName, fillBudgetMs: number): Promise<Row> {
  const target = await startTrackedServer({ maxSockets: CONCURRENCY, nodeArgs: SERVER_NODE_ARGS, logDir: serverLogs.path() });
  try {
    let pool: PoolItem[] = [];
    let poolSize: number | undefined;
    if (operation !== 'send') {
      const filled = await fillPool(target, operation === 'verify-otp' ? 'otp' : 'link', fillBudgetMs);
      pool = filled.items;
      poolSize = pool.length;
      console.log(
        `  ${protocol} ${operation}: ${pool.length} ${operation === 'verify-otp' ? 'codes' : 'links'} at hand (untimed: ${filled.accepted} sends in ${fmt(filled.sendMs / 1000)} s, mail drained in ${fmt(filled.drainMs / 1000)} s)`,
      );
    }
    const inner =
      protocol === 'REST'
        ? restOperation(operation, target, pool)
        : grpcOperation(
            operation,
            Array.from({ length: SESSIONS }, () => grpcClients[GRPC_CLIENT](target)),
            pool,
          );
    let completed = 0;
    const counted: Operation = async (index) => {
      try {
        return await inner(index);
      } finally {
        completed++;
      }
    };
    const sample = (): CpuSample => ({
      at: performance.now(),
      server: processCpu(target.pid)?.selfMs ?? NaN,
      bench: ownCpuMs(),
      machine: machineBusyMs(),
      completed,
    });
    let before: CpuSample | undefined;
    const result = await runClosedLoop(counted, {
      concurrency: CONCURRENCY,
      warmUpMs: WARM_UP_MS,
      measureMs: MEASURE_MS,
      maxRequests: MAX_REQUESTS,
      onMeasureStart: () => (before = sample()),
    });
    const after = sample();
    const from = before ?? after;
    const requests = after.completed - from.completed;
    const perReq = (ms: number) => (requests > 0 ? ms / requests : NaN);
    const server = after.server - from.server;
    const bench = after.bench - from.bench;
    const other = after.machine - from.machine - server - bench;
    const row: Row = {
      protocol,
      operation,
      result,
      serverMsPerReq: perReq(server),
      benchMsPerReq: perReq(bench),
      otherCores: Math.max(0, other) / Math.max(1, after.at - from.at),
      serverRssMiB: processRssMiB(target.pid),
      pool: poolSize,
    };
    closeSessions();
    const short = result.exhausted ? `, ran out of work after ${fmt(result.seconds)} s measured` : '';
    console.log(
      `  ${protocol} ${operation}: ${resultLine(result)}, server ${fmt(row.serverMsPerReq, 3)} / bench ${fmt(row.benchMsPerReq, 3)} CPU ms/req${short}`,
    );
    if (result.errors > 0) console.log(`  ${protocol} ${operation}: the server's last output:\n${logTail(target)}`);
    return row;
  } catch (error) {
    serverLogs.keep = true;
    console.error(`  ${protocol} ${operation} failed; the server's last output:\n${logTail(target)}`);
    throw error;
  } finally {
    // SIGTERM (graceful), SIGKILL after 5 s.
    await stopBenchServer(target, 5_000);
  }
}
