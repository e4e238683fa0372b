/** `sesame backup FILE` and `sesame restore FILE`: SQLite database copies for operators. */
import { resolve } from 'node:path';
import { backupSqliteDatabase, isPostgresUrl, restoreSqliteDatabase, sqliteFilename } from '@sesame/storage';
import type { Config } from '../config.js';
import { UsageError } from './support.js';

interface Io {
  readonly stdout: (text: string) => void;
}

export const BACKUP_USAGE = `  backup FILE [--force] [--json]     copy the SQLite database to FILE while Sesame serves
                                     (PostgreSQL: use pg_dump, or point-in-time recovery)
  restore FILE [--json]              put the SQLite backup FILE in place of the database; refused
                                     while Sesame runs; the replaced file is kept beside it
`;

function sqliteTarget(config: Config, command: string): string {
  if (isPostgresUrl(config.databaseUrl)) {
    throw new UsageError(
      `\`sesame ${command}\` handles SQLite databases only; for PostgreSQL use pg_dump / pg_restore, or point-in-time recovery.`,
    );
  }
  return resolve(sqliteFilename(config.databaseUrl));
}

export async function backupCommand(
  config: Config,
  io: Io,
  args: readonly string[],
  options: { readonly force: boolean; readonly json: boolean },
): Promise<number> {
  if (args.length !== 1) throw new UsageError('Usage: sesame backup FILE [--force] [--json]');
  const source = sqliteTarget(config, 'backup');
  const destination = resolve(args[0]!);
  if (destination === source) throw new UsageError('The backup FILE must not be the database itself.');
  const result = await backupSqliteDatabase(source, destination, { force: options.force });
  const durationMs = Math.round(result.durationMs);
  io.stdout(
    options.json
      ? `${JSON.stringify({ file: destination, bytes: result.bytes, durationMs, integrity: 'ok' })}\n`
      : `Backed up ${source} to ${destination}: ${result.bytes} bytes in ${durationMs} ms, integrity_check ok.\n`,
  );
  return 0;
}

export function restoreCommand(config: Config, io: Io, args: readonly string[], json: boolean): number {
  if (args.length !== 1) throw new UsageError('Usage: sesame restore FILE [--json]');
  const target = sqliteTarget(config, 'restore');
  const backup = resolve(args[0]!);
  if (backup === target) throw new UsageError('The backup FILE must not be the database itself.');
  const kept = restoreSqliteDatabase(backup, target);
  io.stdout(
    json
      ? `${JSON.stringify({ file: backup, database: target, previous: kept })}\n`
      : `Restored ${backup} to ${target}.${kept === null ? '' : ` The replaced database is kept as ${kept}.`}\n`,
  );
  return 0;
}
