/**
 * A race participant: a worker thread that, for each job, opens its own store connection from a
 * URL exactly as a second Sesame process would, and runs its operations once every worker of the
 * job has reached the start line.
 */
import { parentPort } from 'node:worker_threads';
import type { Store } from '@sesame/core';
import { openStore } from '../open.js';
import type { RaceJob, RaceOp, RaceResult, WorkerToMain } from './race-protocol.js';

async function run(store: Store, op: RaceOp): Promise<RaceResult> {
  switch (op.kind) {
    case 'migrate':
      await store.migrate();
      return { kind: 'migrate', ready: await store.ready() };
    case 'consumeWithOtp':
      return { kind: 'consumeWithOtp', result: await store.consumeWithOtp(op.command) };
    case 'createAuthRequest':
      return { kind: 'createAuthRequest', result: await store.createAuthRequest(op.command) };
    case 'reissueCredentials':
      return { kind: 'reissueCredentials', result: await store.reissueCredentials(op.command) };
    case 'claimOutbox':
      return { kind: 'claimOutbox', claims: await store.claimOutbox(op.command) };
    case 'drainOutbox': {
      const claimedIds: string[] = [];
      for (;;) {
        const claims = await store.claimOutbox(op.command);
        if (claims.length === 0) return { kind: 'drainOutbox', claimedIds };
        claimedIds.push(...claims.map((claim) => claim.id));
      }
    }
  }
}

async function runJob(job: RaceJob): Promise<RaceResult[]> {
  const store = openStore(job.url);
  try {
    await warmUp(store, job.ops);
    const line = new Int32Array(job.start);
    if (!job.lockstep) {
      startLine(line, job.workers);
      return await Promise.all(job.ops.map((op) => run(store, op)));
    }
    const results: RaceResult[] = [];
    for (const [round, op] of job.ops.entries()) {
      startLine(line, job.workers * (round + 1));
      results.push(await run(store, op));
    }
    return results;
  } finally {
    await store.close();
  }
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('race-worker must run as a worker thread.');
  const post = (message: WorkerToMain): void => port.postMessage(message);
  // The main thread sends one job at a time and waits for its answer.
  port.on('message', (job: RaceJob) => {
    runJob(job)
      .then((results) => post({ type: 'done', job: job.job, results }))
      .catch((error: unknown) => post({ type: 'error', job: job.job, message: describe(error) }));
  });
}

/**
 * Runs each kind of operation once where it can change nothing (an unknown id, a zero limit), so
 * connecting, loading the schema and preparing statements happen before the start line and the
 * racers' first real operations really do overlap.
 */
async function warmUp(store: Store, ops: readonly RaceOp[]): Promise<void> {
  await store.ready();
  // No real id contains '~' (ids are base64url); a NUL would do too, but PostgreSQL text cannot hold one.
  const ghost = '~warm-up';
  for (const kind of new Set(ops.map((op) => op.kind))) {
    const op = ops.find((candidate) => candidate.kind === kind);
    if (op?.kind === 'consumeWithOtp') await store.consumeWithOtp({ ...op.command, id: ghost });
    if (op?.kind === 'reissueCredentials')
      await store.reissueCredentials({ ...op.command, id: ghost, email: { ...op.command.email, authRequestId: ghost } });
    if (op?.kind === 'drainOutbox' || op?.kind === 'claimOutbox') await store.claimOutbox({ ...op.command, limit: 0 });
  }
}

const START_LINE_TIMEOUT_MS = 30_000;

/**
 * Arrives, then busy-waits until `arrivals` arrivals have been counted (every worker, times the
 * rounds so far). A crashed sibling fails the race instead of hanging it.
 */
function startLine(line: Int32Array, arrivals: number): void {
  Atomics.add(line, 0, 1);
  const deadline = Date.now() + START_LINE_TIMEOUT_MS;
  while (Atomics.load(line, 0) < arrivals) {
    if (Date.now() > deadline) throw new Error('Not every race worker reached the start line.');
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

main();
