/**
 * Errors as data: every failure of a Sesame call is a `SesameApiError` whose `code` is one of
 * Sesame's stable codes (docs/WIRE.md "Errors"), so callers switch on the code, never on text.
 * The list is repeated here rather than imported because this package depends on nothing; a
 * test keeps it equal to `@sesame/core`'s.
 */

export const SESAME_ERROR_CODES = [
  'INVALID_ARGUMENT',
  'UNAUTHENTICATED',
  'REDIRECT_URI_NOT_ALLOWED',
  'AUTH_REQUEST_NOT_FOUND',
  'INVALID_CREDENTIAL',
  'EXPIRED',
  'ALREADY_USED',
  'SAME_BROWSER_REQUIRED',
  'TOO_MANY_ATTEMPTS',
  'SEND_LIMIT_EXCEEDED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type SesameErrorCode = (typeof SESAME_ERROR_CODES)[number];

export function isSesameErrorCode(value: unknown): value is SesameErrorCode {
  return typeof value === 'string' && (SESAME_ERROR_CODES as readonly string[]).includes(value);
}

export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

export interface SesameApiErrorInit {
  readonly status: number;
  readonly requestId?: string | undefined;
  readonly fieldViolations?: readonly FieldViolation[];
  readonly retryAfterSeconds?: number | undefined;
  readonly cause?: unknown;
}

export class SesameApiError extends Error {
  override readonly name = 'SesameApiError';
  /** HTTP status of the answer; 0 when no answer arrived (network failure, timeout). */
  readonly status: number;
  readonly requestId: string | undefined;
  readonly fieldViolations: readonly FieldViolation[];
  /** From `Retry-After` on 429 answers: whole seconds to wait before trying again. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: SesameErrorCode,
    message: string,
    init: SesameApiErrorInit,
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.requestId = init.requestId;
    this.fieldViolations = init.fieldViolations ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

export function isSesameApiError(value: unknown): value is SesameApiError {
  return value instanceof SesameApiError;
}

/** Codes for answers that carry no Sesame error body (a proxy's 502, an OAuth error, …). */
export function codeForStatus(status: number): SesameErrorCode {
  if (status === 401 || status === 403) return 'UNAUTHENTICATED';
  if (status === 404) return 'AUTH_REQUEST_NOT_FOUND';
  if (status === 400 || status === 413 || status === 415 || status === 422) return 'INVALID_ARGUMENT';
  // A proxy in front of Sesame saying the upstream is down or slow.
  if (status === 502 || status === 503 || status === 504) return 'UNAVAILABLE';
  return 'INTERNAL';
}

/** `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}
