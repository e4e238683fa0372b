/**
 * Two request headers of a gRPC call, read the same way on both transports.
 *
 * `authorization`: Node's HTTP/2 header object keeps only the first of repeated `authorization`
 * fields (it is one of Node's single-value headers), so a call carrying a token and another
 * would be judged by whichever came first. REST joins repeats with ", " (as `Headers` does),
 * which no token matches, and refuses them; `joinRepeatedAuthorization` gives gRPC the same
 * value, for the fast path and for connect-node, which reads the header object too.
 *
 * `grpc-timeout`: the call's deadline (gRPC over HTTP/2: 1 to 8 digits and a unit).
 */
import type { Http2ServerRequest } from 'node:http2';

/** gRPC's timeout header (connect's `parseTimeout` accepts exactly this form). */
export const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;

const MS_PER_UNIT: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/** setTimeout's longest delay (~24.8 days); a longer deadline is kept as none (Node would fire it at once). */
export const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** The deadline of a well-formed `grpc-timeout` value in milliseconds, or undefined for anything else. */
export function grpcTimeoutMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = GRPC_TIMEOUT.exec(value);
  if (match === null) return undefined;
  return Number(match[1]) * MS_PER_UNIT[match[2]!]!;
}

/** Every `authorization` field of the request, in order (HTTP/2 names are lower case; compared as such anyway). */
function authorizationFields(request: Pick<Http2ServerRequest, 'rawHeaders'>): string[] {
  const values: string[] = [];
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'authorization') values.push(raw[i + 1]!);
  }
  return values;
}

/**
 * Rewrites a repeated `authorization` in the request's header object to all its values joined
 * with ", " (a value no bearer token matches), so that every reader of the header sees them all.
 */
export function joinRepeatedAuthorization(request: Pick<Http2ServerRequest, 'rawHeaders' | 'headers'>): void {
  const fields = authorizationFields(request);
  if (fields.length > 1) request.headers.authorization = fields.join(', ');
}

/** The call's `authorization` (repeats joined), or null when it has none. */
export function authorizationOf(request: Pick<Http2ServerRequest, 'rawHeaders'>): string | null {
  const fields = authorizationFields(request);
  return fields.length === 0 ? null : fields.join(', ');
}
