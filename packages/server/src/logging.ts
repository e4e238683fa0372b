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
  return destination ? pino(options, destination) : pino(options);
}
