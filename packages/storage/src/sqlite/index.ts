export { openSqliteStore, type SqliteStoreOptions } from './store.js';
export { MIGRATIONS, LATEST_VERSION, type Migration } from './migrations.js';
