/**
 * Opening the SQLite connection the store serves from: the file, its mode, and the pragmas.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** True for a database kept in a file (`:memory:` and `''` are private in-memory databases). */
export function isOnDisk(filename: string): boolean {
  return filename !== ':memory:' && filename !== '';
}

export function openConnection(filename: string, busyTimeoutMs: number): Database.Database {
  if (isOnDisk(filename)) {
    mkdirSync(dirname(filename), { recursive: true });
    // Create a new database file readable by its owner only: it holds credential digests,
    // sealed payloads and client-secret hashes. SQLite gives the -wal and -shm files the same mode.
    closeSync(openSync(filename, 'a', 0o600));
  }
  const db = new Database(filename, { timeout: busyTimeoutMs });
  // busy_timeout first, so that switching a fresh file to WAL waits for a concurrent opener.
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL: a commit survives a process crash; only an OS crash may lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Credential digests, ids and addresses are random keys: every insert lands on a different
  // index page. SQLite's default 2 MiB page cache then rereads most of them from the OS on each
  // send; 64 MiB (taken only as the database grows) keeps a busy server's working set in memory.
  db.pragma('cache_size = -65536');
  // Statement journals (a multi-row statement inside a group-committed batch) and the savepoints
  // of a batch rerun after a failure (./group-commit.ts) go to a sub-journal. On disk it spills to
  // a temp file past 64 KiB and is never truncated, so every journaled page costs two writes; in
  // memory it is dropped at the batch's end, and its size is bounded by one batch's pages.
  db.pragma('temp_store = MEMORY');
  return db;
}
