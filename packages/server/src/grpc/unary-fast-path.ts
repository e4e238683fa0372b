/**
 * The gRPC calls the official SDK makes, answered straight on the HTTP/2 request.
 *
 * Why: connect-node's handler does far more per unary call than the HTTP/2 work itself (a
 * pipeline of async generators, three Web `Headers`, linked AbortControllers, and an AbortError
 * DOMException built at the end of every successful call), enough to make a gRPC send cost a
 * multiple of a REST send (docs/PERFORMANCE.md). Every Scalekit-SDK user is on gRPC.
 *
 * What it takes: POST of one of `methods`, `content-type: application/grpc` or
 * `application/grpc+proto`, no request compression (`grpc-encoding` absent or `identity`), a
 * well-formed `grpc-timeout` or none. Everything else — gRPC-web, the Connect protocol, JSON,
 * compressed messages, a malformed timeout, unknown paths, REST over h2c — returns false and goes
 * to connect-node, which stays the reference: test/grpc-fast-path.test.ts sends the same bytes
 * through both and compares status, headers, trailers and body.
 *
 * Unlike connect-node, it checks the token as soon as the headers are in (given `authenticate`,
 * as the server does): a call without a valid token is answered UNAUTHENTICATED at once, and no
 * more than PRE_AUTH_BYTES of any call are kept until its token is accepted. It enforces
 * `grpc-timeout`: past the deadline the call is answered DEADLINE_EXCEEDED and a late result is
 * dropped.
 *
 * Answers are never compressed (identity is always acceptable in gRPC, and these messages are a
 * few hundred bytes). Errors use connect's own trailer encoding (`setTrailerStatus`), so
 * `grpc-status`, `grpc-message` and `grpc-status-details-bin` are byte-for-byte connect's. Two
 * deliberate differences, both the caller's fault that connect answers INTERNAL (the gRPC 500):
 * a message that is not valid protobuf, and one flagged compressed in a request that names no
 * `grpc-encoding`. Both are INVALID_ARGUMENT here, with Sesame's code INVALID_ARGUMENT.
 */
