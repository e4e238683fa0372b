/**
 * Reading the schema's state without changing it, and refusing a schema a newer build wrote:
 * the same body on SQLite (a temp file) and PostgreSQL (one private cluster for the file).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '@sesame/core';
import {
  LATEST_VERSION,
  MIGRATIONS,
  NewerSchemaError,
  POSTGRES_LATEST_VERSION,
  POSTGRES_MIGRATIONS,
  isNewerSchemaError,
  openStore,
  type Migration,
} from '@sesame/storage';
import { queryPostgres, querySqlite, startPostgresCluster, type PostgresCluster } from '@sesame/testkit';

interface Backend {
  readonly known: readonly Migration[];
  readonly latest: number;
  /** A fresh, empty database: its URL, a raw statement runner, and cleanup. */
  readonly fresh: () => Promise<{ url: string; exec: (sql: string) => Promise<unknown[]>; dispose: () => Promise<void> }>;
}

function statusSuite(name: string, backend: () => Backend): void {
  describe(`${name}: migration status`, () => {
    it('reports a fresh database as all pending and creates nothing', async () => {
      const { known, latest, fresh } = backend();
      const db = await fresh();
      const store = openStore(db.url);
      try {
        const status = await store.migrationStatus();
        expect(status).toEqual({
          applied: [],
          pending: known.map(({ version, name: stepName }) => ({ version, name: stepName })),
          databaseVersion: 0,
          latestVersion: latest,
          databaseNewer: false,
        });
        expect(await store.ready()).toBe(false);
        // Still no bookkeeping table: the status read is not a migration.
        await expect(db.exec('SELECT count(*) AS n FROM schema_migrations')).rejects.toThrow(/schema_migrations/);
      } finally {
        await store.close();
        await db.dispose();
      }
    });

    it('after migrate() lists every step with its time and nothing pending', async () => {
      const { known, latest, fresh } = backend();
      const db = await fresh();
      const store = openStore(db.url);
      try {
        const before = Date.now();
        await store.migrate();
        const status = await store.migrationStatus();
        expect(status.pending).toEqual([]);
        expect(status.databaseNewer).toBe(false);
        expect(status.databaseVersion).toBe(latest);
        expect(status.applied.map((step) => [step.version, step.name])).toEqual(known.map((step) => [step.version, step.name]));
        for (const step of status.applied) expect(step.appliedAt).toBeGreaterThanOrEqual(before);
      } finally {
        await store.close();
        await db.dispose();
      }
    });

    it('refuses to migrate a database a newer build migrated, naming both versions, and changes nothing', async () => {
      const { latest, fresh } = backend();
      const db = await fresh();
      const first = openStore(db.url);
      await first.migrate();
      await first.close();
      const newer = latest + 1;
      await db.exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${newer}, 'from the future', 1)`);
      const snapshot = await db.exec('SELECT version, name, applied_at FROM schema_migrations ORDER BY version');

      const store: Store = openStore(db.url);
      try {
        const status = await store.migrationStatus();
        expect(status).toMatchObject({ databaseVersion: newer, latestVersion: latest, databaseNewer: true, pending: [] });
        expect(status.applied.at(-1)).toEqual({ version: newer, name: 'from the future', appliedAt: 1 });
        expect(await store.ready()).toBe(false);

        const error: unknown = await store.migrate().then(
          () => null,
          (thrown: unknown) => thrown,
        );
        expect(isNewerSchemaError(error)).toBe(true);
        expect(error).toBeInstanceOf(NewerSchemaError);
        const message = (error as Error).message;
        expect(message).toContain(`version ${newer}`);
        expect(message).toContain(`up to ${latest}`);
        expect(message).toMatch(/newer Sesame.*restore a backup/s);
        expect(await db.exec('SELECT version, name, applied_at FROM schema_migrations ORDER BY version')).toEqual(snapshot);
      } finally {
        await store.close();
        await db.dispose();
      }
    });
  });
}

statusSuite('sqlite', () => ({
  known: MIGRATIONS,
  latest: LATEST_VERSION,
  fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-migration-status-'));
    const filename = join(dir, 'sesame.db');
    return Promise.resolve({
      url: `file:${filename}`,
      exec: (sql: string) => querySqlite(filename, sql),
      dispose() {
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    });
  },
}));

let cluster: PostgresCluster | undefined;
let databases = 0;

beforeAll(async () => {
  cluster = await startPostgresCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

statusSuite('postgres', () => ({
  known: POSTGRES_MIGRATIONS,
  latest: POSTGRES_LATEST_VERSION,
  async fresh() {
    const server = cluster!;
    const name = `sesame_status_${process.pid}_${++databases}`;
    await queryPostgres(server.url, `CREATE DATABASE ${name}`);
    const url = server.url.replace(/\/postgres$/, `/${name}`);
    return {
      url,
      exec: (sql: string) => queryPostgres(url, sql),
      async dispose() {
        await queryPostgres(server.url, `DROP DATABASE ${name} WITH (FORCE)`);
      },
    };
  },
}));
