export { freePort } from './ports.js';
export { startPostgresCluster, postgresAvailable, POSTGRES_BIN, type PostgresCluster, type PostgresClusterOptions } from './postgres.js';
export { startSmtpCapture, type SmtpCapture, type SmtpCaptureOptions } from './smtp.js';
export { startFaultySmtp, type FaultySmtp, type FaultySmtpOptions, type SmtpFault } from './smtp-faults.js';