import { randomUUID } from 'node:crypto';
import type { Http2ServerRequest, Http2ServerResponse, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { create, fromBinary, toBinary, type Message } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { setTrailerStatus } from '@connectrpc/connect/protocol-grpc';
import { SesameError, type CallerClient } from '@sesame/core';
import { GRPC_TIMEOUT, LONGEST_TIMER_MS, authorizationOf, grpcTimeoutMs } from './call-headers.js';
import type { CallMeta, UnaryMethodImpl } from './service.js';
import { toConnectError } from './errors.js';

/** Serves the request and returns true, or returns false without touching it. */
export type GrpcFastPath = (request: Http2ServerRequest, response: Http2ServerResponse) => boolean;

export interface GrpcFastPathOptions {
  readonly methods: readonly UnaryMethodImpl[];
  /** The largest message accepted (connect-node's `readMaxBytes`; give both the same). */
  readonly readMaxBytes: number;
  /**
   * The methods' own token check, run as soon as a call's headers are in: a call it refuses is
   * answered UNAUTHENTICATED at once, without its message being read, and until it accepts at
   * most PRE_AUTH_BYTES of the message are kept. Without it, calls are authenticated after
   * their message is read, as connect-node does.
   */
  readonly authenticate?: (authorization: string | null) => Promise<CallerClient>;
  /** Told of each call refused before its message was all read (the connection's churn budget). */
  readonly onEarlyRefusal?: (stream: ServerHttp2Stream) => void;
}

const CONTENT_TYPE = 'application/grpc+proto';
const COMPRESSED_FLAG = 0b0000_0001;
const ENVELOPE_HEADER_BYTES = 5;
/** Message bytes kept for a call whose token is still being checked; past them reading pauses. */
export const PRE_AUTH_BYTES = 4 * 1024;

export function createGrpcFastPath(options: GrpcFastPathOptions): GrpcFastPath {
  const byPath = new Map(options.methods.map((m) => [`/${m.method.parent.typeName}/${m.method.name}`, m]));
  return (request, response) => {
    if (request.method !== 'POST') return false;
    const entry = byPath.get(request.url);
    if (entry === undefined || !takesHeaders(request.headers)) return false;
    serve(entry, request, response, options);
    return true;
  };
}

function takesHeaders(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type']?.toLowerCase();
  if (type !== 'application/grpc' && type !== CONTENT_TYPE) return false;
  const encoding = headers['grpc-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return false;
  const timeout = headers['grpc-timeout'];
  return timeout === undefined || (typeof timeout === 'string' && GRPC_TIMEOUT.test(timeout));
}

function serve(entry: UnaryMethodImpl, request: Http2ServerRequest, response: Http2ServerResponse, options: GrpcFastPathOptions): void {
  const { readMaxBytes } = options;
  const chunks: Buffer[] = [];
  let received = 0;
  // reading: the message is arriving; decided: it is read (or refused), waiting for the token
  // check; running: the method has it; over: answered, abandoned, or past its deadline.
  let phase: 'reading' | 'decided' | 'running' | 'over' = 'reading';
  let authenticated = options.authenticate === undefined;
  let paused = false;
  const responseHeaders: Record<string, string> = {};
  const authorization = authorizationOf(request);
  const caller = options.authenticate?.(authorization);
  const meta: CallMeta = {
    authorization,
    ...(caller === undefined ? {} : { caller }),
    setResponseHeader: (name, value) => void (responseHeaders[name.toLowerCase()] = value),
  };

  const stopReading = (): void => {
    request.removeListener('data', onData);
    // Whatever still arrives is read and dropped, not buffered.
    if (paused || request.isPaused()) request.resume();
  };
  const run = (message: Message): void => {
    phase = 'running';
    entry
      .impl(message, meta)
      .then(
        (answer) => answerMessage(response, responseHeaders, toBinary(entry.method.output, answer)),
        // The methods turn every failure into a ConnectError; anything else is connect's "internal error".
        (error: unknown) => answerError(response, responseHeaders, error instanceof ConnectError ? error : internalError()),
      )
      .catch(() => answerError(response, responseHeaders, internalError()))
      .finally(() => clearTimeout(deadline));
  };
  const proceed = (decoded: Message | ConnectError): void => {
    if (phase !== 'decided') return;
    if (decoded instanceof ConnectError) {
      phase = 'over';
      clearTimeout(deadline);
      answerError(response, {}, decoded);
      return;
    }
    run(decoded);
  };
  const finish = (truncated: boolean): void => {
    if (phase !== 'reading') return;
    phase = 'decided';
    stopReading();
    // Reset by its client (Node may still push the request's end): no one to answer, nothing to run.
    if (response.stream.destroyed) {
      phase = 'over';
      clearTimeout(deadline);
      return;
    }
    const decoded = decodeSingleMessage(entry, Buffer.concat(chunks), readMaxBytes, truncated);
    if (caller === undefined) proceed(decoded);
    // The token is judged first: a refused call learns nothing about how its message was read.
    else
      caller.then(
        () => proceed(decoded),
        () => undefined,
      );
  };
  // A refused token: the method itself answers (it awaits the same check), with its request id
  // and metrics, whatever the message would have been.
  const refuse = (): void => {
    if (phase !== 'reading' && phase !== 'decided') return;
    if (phase === 'reading') options.onEarlyRefusal?.(response.stream);
    stopReading();
    // Also when that refusal ended the connection: nothing left to answer.
    if (response.stream.destroyed) {
      phase = 'over';
      clearTimeout(deadline);
      return;
    }
    run(create(entry.method.input));
  };
  caller?.then(() => {
    authenticated = true;
    if (paused && phase === 'reading') {
      paused = false;
      request.resume();
    }
  }, refuse);

  // grpc-timeout: past it the call answers DEADLINE_EXCEEDED (connect's words) and a late result
  // is dropped (`write` answers once). A deadline longer than a timer can hold is none.
  const timeoutMs = grpcTimeoutMs(request.headers['grpc-timeout'] as string | undefined);
  const deadline =
    timeoutMs === undefined || timeoutMs > LONGEST_TIMER_MS
      ? undefined
      : setTimeout(() => {
          if (phase === 'over') return;
          phase = 'over';
          stopReading();
          answerError(response, responseHeaders, new ConnectError('the operation timed out', Code.DeadlineExceeded));
        }, timeoutMs);

  let lengthChecked = false;
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    chunks.push(chunk);
    if (received > readMaxBytes + ENVELOPE_HEADER_BYTES) return finish(true);
    // As connect-node does: a declared length over the limit is refused as soon as the envelope
    // header is in, not after the sender has trickled in readMaxBytes of it.
    if (!lengthChecked && received >= ENVELOPE_HEADER_BYTES) {
      lengthChecked = true;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks);
      if (head.readUInt32BE(1) > readMaxBytes) return finish(true);
    }
    // Until the token is accepted, an unauthenticated sender gets little of our memory.
    if (!authenticated && !paused && received > PRE_AUTH_BYTES) {
      paused = true;
      request.pause();
    }
  };
  request.on('data', onData);
  request.once('end', () => finish(false));
  // A client that abandons the stream before ending its request gets no answer and its call is
  // not run (Node's compat layer still pushes an 'end' on close, after this 'aborted').
  const abandon = (): void => {
    if (phase === 'reading' || phase === 'decided') phase = 'over';
    clearTimeout(deadline);
  };
  request.once('aborted', abandon);
  request.once('error', abandon);
  response.once('close', () => clearTimeout(deadline));
}

