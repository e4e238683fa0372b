/**
 * Requests that never reach a route still get the REST error body with a stable code and a
 * request id, instead of Node's or @hono/node-server's bare status line:
 * - Node's HTTP parser refuses the bytes (`clientError`): malformed → 400 BAD_REQUEST, headers
 *   over the limit → 431 HEADERS_TOO_LARGE, request not received within the request timeout
 *   (slowloris) → 408 REQUEST_TIMEOUT. The connection is closed after the answer.
 * - @hono/node-server cannot build a URL from the request (bad Host header, a backslash in the
 *   path) → 400 BAD_REQUEST.
 * - An HTTP/2 stream whose request is not received whole within the request timeout → 408
 *   REQUEST_TIMEOUT (HTTP/2's own timeout is per idle session).
 * - An `Expect` header other than 100-continue → 417 BAD_REQUEST.
 * - CONNECT (Node hands it to a `connect` listener, and closes the socket silently without one)
 *   → 404 NOT_FOUND.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import http2, { type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { errorBody, type TransportErrorCode } from './error-handler.js';

const ANSWERS: Readonly<Record<string, readonly [number, string, TransportErrorCode, string]>> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'The request headers are too large.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'The request was not received in time.'],
};
const MALFORMED = [400, 'Bad Request', 'BAD_REQUEST', 'The request is not valid HTTP.'] as const;

/** An HTTP/1.1 response as raw bytes, for a socket no response object owns. */
function rawResponse(status: number, reason: string, code: TransportErrorCode, message: string): string {
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody(code, message, requestId));
  return [
    `HTTP/1.1 ${status} ${reason}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `x-request-id: ${requestId}`,
    'X-Content-Type-Options: nosniff',
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/** The `clientError` listener of the HTTP/1.1 server. */
export function answerClientError(logger: Logger): (error: Error & { code?: string }, socket: Duplex) => void {
  return (error, socket) => {
    // A response already under way on this socket (Node's private field, checked as its own
    // default handler does): a status line now would corrupt it; only cutting is left.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const [status, reason, code, message] = ANSWERS[error.code ?? ''] ?? MALFORMED;
    logger.info({ status, parserError: error.code ?? 'unknown' }, 'refused a malformed or incomplete request');
    socket.end(rawResponse(status, reason, code, message));
    // Whatever the client still sends is not read: close even if it never reads our answer.
    setTimeout(() => socket.destroy(), 1_000).unref();
  };
}

/** The `connect` listener: Sesame is no proxy; a CONNECT gets 404 NOT_FOUND rather than a silent close. */
export function answerConnect(_request: unknown, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(rawResponse(404, 'Not Found', 'NOT_FOUND', 'CONNECT is not supported.'));
  setTimeout(() => socket.destroy(), 1_000).unref();
}

/** The `checkExpectation` listener: an `Expect` other than 100-continue gets 417 with the error body, not Node's bare 417. */
export function answerExpectation(_request: unknown, response: ServerResponse): void {
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody('BAD_REQUEST', 'Only "Expect: 100-continue" is supported.', requestId));
  response.writeHead(417, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    'x-content-type-options': 'nosniff',
    connection: 'close',
  });
  response.end(body);
}

/**
 * Ends an HTTP/2 stream whose request has not been received whole `timeoutMs` after it opened:
 * 408 REQUEST_TIMEOUT when no answer has started, then RST_STREAM CANCEL.
 */
export function cutSlowStream(stream: ServerHttp2Stream, timeoutMs: number): void {
  const timer = setTimeout(() => {
    if (stream.closed || stream.destroyed) return;
    let receivedWhole = false;
    try {
      receivedWhole = stream.state.remoteClose !== 0;
    } catch {
      receivedWhole = false;
    }
    if (receivedWhole) return;
    const cancel = (): void => {
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    if (stream.headersSent) return cancel();
    const requestId = randomUUID();
    stream.respond({ ':status': 408, 'content-type': 'application/json', 'x-request-id': requestId });
    stream.end(JSON.stringify(errorBody('REQUEST_TIMEOUT', 'The request was not received in time.', requestId)), cancel);
  }, timeoutMs);
  timer.unref();
  stream.once('close', () => clearTimeout(timer));
}

/** `getRequestListener`'s `errorHandler`: the request could not even be turned into a `Request`. */
export function requestErrorResponse(error: unknown): Response {
  const requestId = randomUUID();
  const named = error instanceof Error && error.name === 'RequestError';
  const [status, code, message] = named
    ? ([400, 'BAD_REQUEST', `The request is not valid: ${error.message}.`] as const)
    : ([500, 'INTERNAL', `Internal error (request ${requestId}).`] as const);
  return new Response(JSON.stringify(errorBody(code, message, requestId)), {
    status,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId, 'x-content-type-options': 'nosniff' },
  });
}
