export { openSqliteStore, type SqliteStoreOptions } from './store.js';
export type { CheckpointOptions } from './checkpointer.js';
export { MIGRATIONS, LATEST_VERSION, type Migration } from './migrations.js';
export {
  backupSqliteDatabase,
  restoreSqliteDatabase,
  isSqliteDatabaseInUse,
  checkSesameDatabase,
  type SqliteBackupResult,
} from './backup.js';
