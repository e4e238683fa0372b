export { freePort } from './ports.js';
export { startPostgresCluster, postgresAvailable, POSTGRES_BIN, type PostgresCluster, type PostgresClusterOptions } from './postgres.js';
export { startSmtpCapture, type SmtpCapture } from './smtp.js';
