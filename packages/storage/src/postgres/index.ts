export { openPostgresStore } from './store.js';
export { isConnectionFailure } from './transactions.js';
export type { PostgresStoreOptions } from './pool.js';
export { POSTGRES_MIGRATIONS, POSTGRES_LATEST_VERSION } from './migrations.js';
