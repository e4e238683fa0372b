/**
 * Online backup and offline restore of a SQLite database file. The backup uses SQLite's online
 * backup API, so a serving Sesame keeps writing while the copy is made; the restore refuses to
 * run while any process holds the target open.
 */
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';

export interface SqliteBackupResult {
  readonly bytes: number;
  readonly durationMs: number;
}

/** What makes a file a Sesame database: readable by SQLite, intact, and migrated at least once. */
export function checkSesameDatabase(filename: string): void {
  if (!existsSync(filename)) throw new Error(`${filename} does not exist.`);
  let db: Database.Database;
  try {
    db = new Database(filename, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new Error(`${filename} is not a SQLite database (${message(error)}).`);
  }
  try {
    const result = db.pragma('integrity_check', { simple: true });
    if (result !== 'ok') throw new Error(`${filename} failed PRAGMA integrity_check: ${String(result)}`);
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (table === undefined) throw new Error(`${filename} is not a Sesame database (no schema_migrations table).`);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith(filename)) throw error;
    throw new Error(`${filename} is not a SQLite database (${message(error)}).`);
  } finally {
    db.close();
  }
}

/**
 * Copies `source` to `destination` through a temporary name beside it, renamed only once the
 * copy is complete and passes integrity_check, so a crash never leaves a half-written backup.
 */
export async function backupSqliteDatabase(
  source: string,
  destination: string,
  options: { readonly force?: boolean } = {},
): Promise<SqliteBackupResult> {
  if (!existsSync(source)) throw new Error(`The database ${source} does not exist.`);
  if (existsSync(destination) && options.force !== true) {
    throw new Error(`${destination} already exists; pass --force to overwrite it.`);
  }
  const started = performance.now();
  const temporary = join(dirname(destination), `.${basename(destination)}.${process.pid}.partial`);
  // Owner-only from the start, like the database itself: it holds digests and sealed payloads.
  closeSync(openSync(temporary, 'w', 0o600));
  const db = new Database(source, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    await db.backup(temporary);
    // A rollback-journal file is one self-contained file (no -wal beside it); a server opening
    // it switches it back to WAL.
    const copy = new Database(temporary, { fileMustExist: true });
    copy.pragma('journal_mode = DELETE');
    copy.close();
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  } finally {
    db.close();
  }
  try {
    checkSesameDatabase(temporary);
    renameSync(temporary, destination);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  return { bytes: statSync(destination).size, durationMs: performance.now() - started };
}

/**
 * True when some process has the database open. An idle WAL connection holds a shared lock, so
 * taking SQLite's exclusive locking mode fails while any other connection exists.
 */
export function isSqliteDatabaseInUse(filename: string): boolean {
  if (!existsSync(filename)) return false;
  const db = new Database(filename, { fileMustExist: true, timeout: 250 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return false;
  } catch {
    return true;
  } finally {
    db.close();
  }
}

/**
 * Puts `backup` in place of `target`, keeping the replaced file as
 * `<target>.before-restore-<timestamp>`. Returns that name, or null when there was no target.
 */
export function restoreSqliteDatabase(backup: string, target: string, now: Date = new Date()): string | null {
  checkSesameDatabase(backup);
  if (isSqliteDatabaseInUse(target)) {
    throw new Error(`The database ${target} is in use (is Sesame running?); stop it before restoring.`);
  }
  let kept: string | null = null;
  if (existsSync(target)) {
    // Closing the lock probe checkpointed the WAL into the file, so the file alone is complete.
    kept = `${target}.before-restore-${now.toISOString().replace(/[:.]/g, '-')}`;
    renameSync(target, kept);
  }
  rmSync(`${target}-wal`, { force: true });
  rmSync(`${target}-shm`, { force: true });
  mkdirSync(dirname(target), { recursive: true });
  const temporary = `${target}.restoring`;
  copyFileSync(backup, temporary);
  chmodSync(temporary, 0o600);
  renameSync(temporary, target);
  return kept;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
