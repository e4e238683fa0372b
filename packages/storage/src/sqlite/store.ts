/**
 * The embedded default Store: one SQLite file (better-sqlite3, WAL), assembled from one module
 * per role over a shared connection (./context.ts).
 *
 * Every method that writes more than one statement runs in a `BEGIN IMMEDIATE` transaction. In
 * WAL mode a deferred transaction that reads and then writes can fail with SQLITE_BUSY_SNAPSHOT
 * without waiting; IMMEDIATE takes the write lock first, so concurrent processes queue on
 * `busy_timeout` instead, and a limit check and the write it guards see the same database. The
 * auth-request and outbox writes are group-committed (./group-commit.ts): those asked for in one
 * turn of the event loop share one such transaction, each with its own result.
 */
import type { Store } from '@sesame/core';
import { sqliteActivity } from './activity.js';
import { sqliteAdmins } from './admins.js';
import { sqliteApiClients } from './api-clients.js';
import { sqliteAuthRequests } from './auth-requests.js';
import { startCheckpointer, type CheckpointOptions } from './checkpointer.js';
import { isOnDisk, openConnection } from './connection.js';
import { createContext } from './context.js';
import { sqliteDevInbox } from './dev-inbox.js';
import { sqliteLifecycle } from './lifecycle.js';
import { sqliteOutbox } from './outbox.js';
import { sqliteSettings } from './settings.js';

export interface SqliteStoreOptions {
  /** Path of the database file; its directory is created when missing. `:memory:` works for one connection. */
  readonly filename: string;
  /** How long a writer waits for another connection's transaction before failing. Default 5000. */
  readonly busyTimeoutMs?: number;
  /**
   * Who checkpoints the WAL of a database file: a background thread (default; see
   * ./checkpointer.ts), or `'on-commit'`, SQLite's default of the committing connection itself.
   */
  readonly checkpoint?: CheckpointOptions | 'on-commit';
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

export function openSqliteStore(options: SqliteStoreOptions): Store {
  const { filename } = options;
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const db = openConnection(filename, busyTimeoutMs);
  const checkpointer =
    isOnDisk(filename) && options.checkpoint !== 'on-commit' ? startCheckpointer(db, filename, busyTimeoutMs, options.checkpoint) : null;
  const ctx = createContext(db);
  return {
    ...sqliteLifecycle(ctx, checkpointer),
    ...sqliteAuthRequests(ctx),
    ...sqliteOutbox(ctx),
    ...sqliteDevInbox(ctx),
    ...sqliteApiClients(ctx),
    ...sqliteAdmins(ctx),
    ...sqliteSettings(ctx),
    ...sqliteActivity(ctx),
  };
}
