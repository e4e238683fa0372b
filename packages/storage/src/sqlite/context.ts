/**
 * What every role of the SQLite store works with: the connection, its statement cache, the
 * group commit that the auth-request and outbox writes go through, and the memo of configuration
 * reads. One per connection, shared by all roles.
 */
import type Database from 'better-sqlite3';
import { createConfigReadCache, type ConfigReadCache } from './config-cache.js';
import { createGroupCommit, type GroupCommit } from './group-commit.js';
import { statementCache, type Statements } from './statements.js';

export interface SqliteContext extends Statements {
  readonly db: Database.Database;
  readonly group: GroupCommit;
  /** Clients and settings are read on every API call and almost never written (./config-cache.ts). */
  readonly memo: ConfigReadCache;
  /**
   * `fn` as a write that joins the next group-committed batch (./group-commit.ts): the writes
   * asked for in one turn of the event loop share one `BEGIN IMMEDIATE … COMMIT`.
   */
  readonly grouped: <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A) => Promise<R>;
  /** `fn` as a `BEGIN IMMEDIATE` transaction of its own, run at once. */
  readonly immediate: <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A) => R;
}

export function createContext(db: Database.Database): SqliteContext {
  const group = createGroupCommit(db);
  return {
    ...statementCache(db),
    db,
    group,
    memo: createConfigReadCache(db, ['api_clients', 'settings']),
    grouped:
      <A extends unknown[], R>(fn: (...args: A) => R) =>
      (...args: A) =>
        group.run(() => fn(...args)),
    immediate: <A extends unknown[], R>(fn: (...args: A) => R) => {
      const transaction = db.transaction(fn);
      return (...args: A) => transaction.immediate(...args);
    },
  };
}
