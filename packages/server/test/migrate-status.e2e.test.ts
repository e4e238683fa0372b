/**
 * `sesame migrate --status`, `sesame migrate` and `sesame start` as real child processes, on
 * SQLite and PostgreSQL: a fresh database is all pending, a migrated one up to date, and one a
 * newer build migrated is refused by migrate and start with a message, leaving it untouched.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LATEST_VERSION, MIGRATIONS, POSTGRES_LATEST_VERSION, POSTGRES_MIGRATIONS, type Migration } from '@sesame/storage';
import {
  buildServerPackage,
  freePort,
  isolatedSesameEnv,
  queryPostgres,
  querySqlite,
  runSesameCli,
  startPostgresCluster,
  type PostgresCluster,
} from '@sesame/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `sesame …args` and returns its exit code and output, whatever the code. */
async function sesame(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  try {
    const stdout = await runSesameCli(args, { env, timeoutMs: 20_000 });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

interface StatusJson {
  readonly state: string;
  readonly applied: readonly { version: number; name: string; appliedAt: number | null }[];
  readonly pending: readonly { version: number; name: string }[];
  readonly databaseVersion: number;
  readonly latestVersion: number;
  readonly databaseNewer: boolean;
}

interface Target {
  readonly known: readonly Migration[];
  readonly latest: number;
  readonly env: NodeJS.ProcessEnv;
  query(sql: string): Promise<unknown[]>;
}

let cluster: PostgresCluster | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  // The launcher runs the built server; make sure it is current (fast when nothing changed).
  await buildServerPackage();
  cluster = await startPostgresCluster();
});

afterAll(async () => {
  await cluster?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function sqliteTarget(): Promise<Target> {
  const { dataDir, env } = isolatedSesameEnv('sesame-migrate-status-', { PORT: String(await freePort()) });
  dirs.push(dataDir);
  const filename = join(dataDir, 'sesame.db');
  return {
    known: MIGRATIONS,
    latest: LATEST_VERSION,
    env,
    query: (sql) => querySqlite(filename, sql),
  };
}

async function postgresTarget(): Promise<Target> {
  const server = cluster!;
  const name = `sesame_cli_status_${process.pid}`;
  await queryPostgres(server.url, `CREATE DATABASE ${name}`);
  const url = server.url.replace(/\/postgres$/, `/${name}`);
  const { dataDir, env } = isolatedSesameEnv('sesame-migrate-status-', { PORT: String(await freePort()), SESAME_DATABASE_URL: url });
  dirs.push(dataDir);
  return { known: POSTGRES_MIGRATIONS, latest: POSTGRES_LATEST_VERSION, env, query: (sql) => queryPostgres(url, sql) };
}

const SNAPSHOT = 'SELECT version, name, applied_at FROM schema_migrations ORDER BY version';

describe.each([
  ['SQLite', sqliteTarget],
  ['PostgreSQL', postgresTarget],
])('sesame migrate --status on %s', (_label, makeTarget) => {
  it('shows pending steps, then up to date, then refuses a newer database everywhere', async () => {
    const target = await makeTarget();
    const { env, known, latest } = target;

    // Fresh: everything pending, exit 3, and the status run created nothing.
    // One process at a time: two processes opening a brand-new SQLite file at once may see it locked.
    const fresh = await sesame(['migrate', '--status', '--json'], env);
    const freshText = await sesame(['migrate', '--status'], env);
    expect(fresh.code).toBe(3);
    const freshJson = JSON.parse(fresh.stdout.trim()) as StatusJson;
    expect(freshJson).toMatchObject({ state: 'pending', applied: [], databaseVersion: 0, latestVersion: latest, databaseNewer: false });
    expect(freshJson.pending.map((step) => step.version)).toEqual(known.map((step) => step.version));
    await expect(target.query(SNAPSHOT)).rejects.toThrow(/schema_migrations/);
    expect(freshText.code).toBe(3);
    expect(freshText.stdout).toContain('Applied: none.');
    expect(freshText.stdout).toContain(`${known[0]!.version}  ${known[0]!.name}`);

    // Migrated: nothing pending, exit 0, every step with the time it ran.
    expect((await sesame(['migrate'], env)).code).toBe(0);
    const current = await sesame(['migrate', '--status', '--json'], env);
    expect(current.code).toBe(0);
    const currentJson = JSON.parse(current.stdout.trim()) as StatusJson;
    expect(currentJson).toMatchObject({ state: 'up-to-date', pending: [], databaseVersion: latest, databaseNewer: false });
    expect(currentJson.applied.map((step) => step.version)).toEqual(known.map((step) => step.version));
    expect(currentJson.applied.every((step) => typeof step.appliedAt === 'number')).toBe(true);

    // A newer build's step: status exit 4; migrate and start refuse with a message, no stack.
    const newer = latest + 1;
    await target.query(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${newer}, 'from a newer Sesame', 1)`);
    const before = await target.query(SNAPSHOT);
    const status = await sesame(['migrate', '--status'], env);
    expect(status.code).toBe(4);
    expect(status.stdout).toContain(`The database is newer than this Sesame (version ${newer} > ${latest})`);

    for (const command of ['migrate', 'start']) {
      const refused = await sesame([command], env);
      expect(refused.code, `sesame ${command}`).toBe(1);
      expect(refused.stderr).toContain(`schema is at version ${newer}`);
      expect(refused.stderr).toContain(`up to ${latest}`);
      expect(refused.stderr).toContain('restore a backup');
      expect(refused.stderr).not.toMatch(/\n\s+at /);
      expect(refused.stderr).not.toContain('Sesame is listening');
    }
    expect(await target.query(SNAPSHOT)).toEqual(before);
  });
});
