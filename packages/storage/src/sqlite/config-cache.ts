/**
 * Memoised reads of configuration rows (API clients, settings) for the SQLite store.
 *
 * Why: every API call reads its client (is it revoked?) and the policy setting; both change a
 * few times a year, yet reading them was a visible share of a send's CPU. A memo must still never
 * answer with a row that has changed, since revoking a client stops it at once. Two signals
 * cover every writer:
 * - another connection (a second process, the CLI's `clients revoke`, another store on the same
 *   file): SQLite's `PRAGMA data_version` changes whenever another connection commits. Asking
 *   costs a read transaction, as much as the read it saves, so it is asked once per turn of the
 *   event loop: a change committed elsewhere applies to every request read from the network
 *   after it (a request is read in a later turn than the one that checked);
 * - this connection: TEMP triggers on the cached tables (they see only this connection's
 *   writes, by any code path) empty the memo as the row changes.
 * Reads inside an open transaction bypass the memo, so a value written and then rolled back
 * can never be kept.
 */
import type Database from 'better-sqlite3';

/** Distinct keys kept at most; past it the memo starts over (keys are client ids and setting names). */
const MAX_ENTRIES = 1_000;

export interface ConfigReadCache {
  /** `load()`'s value, reused until one of the `tables` changes. `load` must read only those tables. */
  read<T>(key: string, load: () => T): T;
  /** Forget everything and reinstall the triggers at the next read (after migrations). */
  reset(): void;
}

export function createConfigReadCache(db: Database.Database, tables: readonly string[]): ConfigReadCache {
  const entries = new Map<string, unknown>();
  let seenVersion: unknown = null;
  let installed = false;
  const clear = (): null => {
    entries.clear();
    return null;
  };
  db.function('sesame_config_changed', { deterministic: false, directOnly: false }, clear);

  function install(): void {
    for (const table of tables) {
      for (const operation of ['INSERT', 'UPDATE', 'DELETE']) {
        db.exec(
          `CREATE TEMP TRIGGER IF NOT EXISTS sesame_memo_${table}_${operation.toLowerCase()}
           AFTER ${operation} ON main.${table} BEGIN SELECT sesame_config_changed(); END`,
        );
      }
    }
    installed = true;
  }

  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  let checkedThisTurn = false;
  const nextTurn = (): void => {
    checkedThisTurn = false;
  };

  return {
    read<T>(key: string, load: () => T): T {
      if (db.inTransaction) return load();
      if (!installed) install();
      if (!checkedThisTurn) {
        checkedThisTurn = true;
        setImmediate(nextTurn);
        const version = dataVersion.get();
        if (version !== seenVersion) {
          entries.clear();
          seenVersion = version;
        }
      }
      if (entries.has(key)) return entries.get(key) as T;
      const value = load();
      if (entries.size >= MAX_ENTRIES) entries.clear();
      entries.set(key, value);
      return value;
    },
    reset() {
      entries.clear();
      installed = false;
    },
  };
}
