/**
 * Sesame's errors: a closed union of stable codes. Callers switch on `code`, never on the
 * message. One table maps each code to its HTTP status, gRPC status and user-facing text, so
 * the REST server, the gRPC server and the Next.js kit all say the same thing.
 */

export const ERROR_CODES = [
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

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FieldViolation {
  /** The wire name of the field (snake_case), e.g. `magiclink_auth_uri`. */
  readonly field: string;
  readonly description: string;
}

export interface ErrorSpec {
  readonly http: number;
  /** gRPC status code; chosen so the official Scalekit SDK raises the matching exception class. */
  readonly grpc: number;
  /** Text safe to show an end user. */
  readonly userMessage: string;
}

export const ERROR_TABLE: Readonly<Record<ErrorCode, ErrorSpec>> = {
  INVALID_ARGUMENT: { http: 400, grpc: 3, userMessage: 'Some of the information sent is missing or malformed.' },
  UNAUTHENTICATED: { http: 401, grpc: 16, userMessage: 'The request could not be authenticated.' },
  REDIRECT_URI_NOT_ALLOWED: { http: 400, grpc: 3, userMessage: 'This sign-in link destination is not allowed.' },
  AUTH_REQUEST_NOT_FOUND: { http: 404, grpc: 5, userMessage: 'This sign-in request was not found. Please start again.' },
  INVALID_CREDENTIAL: { http: 400, grpc: 3, userMessage: 'That code or link is not valid.' },
  EXPIRED: { http: 400, grpc: 3, userMessage: 'This sign-in code or link has expired. Please request a new one.' },
  ALREADY_USED: { http: 400, grpc: 3, userMessage: 'This sign-in code or link was already used.' },
  SAME_BROWSER_REQUIRED: {
    http: 400,
    grpc: 3,
    userMessage: 'Open the link in the browser where you started signing in, or enter the code there.',
  },
  TOO_MANY_ATTEMPTS: { http: 429, grpc: 8, userMessage: 'Too many attempts. Please request a new code later.' },
  SEND_LIMIT_EXCEEDED: { http: 429, grpc: 8, userMessage: 'Too many emails were requested. Please wait a moment.' },
  // Only for failures that changed nothing (the database was unreachable): the SDK retries 14.
  UNAVAILABLE: { http: 503, grpc: 14, userMessage: 'The service is temporarily unavailable. Please try again in a moment.' },
  INTERNAL: { http: 500, grpc: 13, userMessage: 'Something went wrong on our side.' },
};

/** Which send limit refused a send (see `SendLimitScope` in store.ts). */
export type SendLimitScopeDetail = 'address' | 'client' | 'deployment';

/** Machine-readable facts about an error beyond its code; never an input value or a secret. */
export interface SesameErrorDetails {
  /** SEND_LIMIT_EXCEEDED: the address's limit, the calling client's budget or the deployment's. */
  readonly scope?: SendLimitScopeDetail;
}

export interface SesameErrorOptions {
  readonly fieldViolations?: readonly FieldViolation[];
  /** For limits: milliseconds until the caller may try again. */
  readonly retryAfterMs?: number;
  readonly details?: SesameErrorDetails;
  readonly cause?: unknown;
}

export class SesameError extends Error {
  override readonly name = 'SesameError';
  readonly fieldViolations: readonly FieldViolation[];
  readonly retryAfterMs: number | undefined;
  readonly details: SesameErrorDetails;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    options: SesameErrorOptions = {},
  ) {
    super(message ?? defaultMessage(code), options.cause === undefined ? undefined : { cause: options.cause });
    this.fieldViolations = options.fieldViolations ?? [];
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details ?? {};
  }

  /** Seconds for a `Retry-After` header: whole seconds, at least 1 when a wait applies. */
  get retryAfterSeconds(): number | undefined {
    return this.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }

  get spec(): ErrorSpec {
    return ERROR_TABLE[this.code];
  }
}

export function isSesameError(value: unknown): value is SesameError {
  return value instanceof SesameError;
}

export function invalidArgument(violations: readonly FieldViolation[]): SesameError {
  const summary = violations.map((v) => `${v.field}: ${v.description}`).join('; ');
  return new SesameError('INVALID_ARGUMENT', `Invalid request. ${summary}`, { fieldViolations: violations });
}

function defaultMessage(code: ErrorCode): string {
  switch (code) {
    case 'INVALID_ARGUMENT':
      return 'Invalid request.';
    case 'UNAUTHENTICATED':
      return 'Missing or invalid credentials.';
    case 'REDIRECT_URI_NOT_ALLOWED':
      return 'magiclink_auth_uri is not in the allowed redirect URIs.';
    case 'AUTH_REQUEST_NOT_FOUND':
      return 'Auth request not found.';
    case 'INVALID_CREDENTIAL':
      return 'Invalid code or link token.';
    case 'EXPIRED':
      return 'The auth request has expired.';
    case 'ALREADY_USED':
      return 'The auth request was already verified.';
    case 'SAME_BROWSER_REQUIRED':
      return 'The link must be verified with the auth_request_id of the browser that requested it.';
    case 'TOO_MANY_ATTEMPTS':
      return 'Too many failed attempts.';
    case 'SEND_LIMIT_EXCEEDED':
      return 'Too many emails sent to this address; try again later.';
    case 'UNAVAILABLE':
      return 'The database is unreachable; nothing was changed. Try again shortly.';
    case 'INTERNAL':
      return 'Internal error.';
  }
}
