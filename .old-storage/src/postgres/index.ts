export { openPostgresStore, isConnectionFailure, type PostgresStoreOptions } from './store.js';
export { POSTGRES_MIGRATIONS, POSTGRES_LATEST_VERSION } from './migrations.js';
