/**
 * The SQLite store's checkpointer thread (see ./checkpointer.ts): its own connection to the
 * database file copies the WAL back into the database, so the copy and its fsyncs never run on
 * the thread that serves requests.
 *
 * Every `intervalMs` a PASSIVE checkpoint copies what it can without waiting for anyone. Under
 * steady writes a passive checkpoint may never see the WAL fully copied at the instant a writer
 * starts (which is when SQLite rewinds the WAL to its beginning), so when the WAL holds more than
 * `restartAbovePages` pages, a RESTART checkpoint waits (busy_timeout) for the writer in flight,
 * copies the rest and makes the next writer rewind: the WAL stays bounded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CheckpointerData, CheckpointerMessage } from './checkpoint-protocol.js';

const data = workerData as CheckpointerData;
const port = parentPort;
if (!port) throw new Error('checkpoint-worker.js runs as a worker thread.');

const db = new Database(data.filename, { timeout: data.busyTimeoutMs, fileMustExist: true });
db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(data.busyTimeoutMs))}`);
// This connection only checkpoints; it never checkpoints on commit because it never commits.
db.pragma('wal_autocheckpoint = 0');

interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

/** Consecutive failed ticks after which the thread gives up (a persistent error, not a busy moment). */
const MAX_FAILURES = 20;

let checkpoints = 0;
let restarts = 0;
let failures = 0;

function checkpoint(mode: 'PASSIVE' | 'RESTART'): CheckpointRow {
  const [row] = db.pragma(`wal_checkpoint(${mode})`) as CheckpointRow[];
  checkpoints += 1;
  return row ?? { busy: 0, log: 0, checkpointed: 0 };
}

function tick(): void {
  try {
    const passive = checkpoint('PASSIVE');
    if (passive.log > data.restartAbovePages) {
      restarts += 1;
      checkpoint('RESTART');
    }
    failures = 0;
  } catch (error) {
    // SQLITE_BUSY past busy_timeout and the like pass: try again at the next tick. A persistent
    // error is reported, and the store falls back to checkpointing on commit.
    failures += 1;
    if (failures >= MAX_FAILURES) {
      port?.postMessage({ kind: 'failed', message: error instanceof Error ? error.message : String(error) } satisfies CheckpointerMessage);
    }
  }
}

const timer = setInterval(tick, data.intervalMs);

port.on('message', (message: unknown) => {
  if (message === 'stats') {
    port.postMessage({ kind: 'stats', checkpoints, restarts } satisfies CheckpointerMessage);
    return;
  }
  if (message === 'stop') {
    clearInterval(timer);
    db.close();
    port.close();
  }
});
