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
 * (`client-error.ts`): malformed (400), too slow to arrive (408), headers too large (431).
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

/** The HTTP answer to an error thrown while serving a request: status, extra headers, body. */
export interface ErrorAnswer {
  readonly status: ContentfulStatusCode;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ErrorBody;
}

/**
 * What the API answers for `thrown`, logging what an operator must see (store unavailable,
 * internal errors, bugs). One function for hono's error handler and the REST fast path.
 * `http1`: the request is HTTP/1.x, so a refused body can end the connection.
 */
export function errorAnswer(
  thrown: unknown,
  request: { readonly requestId: string; readonly route: string; readonly http1: boolean },
  logger: Logger,
): ErrorAnswer {
  const { requestId } = request;
  const error = asSesameError(thrown) ?? thrown;
  if (error instanceof SesameError) {
    const status = ERROR_TABLE[error.code].http as ContentfulStatusCode;
    const headers: Record<string, string> = {};
    const retryAfter = error.retryAfterSeconds;
    if (retryAfter !== undefined && (status === 429 || status === 503)) headers['Retry-After'] = String(retryAfter);
    if (error.code === 'UNAVAILABLE') logger.warn({ requestId, err: error.cause }, 'store unavailable');
    if (error.code === 'UNAUTHENTICATED') headers['WWW-Authenticate'] = 'Bearer realm="sesame"';
    if (error.code === 'INTERNAL') logger.error({ requestId, err: error }, 'internal error');
    return { status, headers, body: errorBody(error.code, error.message, requestId, error.fieldViolations) };
  }
  if (error instanceof TransportError) {
    // A refused body is not read any further: close rather than drain it for keep-alive
    // (HTTP/1.x only: HTTP/2 has no Connection header; its stream simply ends).
    const headers: Record<string, string> = error.status === 413 && request.http1 ? { Connection: 'close' } : {};
    return { status: error.status, headers, body: errorBody(error.code, error.message, requestId) };
  }
  logger.error({ requestId, err: error, route: request.route }, 'unhandled error');
  return { status: 500, headers: {}, body: errorBody('INTERNAL', ERROR_TABLE.INTERNAL.userMessage, requestId) };
}

export function createErrorHandler(logger: Logger) {
  return (thrown: unknown, c: Context<AppEnv>): Response => {
    const incoming = (c.env as { incoming?: { httpVersionMajor?: number } } | undefined)?.incoming;
    const route = routePath(c, -1);
    const answer = errorAnswer(thrown, { requestId: c.get('requestId'), route, http1: incoming?.httpVersionMajor === 1 }, logger);
    for (const [name, value] of Object.entries(answer.headers)) c.header(name, value);
    return c.json(answer.body, answer.status);
  };
}
