/**
 * Row counts of the server's own SQLite file, read beside it: the bench server keeps the file in
 * a temp dir of its own, found through the server's open file descriptors.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import Database from 'better-sqlite3';

export const TABLES = ['auth_requests', 'outbox', 'delivery_events', 'send_log', 'otp_failures'] as const;
export type Table = (typeof TABLES)[number];

export interface RowCounter {
  counts(): Record<Table, number>;
  /** Pages in use (not on the freelist): what the server's page cache can hold of this file. */
  usedMiB(): number;
  close(): void;
}

/** The server's SQLite file, from its open file descriptors. */
export function databaseFileOf(pid: number): string {
  const dir = `/proc/${pid}/fd`;
  for (const fd of readdirSync(dir)) {
    let target: string;
    try {
      target = readlinkSync(`${dir}/${fd}`);
    } catch {
      continue;
    }
    if (target.endsWith('.db')) return target;
  }
  throw new Error(`no open .db file in ${dir}`);
}

export function rowCounter(file: string): RowCounter {
  // Read-only and one statement per count: a WAL reader never blocks the server's writers, and
  // a short read transaction holds back its checkpoints only for the count's milliseconds.
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const statements = TABLES.map((table) => [table, db.prepare(`SELECT count(*) AS n FROM ${table}`)] as const);
  return {
    counts() {
      const result = {} as Record<Table, number>;
      for (const [table, statement] of statements) {
        try {
          result[table] = (statement.get() as { n: number }).n;
        } catch {
          // SQLITE_BUSY while the server's checkpointer resets the WAL: this sample shows '-'.
          result[table] = NaN;
        }
      }
      return result;
    },
    usedMiB() {
      try {
        const pages = (db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number);
        return (pages * (db.pragma('page_size', { simple: true }) as number)) / 2 ** 20;
      } catch {
        return NaN;
      }
    },
    close: () => db.close(),
  };
}
