/**
 * One error handler for the whole app (docs/WIRE.md "Errors"): a `SesameError` becomes the REST
 * error body with its table status (and `Retry-After` on limits); transport problems the engine
 * never sees (unknown route, oversized body) get their own stable codes; anything else is a bug:
 * 500 INTERNAL with the request id and no details, while the log keeps the details.
 */
import { ERROR_TABLE, SesameError, type FieldViolation } from '@sesame/core';
import { isStoreUnavailable } from '@sesame/storage';
import type { Context } from 'hono';
import { routePath } from 'hono/route';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import type { AppEnv } from './hono-env.js';

/**
 * Codes that exist only at the HTTP layer, beside core's `ErrorCode`s: unknown route, oversized
 * body, the admin API's CSRF refusal, and requests refused before any route sees them
 * (transport-errors.ts): malformed (400), too slow to arrive (408), headers too large (431).
 */
export const TRANSPORT_ERROR_CODES = [
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'CSRF_REJECTED',
  'BAD_REQUEST',
  'REQUEST_TIMEOUT',
  'HEADERS_TOO_LARGE',
  'MISDIRECTED_REQUEST',
] as const;
export type TransportErrorCode = (typeof TRANSPORT_ERROR_CODES)[number];

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly status: 400 | 403 | 404 | 408 | 413 | 431,
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly request_id: string;
    readonly field_violations: readonly FieldViolation[];
  };
}

export function errorBody(code: string, message: string, requestId: string, fieldViolations: readonly FieldViolation[] = []): ErrorBody {
  return { error: { code, message, request_id: requestId, field_violations: fieldViolations } };
}

/**
 * The store's "database unreachable" failure becomes UNAVAILABLE (503, gRPC 14, Retry-After):
 * the store raises it only when the transaction did not commit, so a retry is safe.
 */
export function asSesameError(error: unknown): SesameError | null {
  if (error instanceof SesameError) return error;
  if (isStoreUnavailable(error)) return new SesameError('UNAVAILABLE', undefined, { retryAfterMs: 1_000, cause: error });
  return null;
}

/**
 * hono's error handler: the answer to whatever a route or middleware threw, logging what an
 * operator must see (store unavailable, internal errors, bugs).
 */
export function createErrorHandler(logger: Logger) {
  return (thrown: unknown, c: Context<AppEnv>): Response => {
    const requestId = c.get('requestId');
    const error = asSesameError(thrown) ?? thrown;
    if (error instanceof SesameError) {
      const status = ERROR_TABLE[error.code].http as ContentfulStatusCode;
      const retryAfter = error.retryAfterSeconds;
      if (retryAfter !== undefined && (status === 429 || status === 503)) c.header('Retry-After', String(retryAfter));
      if (error.code === 'UNAVAILABLE') logger.warn({ requestId, err: error.cause }, 'store unavailable');
      if (error.code === 'UNAUTHENTICATED') c.header('WWW-Authenticate', 'Bearer realm="sesame"');
      if (error.code === 'INTERNAL') logger.error({ requestId, err: error }, 'internal error');
      return c.json(errorBody(error.code, error.message, requestId, error.fieldViolations), status);
    }
    if (error instanceof TransportError) {
      // A refused body is not read any further: close rather than drain it for keep-alive
      // (HTTP/1.x only: HTTP/2 has no Connection header; its stream simply ends).
      const incoming = (c.env as { incoming?: { httpVersionMajor?: number } } | undefined)?.incoming;
      if (error.status === 413 && incoming?.httpVersionMajor === 1) c.header('Connection', 'close');
      return c.json(errorBody(error.code, error.message, requestId), error.status);
    }
    logger.error({ requestId, err: error, route: routePath(c, -1) }, 'unhandled error');
    return c.json(errorBody('INTERNAL', ERROR_TABLE.INTERNAL.userMessage, requestId), 500);
  };
}
