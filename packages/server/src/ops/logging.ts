/**
 * Structured logs (pino). Handlers log ids, routes, statuses and durations, never bodies; the
 * redaction below is the second line of defence should a header, secret, code or token ever
 * reach a log call.
 */
import { pino, type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config.js';

/**
 * Field names whose values are never written, at any depth of a log object (compared as
 * written: `client_secret` and `clientSecret` are both listed).
 */
export const REDACTED_KEYS: ReadonlySet<string> = new Set([
  'authorization',
  'cookie',
  'secret',
  'client_secret',
  'clientSecret',
  'access_token',
  'accessToken',
  'token',
  'code',
  'otp',
  'link_token',
  'linkToken',
  'link',
  'password',
  'smtpUrl',
]);

export const REDACTED = '[redacted]';

/** Objects nested deeper than this are replaced whole: a log object is a few flat fields. */
const MAX_DEPTH = 6;

/**
 * `value` with every REDACTED_KEYS field censored, at any depth. Returns the same object when it
 * holds none (the usual case: no copy); otherwise copies only the objects on the way to a
 * censored field, so the caller's objects are never changed.
 *
 * Why not pino's `redact` paths: those name fixed positions (`*.token` is one level deep), and
 * @pinojs/redact clones and walks every path on every line, which showed in profiles of send
 * load. A key-name walk is both stricter and cheaper.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return REDACTED as T;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const clean = redactSecrets(item, depth + 1);
      if (clean !== item) (copy ??= value.slice())[i] = clean;
    }
    return (copy ?? value) as T;
  }
  // Errors, Dates, Buffers and the like are serialized by pino's own rules: plain objects only.
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let copy: Record<string, unknown> | null = null;
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
    const field = record[key];
    const clean = REDACTED_KEYS.has(key) && field !== undefined ? REDACTED : redactSecrets(field, depth + 1);
    if (clean !== field) (copy ??= { ...record })[key] = clean;
  }
  return (copy ?? value) as T;
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'sesame' },
    formatters: {
      log: (object: Record<string, unknown>) => redactSecrets(object),
    },
  };
  // Asynchronous stdout: a log line per request no longer costs a write(2) on the event loop;
  // lines written while one write is in flight go out together. pino flushes what is buffered
  // synchronously when the process exits.
  const logger = pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
  // A child's bindings are serialized once, when it is made, and pino skips `formatters` for
  // them: censor them on the way in. Children inherit this method, so grandchildren are covered.
  // Taken unbound on purpose: it is called below with the child's own `this`.
  const makeChild: unknown = Reflect.get(logger, 'child');
  if (typeof makeChild !== 'function') throw new Error('pino logger without child()');
  Reflect.set(logger, 'child', function censoredChild(this: unknown, bindings: Bindings, childOptions?: ChildLoggerOptions): unknown {
    return Reflect.apply(makeChild, this, [redactSecrets(bindings), childOptions]) as unknown;
  });
  return logger;
}
