/** Runs operations from several worker threads at once, each on its own store connection. */
import { Worker } from 'node:worker_threads';
import type { MainToWorker, RaceOp, RaceResult, RaceWorkerData, WorkerToMain } from './race-protocol.js';

/**
 * Starts one worker per entry of `opsPerWorker`, waits until every one has opened its
 * connection, then releases them together. Resolves with each worker's results, in order.
 */
export async function race(url: string, opsPerWorker: readonly (readonly RaceOp[])[]): Promise<RaceResult[][]> {
  // Compiled JS beside this file: the suite runs from dist, as a backend's tests import it.
  const script = new URL('./race-worker.js', import.meta.url);
  const workers = opsPerWorker.map((ops) => new Worker(script, { workerData: { url, ops } satisfies RaceWorkerData }));
  try {
    const ready = workers.map((worker) => nextMessage(worker, 'ready'));
    await Promise.all(ready);
    const done = workers.map((worker) => nextMessage(worker, 'done'));
    for (const worker of workers) worker.postMessage({ type: 'go' } satisfies MainToWorker);
    const messages = await Promise.all(done);
    return messages.map((message) => (message.type === 'done' ? [...message.results] : []));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

function nextMessage(worker: Worker, type: 'ready' | 'done'): Promise<WorkerToMain> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerToMain): void => {
      cleanup();
      if (message.type === 'error') reject(new Error(`race worker failed: ${message.message}`));
      else if (message.type !== type) reject(new Error(`race worker said ${message.type}, expected ${type}`));
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