/**
 * The one request message, or the ConnectError connect-node raises for these bytes when they
 * arrive in one piece. Its envelope reader splits everything it has received before a message
 * is parsed (so an oversized length anywhere comes first), then `ensureSingle` pulls messages
 * one by one: each is checked for compression and parsed, a second is refused as extra, and a
 * partial envelope is refused when the stream ends. With `truncated`, more bytes followed than a
 * single allowed message can take.
 */
function decodeSingleMessage(entry: UnaryMethodImpl, body: Buffer, readMaxBytes: number, truncated: boolean): Message | ConnectError {
  const envelopes: { flags: number; payload: Buffer }[] = [];
  let offset = 0;
  while (body.length - offset >= ENVELOPE_HEADER_BYTES) {
    const length = body.readUInt32BE(offset + 1);
    if (length > readMaxBytes) {
      return new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
    }
    const start = offset + ENVELOPE_HEADER_BYTES;
    if (body.length < start + length) break;
    envelopes.push({ flags: body[offset]!, payload: body.subarray(start, start + length) });
    offset = start + length;
  }
  const partial = offset < body.length && !truncated;
  const incomplete = () => new ConnectError('protocol error: incomplete envelope', Code.InvalidArgument);
  const messages: Message[] = [];
  for (const { flags, payload } of envelopes.slice(0, 2)) {
    if ((flags & COMPRESSED_FLAG) !== 0) {
      return badMessage('The request message is marked compressed, but the request names no grpc-encoding.');
    }
    try {
      messages.push(fromBinary(entry.method.input, payload));
    } catch {
      return badMessage('The request message is not valid protobuf.');
    }
  }
  const [first] = messages;
  if (first === undefined) {
    return partial ? incomplete() : new ConnectError('protocol error: missing input message for unary method', Code.Unimplemented);
  }
  if (messages.length > 1 || truncated) {
    return new ConnectError('protocol error: received extra input message for unary method', Code.Unimplemented);
  }
  return partial ? incomplete() : first;
}

/** What connect-node answers for a failure that is not a ConnectError. */
function internalError(): ConnectError {
  return new ConnectError('internal error', Code.Internal);
}

/** The caller sent bytes no server could read: INVALID_ARGUMENT with Sesame's code, not INTERNAL. */
function badMessage(message: string): ConnectError {
  return toConnectError(new SesameError('INVALID_ARGUMENT', message), randomUUID());
}

/** One uncompressed gRPC message: flags 0, the 4-byte big-endian length, the bytes. */
export function grpcFrame(bytes: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + bytes.length);
  frame[0] = 0;
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, ENVELOPE_HEADER_BYTES);
  return frame;
}

function answerMessage(response: Http2ServerResponse, headers: Record<string, string>, bytes: Uint8Array): void {
  write(response, headers, { 'grpc-status': '0' }, grpcFrame(bytes));
}

function answerError(response: Http2ServerResponse, headers: Record<string, string>, error: ConnectError): void {
  const trailers: OutgoingHttpHeaders = {};
  setTrailerStatus(new Headers(), error).forEach((value, name) => void (trailers[name] = value));
  write(response, headers, trailers, undefined);
}

/** gRPC answers every call with HTTP 200; the outcome is in the trailers. */
function write(
  response: Http2ServerResponse,
  headers: Record<string, string>,
  trailers: OutgoingHttpHeaders,
  frame: Buffer | undefined,
): void {
  // The stream may have been reset while the call ran: then there is no one to answer.
  if (response.stream.destroyed || response.headersSent) return;
  response.writeHead(200, { ...headers, 'content-type': CONTENT_TYPE });
  response.addTrailers(trailers);
  if (frame === undefined) response.end();
  else response.end(frame);
}
