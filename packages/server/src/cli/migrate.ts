/**
 * `sesame migrate` and `sesame migrate --status`. Status only reads: it never creates the
 * migrations table or applies a step, so it is safe against a live database and in CI gates.
 */
import type { MigrationStatus } from '@sesame/core';
import type { Config } from '../config.js';
import type { CliIo } from '../cli.js';
import { withStore } from './support.js';

/** `--status` exit codes beyond 0 (up to date); 1 stays "could not check", 2 "usage". */
export const EXIT_MIGRATIONS_PENDING = 3;
export const EXIT_DATABASE_NEWER = 4;

export const MIGRATE_USAGE = `  migrate                            run database migrations and exit (refused on a newer schema)
  migrate --status [--json]          show applied and pending migrations without changing anything;
                                     exit 0 up to date, 3 migrations pending, 4 database is newer
`;

export async function migrateCommand(config: Config, io: CliIo, status: boolean, json: boolean): Promise<number> {
  return withStore(config, async (store) => {
    if (!status) {
      await store.migrate();
      io.stdout(json ? `${JSON.stringify({ migrated: true })}\n` : 'Database migrated.\n');
      return 0;
    }
    const report = await store.migrationStatus();
    const state = report.databaseNewer ? 'newer' : report.pending.length > 0 ? 'pending' : 'up-to-date';
    io.stdout(json ? `${JSON.stringify({ state, ...report })}\n` : describe(report));
    return state === 'newer' ? EXIT_DATABASE_NEWER : state === 'pending' ? EXIT_MIGRATIONS_PENDING : 0;
  });
}

function describe(report: MigrationStatus): string {
  const lines = [`Database schema version ${report.databaseVersion}; this Sesame knows up to ${report.latestVersion}.`];
  lines.push(report.applied.length === 0 ? 'Applied: none.' : 'Applied:');
  for (const step of report.applied) {
    const at = step.appliedAt === null ? 'time not recorded' : new Date(step.appliedAt).toISOString();
    lines.push(`  ${step.version}  ${step.name}  (${at})`);
  }
  lines.push(report.pending.length === 0 ? 'Pending: none.' : 'Pending (run `sesame migrate`):');
  for (const step of report.pending) lines.push(`  ${step.version}  ${step.name}`);
  if (report.databaseNewer) {
    lines.push(
      `The database is newer than this Sesame (version ${report.databaseVersion} > ${report.latestVersion}): ` +
        'run the newer Sesame, or restore a backup taken before the upgrade.',
    );
  } else if (report.pending.length === 0) {
    lines.push('Up to date.');
  }
  return `${lines.join('\n')}\n`;
}
