/** Runs operations from several worker threads at once, each on its own store connection. */
import { Worker } from 'node:worker_threads';
import type { RaceJob, RaceOp, RaceResult, WorkerToMain } from './race-protocol.js';

export interface RacePool {
  /**
   * Runs `opsPerWorker[w]` on worker w, all workers at once: each opens its own connection to
   * `url`, they meet at a start line and run together (in `lockstep`, meeting again before every
   * operation). Resolves with each worker's results, in order.
   */
  race(url: string, opsPerWorker: readonly (readonly RaceOp[])[], options?: { readonly lockstep?: boolean }): Promise<RaceResult[][]>;
  close(): Promise<void>;
}

/**
 * Up to `size` worker threads, started on first use and kept for every race after: starting a
 * thread costs far more than a race, most of all on a busy machine.
 */
export function createRacePool(size: number): RacePool {
  // Compiled JS beside this file: the suite runs from dist, as a backend's tests import it.
  const script = new URL('./race-worker.js', import.meta.url);
  const workers: Worker[] = [];
  let jobs = 0;
  return {
    async race(url, opsPerWorker, options = {}) {
      const lockstep = options.lockstep ?? false;
      if (opsPerWorker.length > size) throw new Error(`A race of ${opsPerWorker.length} workers in a pool of ${size}.`);
      if (lockstep && new Set(opsPerWorker.map((ops) => ops.length)).size > 1)
        throw new Error('Lockstep workers need equally many operations.');
      while (workers.length < opsPerWorker.length) workers.push(new Worker(script));
      const job = ++jobs;
      const start = new SharedArrayBuffer(4);
      const done = opsPerWorker.map((ops, w) => {
        const worker = workers[w]!;
        const answer = nextAnswer(worker, job);
        worker.postMessage({ job, url, ops, start, workers: opsPerWorker.length, lockstep } satisfies RaceJob);
        return answer;
      });
      const messages = await Promise.all(done);
      return messages.map((message) => (message.type === 'done' ? [...message.results] : []));
    },
    async close() {
      await Promise.all(workers.splice(0).map((worker) => worker.terminate()));
    },
  };
}

function nextAnswer(worker: Worker, job: number): Promise<WorkerToMain> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerToMain): void => {
      if (message.job !== job) return;
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
      reject(new Error(`race worker exited (code ${code}) before answering`));
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
