/** Sesame's Store implementations. The conformance suite lives at `@sesame/storage/conformance`. */
export { openStore, sqliteFilename, isPostgresUrl } from './open.js';
export { StoreUnavailableError, isStoreUnavailable } from './errors.js';
export {
  openPostgresStore,
  POSTGRES_MIGRATIONS,
  POSTGRES_LATEST_VERSION,
  isConnectionFailure,
  type PostgresStoreOptions,
} from './postgres/index.js';
export {
  openSqliteStore,
  MIGRATIONS,
  LATEST_VERSION,
  type SqliteStoreOptions,
  type Migration,
  type CheckpointOptions,
  backupSqliteDatabase,
  restoreSqliteDatabase,
  isSqliteDatabaseInUse,
  checkSesameDatabase,
  type SqliteBackupResult,
} from './sqlite/index.js';
export { NewerSchemaError, isNewerSchemaError } from './migration-status.js';
export { OTP_FAILURE_RETENTION_MS, SEND_LOG_RETENTION_MS } from './retention.js';
