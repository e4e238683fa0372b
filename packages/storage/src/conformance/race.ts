/** Runs operations from several worker threads at once, each on its own store connection. */
import { Worker } from 'node:worker_threads';
import type { RaceOp, RaceResult, RaceWorkerData, WorkerToMain } from './race-protocol.js';

/**
 * Starts one worker per entry of `opsPerWorker`; they open their connections, meet at a start
 * line and run together (in `lockstep`, meeting again before every operation). Resolves with
 * each worker's results, in order.
 */
export async function race(
  url: string,
  opsPerWorker: readonly (readonly RaceOp[])[],
  options: { readonly lockstep?: boolean } = {},
): Promise<RaceResult[][]> {
  const lockstep = options.lockstep ?? false;
  if (lockstep && new Set(opsPerWorker.map((ops) => ops.length)).size > 1) throw new Error('Lockstep workers need equally many operations.');
  // Compiled JS beside this file: the suite runs from dist, as a backend's tests import it.
  const script = new URL('./race-worker.js', import.meta.url);
  const start = new SharedArrayBuffer(4);
  const workers = opsPerWorker.map(
    (ops) => new Worker(script, { workerData: { url, ops, start, workers: opsPerWorker.length, lockstep } satisfies RaceWorkerData }),
  );
  try {
    const done = workers.map((worker) => nextMessage(worker, 'done'));
    const messages = await Promise.all(done);
    return messages.map((message) => (message.type === 'done' ? [...message.results] : []));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

function nextMessage(worker: Worker, type: 'done'): Promise<WorkerToMain> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerToMain): void => {
      cleanup();
      if (message.type === 'error') reject(new Error(`race worker failed: ${message.message}`));
      else resolve(message);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`race worker exited (code ${code}) before saying ${type}`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** Splits `ops` round-robin over `workers` lists. */
export function spread<T>(ops: readonly T[], workers: number): T[][] {
  const lists: T[][] = Array.from({ length: workers }, () => []);
  ops.forEach((op, i) => lists[i % workers]!.push(op));
  return lists;
}
