/** Migrating, health and closing of a PostgreSQL store. */
import type { StoreLifecycle } from '@sesame/core';
import { assertNotNewer, migrationStatusOf } from '../migration-status.js';
import { POSTGRES_LATEST_VERSION, POSTGRES_MIGRATIONS } from './migrations.js';
import type { Connections } from './pool.js';
import type { Runners } from './transactions.js';

const SCHEMA_VERSION = 'SELECT max(version) AS version FROM schema_migrations';

export function postgresLifecycle(db: Runners, connections: Connections, migrationTimeoutMs: number): StoreLifecycle {
  return {
    /** One transaction under a global advisory lock: instances starting together queue, each seeing the work of those before it. */
    async migrate() {
      await db.transaction(async (s) => {
        // Outside the per-statement limits of the pool: a schema change on a big table may take long.
        const long = migrationTimeoutMs + 1_000;
        await s.script(`SET LOCAL statement_timeout = ${migrationTimeoutMs}`);
        await s.script("SELECT pg_advisory_xact_lock(hashtextextended('sesame:migrate', 0))", long);
        await s.script(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER NOT NULL PRIMARY KEY,
        name       TEXT    NOT NULL,
        applied_at BIGINT  NOT NULL
      )`);
        const [row] = await s.rows<{ version: number | null }>(SCHEMA_VERSION);
        const version = row?.version ?? 0;
        assertNotNewer(version, POSTGRES_LATEST_VERSION);
        for (const step of POSTGRES_MIGRATIONS) {
          if (step.version <= version) continue;
          await s.script(step.sql, long);
          // The one clock read in the store: bookkeeping, not a domain time.
          await s.count('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1::integer, $2::text, $3::bigint)', [
            step.version,
            step.name,
            Date.now(),
          ]);
        }
      });
    },

    /** Read-only: a fresh database has no schema_migrations table, and none is created here. */
    async migrationStatus() {
      const applied = await db.read(async (s) => {
        const [table] = await s.rows<{ found: string | null }>("SELECT to_regclass('schema_migrations')::text AS found");
        if (table?.found == null) return [];
        const rows = await s.rows<{ version: number; name: string; applied_at: string | number | null }>(
          'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
        );
        return rows.map((row) => ({
          version: row.version,
          name: row.name,
          appliedAt: row.applied_at === null ? null : Number(row.applied_at),
        }));
      });
      return migrationStatusOf(POSTGRES_MIGRATIONS, applied);
    },

    async ready() {
      if (connections.closed) return false;
      try {
        const [row] = await db.read((s) => s.rows<{ version: number | null }>(SCHEMA_VERSION));
        return row?.version === POSTGRES_LATEST_VERSION;
      } catch {
        // Unreachable, no schema_migrations table yet, or closed.
        return false;
      }
    },

    close: () => connections.close(),
  };
}
