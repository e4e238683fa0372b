/**
 * Structured logs (pino). Handlers log ids, routes, statuses and durations, never bodies; the
 * redaction list is the second line of defence should a header, secret, code or token ever
 * reach a log call.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.authorization',
  'secret',
  '*.secret',
  'client_secret',
  '*.client_secret',
  'clientSecret',
  '*.clientSecret',
  'access_token',
  '*.access_token',
  'accessToken',
  '*.accessToken',
  'token',
  '*.token',
  'code',
  '*.code',
  'otp',
  '*.otp',
  'link_token',
  '*.link_token',
  'linkToken',
  '*.linkToken',
  'link',
  '*.link',
  'password',
  '*.password',
  'smtpUrl',
  '*.smtpUrl',
];

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'sesame' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  // Asynchronous stdout: a log line per request no longer costs a write(2) on the event loop;
  // lines written while one write is in flight go out together. pino flushes what is buffered
  // synchronously when the process exits.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
