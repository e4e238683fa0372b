/**
 * A private PostgreSQL cluster for a test run: Debian's postgresql-15 binaries, initdb in a
 * temporary directory (as the `postgres` user when we are root, since initdb refuses root),
 * listening on 127.0.0.1 only on a free port, stopped and removed by `stop()`.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

export const POSTGRES_BIN = process.env.SESAME_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresCluster {
  readonly port: number;
  /** Connection URL of the `postgres` database as the `postgres` superuser (trust auth, loopback). */
  readonly url: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown); the data directory is kept for `start()`. */
  stopServer(): Promise<void>;
  /** Starts it again on the same port. */
  startServer(): Promise<void>;
  /** Stops the server and removes the cluster. */
  stop(): Promise<void>;
}

export interface PostgresClusterOptions {
  /** Durability off (fsync, synchronous_commit, full_page_writes) for speed in tests. Default true. */
  readonly fast?: boolean;
}

export function postgresAvailable(): boolean {
  return existsSync(join(POSTGRES_BIN, 'initdb')) && existsSync(join(POSTGRES_BIN, 'pg_ctl'));
}

export async function startPostgresCluster(options: PostgresClusterOptions = {}): Promise<PostgresCluster> {
  if (!postgresAvailable()) {
    throw new Error(
      `PostgreSQL server binaries not found in ${POSTGRES_BIN}: install Debian's postgresql-15 (npm test does this on a fresh machine).`,
    );
  }
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'sesame-pg-'));
  const data = join(dir, 'data');
  if (root) chownSync(dir, await uidOf('postgres'), await gidOf('postgres'));
  const asPostgres = (bin: string, args: string[]) =>
    root ? run('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, bin), ...args]) : run(join(POSTGRES_BIN, bin), args);

  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    "-c listen_addresses='127.0.0.1'",
    `-c unix_socket_directories='${dir}'`,
    '-c max_connections=200',
    ...(options.fast === false ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
  ].join(' ');
  const startServer = async (): Promise<void> => {
    await asPostgres('pg_ctl', ['-D', data, '-o', settings, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  };
  const stopServer = async (): Promise<void> => {
    await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  };
  await startServer();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  return {
    port,
    url,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`Bad database name: ${name}`);
      await run(join(POSTGRES_BIN, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name]).catch(async () => {
        // Debian keeps createdb in /usr/bin too; fall back to psql when the cluster bin lacks it.
        await run('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-c', `CREATE DATABASE ${name}`]);
      });
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stopServer,
    startServer,
    async stop() {
      try {
        await stopServer();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

async function uidOf(user: string): Promise<number> {
  return Number((await run('id', ['-u', user])).stdout.trim());
}

async function gidOf(user: string): Promise<number> {
  return Number((await run('id', ['-g', user])).stdout.trim());
}
