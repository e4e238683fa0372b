/**
 * Keeps WAL checkpoints off the serving thread. By default SQLite checkpoints inside the commit
 * that pushes the WAL past 1000 pages: that commit (a request) copies the WAL into the database
 * and fsyncs both, several milliseconds during which the event loop serves no one. Here the
 * serving connection never checkpoints (`wal_autocheckpoint = 0`) and a worker thread with its
 * own connection does (./checkpoint-worker.ts), bounding the WAL by `restartAbovePages`.
 *
 * Should that thread fail, the serving connection goes back to checkpointing on commit: slower,
 * never an unbounded WAL.
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { CheckpointerData, CheckpointerMessage } from './checkpoint-protocol.js';

export interface CheckpointOptions {
  /** How often the thread checkpoints (default 100 ms). */
  readonly intervalMs?: number;
  /** WAL size, in pages, above which the thread makes the next writer rewind the WAL (default 4096). */
  readonly restartAbovePages?: number;
}

export interface Checkpointer {
  /** Checkpoints run and restarts forced so far (tests, diagnostics). */
  stats(): Promise<{ readonly checkpoints: number; readonly restarts: number }>;
  /** Stops the thread and closes its connection; call before closing the serving connection. */
  stop(): Promise<void>;
}

const DEFAULT_INTERVAL_MS = 100;
const DEFAULT_RESTART_ABOVE_PAGES = 4096;
/** SQLite's own default, restored if the thread fails. */
const AUTOCHECKPOINT_PAGES = 1000;
const STOP_TIMEOUT_MS = 5_000;

export function startCheckpointer(
  db: Database.Database,
  filename: string,
  busyTimeoutMs: number,
  options: CheckpointOptions = {},
): Checkpointer {
  const data: CheckpointerData = {
    filename,
    intervalMs: Math.max(1, options.intervalMs ?? DEFAULT_INTERVAL_MS),
    restartAbovePages: Math.max(1, options.restartAbovePages ?? DEFAULT_RESTART_ABOVE_PAGES),
    busyTimeoutMs,
  };
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  // A rewound WAL file is cut back to this size, so one burst does not keep a large file forever.
  db.pragma(`journal_size_limit = ${data.restartAbovePages * pageSize}`);
  db.pragma('wal_autocheckpoint = 0');

  let stopping = false;
  const worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: data });
  // The thread must not keep a process alive that forgot to close its store.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  function fallBack(): void {
    if (!stopping && db.open) db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  }
  worker.on('error', fallBack);
  worker.once('exit', fallBack);
  worker.on('message', (message: CheckpointerMessage) => {
    if (message.kind === 'failed') {
      fallBack();
      void worker.terminate();
    }
  });

  return {
    stats() {
      return new Promise((resolve, reject) => {
        const onMessage = (message: CheckpointerMessage): void => {
          if (message.kind !== 'stats') return;
          worker.off('message', onMessage);
          resolve({ checkpoints: message.checkpoints, restarts: message.restarts });
        };
        worker.on('message', onMessage);
        exited.then(() => reject(new Error('The checkpointer thread has stopped.')), reject);
        worker.postMessage('stats');
      });
    },
    async stop() {
      if (stopping) return exited;
      stopping = true;
      worker.postMessage('stop');
      const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
