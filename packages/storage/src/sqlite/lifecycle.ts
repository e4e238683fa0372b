/**
 * The SQLite store's lifecycle: the migration runner (the steps themselves are in
 * ./migrations.ts), the readiness check, and closing.
 */
import type { AppliedMigration, StoreLifecycle } from '@sesame/core';
import { assertNotNewer, migrationStatusOf } from '../migration-status.js';
import type { Checkpointer } from './checkpointer.js';
import type { SqliteContext } from './context.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';

export function sqliteLifecycle(ctx: SqliteContext, checkpointer: Checkpointer | null): StoreLifecycle {
  const { db, get, run, group, memo } = ctx;

  function currentVersion(): number {
    const row = get('SELECT max(version) AS version FROM schema_migrations') as { version: number | null };
    return row.version ?? 0;
  }

  // IMMEDIATE: two processes starting together serialise here; the second sees the first's work.
  const migrate = ctx.immediate((): void => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER NOT NULL PRIMARY KEY,
      name       TEXT    NOT NULL,
      applied_at INTEGER NOT NULL
    ) STRICT`);
    const version = currentVersion();
    assertNotNewer(version, LATEST_VERSION);
    for (const step of MIGRATIONS) {
      if (step.version <= version) continue;
      db.exec(step.sql);
      // The one clock read in the store: bookkeeping, not a domain time.
      run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @appliedAt)', {
        version: step.version,
        name: step.name,
        appliedAt: Date.now(),
      });
    }
  });

  /** Read-only: a fresh database has no schema_migrations table, and none is created here. */
  function appliedSteps(): AppliedMigration[] {
    const table = get("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'") as
      { found: number } | undefined;
    if (table === undefined) return [];
    const rows = db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as {
      version: number;
      name: string;
      applied_at: number | null;
    }[];
    return rows.map((row) => ({ version: row.version, name: row.name, appliedAt: row.applied_at }));
  }

  return {
    async migrationStatus() {
      return Promise.resolve(migrationStatusOf(MIGRATIONS, appliedSteps()));
    },
    async migrate() {
      memo.reset();
      migrate();
      return Promise.resolve();
    },
    async ready() {
      let version: number;
      try {
        version = currentVersion();
      } catch {
        // No schema_migrations table yet, or the connection is closed.
        version = -1;
      }
      return Promise.resolve(version === LATEST_VERSION);
    },
    async close() {
      // Commands already queued commit (or fail) before the connection goes.
      if (db.open) group.flushNow();
      await checkpointer?.stop();
      if (db.open) db.close();
      return Promise.resolve();
    },
  };
}
