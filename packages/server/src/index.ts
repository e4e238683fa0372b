export { createApp, API_BASE, DEFAULT_MAX_BODY_BYTES, type AppOptions, type SesameApp } from './app.js';
export { startSesame, type RunningSesame, type StartOptions } from './server.js';
export { createServer, type CreateServerOptions, type SesameServer } from './create-server.js';
export { loadConfig, environmentHelp, ConfigError, VARIABLES, type Config, type LogLevel } from './config.js';
export { resolveSecret, SECRET_FILE } from './auth/server-secret.js';
export { createClient, authenticateClient, hashClientSecret, type NewClient } from './auth/api-clients.js';
export { deriveServerKeys, type ServerKeys } from './auth/derived-keys.js';
export { createLogger, redactSecrets, REDACTED_KEYS } from './ops/logging.js';
export { createMetrics, type Metrics } from './ops/metrics.js';
export { createTokenService, type TokenService } from './auth/access-tokens.js';
export { openApiDocument } from './http/openapi.js';
/** The admin API's wire types, for the dashboard (type-only: nothing of the server reaches a browser bundle). */
export type * as AdminWire from './admin/wire-schemas.js';
export { errorBody, TRANSPORT_ERROR_CODES, type ErrorBody, type TransportErrorCode } from './http/error-handler.js';
export { main as cliMain, helpText } from './cli.js';
