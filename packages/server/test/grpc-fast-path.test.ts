/**
 * The gRPC fast path (src/grpc/unary-fast-path.ts) against connect-node, the reference: the same
 * request bytes go to two HTTP/2 servers over the same real engine and store, one serving the
 * SDK's calls on the fast path, one serving everything through connect-node, and their answers
 * (HTTP status, headers, trailers, body) must be the same. The two deliberate differences (bytes
 * no server could read, which connect-node answers INTERNAL) are asserted on their own, and a
 * property test sends random bodies: an answer every time, never INTERNAL, and the send is
 * reached for exactly the bodies connect-node reaches it for. One more deliberate difference, as
 * the server runs the fast path: it judges the token before reading the message, so a call
 * without a valid token is UNAUTHENTICATED whatever its bytes (connect-node reads them first).
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateBearer } from '../src/auth/bearer-auth.js';
import { createGrpcHandler } from '../src/grpc/handler.js';
import { passwordlessGrpcMethods } from '../src/grpc/service.js';
import { PasswordlessService } from '../src/gen/scalekit/v1/auth/passwordless/passwordless_pb.js';
import { ErrorInfoSchema } from '../src/gen/scalekit/v1/errdetails/errdetails_pb.js';
import { REDIRECT, harness, type Harness } from './helpers.js';

const READ_MAX_BYTES = 2_048;
const { sendPasswordlessEmail: SEND, verifyPasswordlessEmail: VERIFY, resendPasswordlessEmail: RESEND } = PasswordlessService.method;
const path = (name: string) => `/${PasswordlessService.typeName}/${name}`;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly trailers: Record<string, string>;
  readonly body: Buffer;
}

interface Served {
  readonly server: http2.Http2Server;
  readonly session: http2.ClientHttp2Session;
  /** Requests that reached the fallback (i.e. were neither fast-path nor connect gRPC). */
  fallbacks: number;
  /** Calls that reached the send operation (past the token and the message). */
  sends: number;
}

let h: Harness;
let token: string;
let fast: Served;
let reference: Served;

async function serve(fastPath: boolean): Promise<Served> {
  const authenticate = (header: string | null) => authenticateBearer(h.store, h.sesame.tokens, header);
  const served = { fallbacks: 0, sends: 0 } as Served;
  const operations = h.sesame.operations;
  const methods = passwordlessGrpcMethods({
    operations: {
      ...operations,
      send: (input, caller) => {
        served.sends += 1;
        return operations.send(input, caller);
      },
    },
    authenticate,
    // One fixed id, so the two servers' answers can be compared byte for byte.
    newRequestId: () => 'request-id-under-test',
  });
  const server = http2.createServer(
    createGrpcHandler({
      methods,
      readMaxBytes: READ_MAX_BYTES,
      fastPath,
      // As the server runs it: the fast path checks the token before reading the message.
      ...(fastPath ? { authenticate } : {}),
      fallback: (_request, response) => {
        served.fallbacks += 1;
        response.writeHead(404).end();
      },
    }),
  );
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return Object.assign(served, { server, session });
}

/** The headers the official SDK sends (docs/WIRE.md "Headers"), with our token. */
function sdkHeaders(name: string, extra: Record<string, string | undefined> = {}): http2.OutgoingHttpHeaders {
  const base: http2.OutgoingHttpHeaders = {
    ':method': 'POST',
    ':path': path(name),
    'content-type': 'application/grpc+proto',
    te: 'trailers',
    'grpc-timeout': '20000m',
    'grpc-accept-encoding': 'gzip,br',
    'user-agent': 'Scalekit-Node/2.11.0 Node/v20 (linux; x64)',
    authorization: `Bearer ${token}`,
  };
  const merged = Object.entries({ ...base, ...extra }).filter(([, value]) => value !== undefined);
  return Object.fromEntries(merged);
}

function envelope(bytes: Uint8Array, flags = 0, declaredLength = bytes.length): Buffer {
  const frame = Buffer.alloc(5 + bytes.length);
  frame[0] = flags;
  frame.writeUInt32BE(declaredLength, 1);
  frame.set(bytes, 5);
  return frame;
}

function message<D extends DescMessage>(desc: D, init: MessageInitShape<D>): Buffer {
  return envelope(toBinary(desc, create(desc, init)));
}

function call(served: Served, headers: http2.OutgoingHttpHeaders, chunks: readonly Buffer[]): Promise<Answer> {
  return new Promise((done, fail) => {
    const stream = served.session.request(headers);
    const parts: Buffer[] = [];
    let status = 0;
    const answerHeaders: Record<string, string> = {};
    const trailers: Record<string, string> = {};
    stream.on('response', (h2Headers) => {
      status = Number(h2Headers[':status']);
      for (const [k, v] of Object.entries(h2Headers)) if (!k.startsWith(':') && k !== 'date') answerHeaders[k] = String(v);
    });
    stream.on('trailers', (h2Trailers) => {
      for (const [k, v] of Object.entries(h2Trailers)) trailers[k] = String(v);
    });
    stream.on('data', (chunk: Buffer) => parts.push(chunk));
    stream.on('error', fail);
    stream.on('end', () => done({ status, headers: answerHeaders, trailers, body: Buffer.concat(parts) }));
    // Written in pieces, as a client's DATA frames may arrive.
    const all = chunks.slice();
    const last = all.pop();
    if (last === undefined) return;
    for (const chunk of all) stream.write(chunk);
    stream.end(last);
  });
}

/** Both servers' answers to the same bytes. */
async function both(headers: http2.OutgoingHttpHeaders, ...chunks: Buffer[]): Promise<{ fast: Answer; reference: Answer }> {
  return { fast: await call(fast, headers, chunks), reference: await call(reference, headers, chunks) };
}

/** connect-node names the response compression it would use; the fast path never compresses. */
function withoutCompressionHeaders(answer: Answer): Answer {
  const headers = Object.entries(answer.headers).filter(([name]) => name !== 'grpc-encoding' && name !== 'grpc-accept-encoding');
  return { ...answer, headers: Object.fromEntries(headers) };
}

function expectSame(answers: { fast: Answer; reference: Answer }): Answer {
  expect(withoutCompressionHeaders(answers.fast)).toEqual(withoutCompressionHeaders(answers.reference));
  return answers.fast;
}

/** True when the body is a run of complete envelopes, or reaches a length over the limit first. */
function wholeEnvelopes(body: Buffer): boolean {
  let offset = 0;
  while (body.length - offset >= 5) {
    const length = body.readUInt32BE(offset + 1);
    if (length > READ_MAX_BYTES) return true;
    if (body.length < offset + 5 + length) return false;
    offset += 5 + length;
  }
  return offset === body.length;
}

function errorCodeOf(answer: Answer): string | undefined {
  const details = answer.trailers['grpc-status-details-bin'];
  if (details === undefined) return undefined;
  // google.rpc.Status: field 3 is the repeated Any; the first detail's value is our ErrorInfo.
  const status = Buffer.from(details, 'base64');
  const anyStart = status.indexOf(Buffer.from('scalekit.v1.errdetails.ErrorInfo')) + 'scalekit.v1.errdetails.ErrorInfo'.length;
  const valueLength = status[anyStart + 1]!;
  return fromBinary(ErrorInfoSchema, status.subarray(anyStart + 2, anyStart + 2 + valueLength)).errorCode;
}

beforeAll(async () => {
  h = await harness();
  token = await h.token();
  fast = await serve(true);
  reference = await serve(false);
});

afterAll(async () => {
  for (const served of [fast, reference]) {
    served.session.close();
    await new Promise((closed) => served.server.close(closed));
  }
  await h.close();
});

describe('gRPC fast path vs connect-node', () => {
  it('send: the same headers and trailers, an equal message apart from the new request', async () => {
    const body = message(SEND.input, {
      email: 'fast-path@example.com',
      magiclinkAuthUri: REDIRECT,
      state: 'xyz',
      templateVariables: { team: 'Acme' },
    });
    const answers = await both(sdkHeaders(SEND.name), body.subarray(0, 3), body.subarray(3, 20), body.subarray(20));
    expect(answers.fast.status).toBe(200);
    expect(answers.fast.trailers).toEqual({ 'grpc-status': '0' });
    expect(withoutCompressionHeaders(answers.fast).headers).toEqual(withoutCompressionHeaders(answers.reference).headers);
    expect(answers.fast.trailers).toEqual(answers.reference.trailers);
    const decode = (answer: Answer) => fromBinary(SEND.output, answer.body.subarray(5, 5 + answer.body.readUInt32BE(1)));
    const [a, b] = [decode(answers.fast), decode(answers.reference)];
    expect(a.authRequestId).not.toBe(b.authRequestId);
    expect({ ...a, authRequestId: '' }).toEqual({ ...b, authRequestId: '' });
    expect(answers.fast.body[0]).toBe(0);
    // The fast path answered this one: connect-node would have named its response compression.
    expect(answers.fast.headers['grpc-encoding']).toBeUndefined();
    expect(answers.reference.headers['grpc-encoding']).toBe('gzip');
  });

  it('Sesame errors: the same status, message, details and metadata', async () => {
    const cases: [string, http2.OutgoingHttpHeaders, Buffer, string][] = [
      [
        'invalid email',
        sdkHeaders(SEND.name),
        message(SEND.input, { email: 'not-an-email', magiclinkAuthUri: REDIRECT }),
        'INVALID_ARGUMENT',
      ],
      [
        'redirect not allowed',
        sdkHeaders(SEND.name),
        message(SEND.input, { email: 'a@example.com', magiclinkAuthUri: 'https://evil.example/x' }),
        'REDIRECT_URI_NOT_ALLOWED',
      ],
      ['no token', sdkHeaders(SEND.name, { authorization: undefined }), message(SEND.input, { email: 'a@example.com' }), 'UNAUTHENTICATED'],
      [
        'bad token',
        sdkHeaders(SEND.name, { authorization: 'Bearer nope' }),
        message(SEND.input, { email: 'a@example.com' }),
        'UNAUTHENTICATED',
      ],
      ['verify without credential', sdkHeaders(VERIFY.name), message(VERIFY.input, {}), 'INVALID_ARGUMENT'],
      [
        'verify, unknown code',
        sdkHeaders(VERIFY.name),
        message(VERIFY.input, { authCredential: { case: 'code', value: '123456' }, authRequestId: 'nope' }),
        'AUTH_REQUEST_NOT_FOUND',
      ],
      ['resend, unknown request', sdkHeaders(RESEND.name), message(RESEND.input, { authRequestId: 'nope' }), 'AUTH_REQUEST_NOT_FOUND'],
    ];
    for (const [name, headers, body, code] of cases) {
      const answer = expectSame(await both(headers, body));
      expect(answer.status, name).toBe(200);
      expect(answer.trailers['x-request-id'], name).toBe('request-id-under-test');
      expect(errorCodeOf(answer), name).toBe(code);
    }
  });

  it('malformed envelopes: the error connect-node gives, byte for byte', async () => {
    const valid = toBinary(SEND.input, create(SEND.input, { email: 'a@example.com' }));
    // With a valid token (a message the server cannot take never reaches the send); the last one
    // without, so that the message it does take stops at the token.
    const cases: [string, Buffer[], string, string | undefined][] = [
      ['no message', [Buffer.alloc(0)], '12', `Bearer ${token}`],
      ['two messages', [envelope(valid), envelope(valid)], '12', `Bearer ${token}`],
      ['declared length over the limit', [envelope(valid, 0, READ_MAX_BYTES + 1)], '8', `Bearer ${token}`],
      [
        'a message over the limit',
        [message(SEND.input, { email: 'a@example.com', state: 'x'.repeat(READ_MAX_BYTES) })],
        '8',
        `Bearer ${token}`,
      ],
      [
        'over the limit, then more',
        [message(SEND.input, { email: 'a@example.com', state: 'x'.repeat(READ_MAX_BYTES) }), envelope(valid)],
        '8',
        `Bearer ${token}`,
      ],
      ['a full message, then one past the limit', [envelope(valid), Buffer.alloc(READ_MAX_BYTES + 10)], '12', `Bearer ${token}`],
      ['the end-of-stream flag (ignored on requests)', [envelope(valid, 0x80)], '16', undefined],
    ];
    for (const [name, chunks, status, authorization] of cases) {
      const answer = expectSame(await both(sdkHeaders(SEND.name, { authorization }), ...chunks));
      expect(answer.trailers['grpc-status'], name).toBe(status);
    }
  });

  it('a declared length over the limit is refused as soon as the envelope header is in, on both paths', async () => {
    for (const served of [fast, reference]) {
      const stream = served.session.request(sdkHeaders(SEND.name));
      stream.on('error', () => undefined);
      const header = Buffer.alloc(5);
      header.writeUInt32BE(1024 ** 3, 1);
      // The header and a few bytes, and then nothing: the request is never ended.
      stream.write(Buffer.concat([header, Buffer.alloc(10)]));
      const trailers = await trailersWithin(stream, 3_000);
      stream.close();
      expect(trailers === 'no answer' ? trailers : trailers['grpc-status'], served === fast ? 'fast path' : 'connect-node').toBe('8');
    }
  });

  it('a body cut off inside an envelope: "incomplete envelope" (connect-node says that or "missing input", by timing)', async () => {
    const valid = toBinary(SEND.input, create(SEND.input, { email: 'a@example.com' }));
    const cases: [string, Buffer[]][] = [
      ['half an envelope header', [Buffer.from([0, 0, 0])]],
      ['a header and no message', [Buffer.from([0, 0, 0, 0, 1])]],
      ['a message shorter than declared', [envelope(valid, 0, valid.length + 10)]],
      ['a message and half a header', [envelope(valid), Buffer.from([0, 0])]],
    ];
    for (const [name, chunks] of cases) {
      const { fast: answer, reference } = await both(sdkHeaders(SEND.name), ...chunks);
      expect(answer.trailers, name).toEqual({
        'grpc-status': '3',
        'grpc-message': encodeURIComponent('protocol error: incomplete envelope'),
      });
      expect(['3', '12'], name).toContain(reference.trailers['grpc-status']);
    }
  });

  it('requests the fast path does not take reach connect-node, on both servers alike', async () => {
    const body = message(SEND.input, { email: 'a@example.com' });
    const cases: [string, http2.OutgoingHttpHeaders][] = [
      ['grpc+json', sdkHeaders(SEND.name, { 'content-type': 'application/grpc+json' })],
      ['gzip request', sdkHeaders(SEND.name, { 'grpc-encoding': 'gzip' })],
      ['unknown encoding', sdkHeaders(SEND.name, { 'grpc-encoding': 'zstd' })],
      ['malformed grpc-timeout', sdkHeaders(SEND.name, { 'grpc-timeout': 'soon' })],
      ['unknown method', sdkHeaders('DeletePasswordlessEmail')],
      ['GET', sdkHeaders(SEND.name, { ':method': 'GET' })],
      ['other content type', sdkHeaders(SEND.name, { 'content-type': 'text/plain' })],
    ];
    for (const [name, headers] of cases) {
      const before = [fast.fallbacks, reference.fallbacks];
      const answers = headers[':method'] === 'GET' ? await both(headers) : await both(headers, body);
      expect(answers.fast, name).toEqual(answers.reference);
      expect(fast.fallbacks - before[0]!, name).toBe(reference.fallbacks - before[1]!);
    }
  });

  it("bytes no server could read: INVALID_ARGUMENT with Sesame's code here, INTERNAL in connect-node", async () => {
    const valid = toBinary(SEND.input, create(SEND.input, { email: 'a@example.com' }));
    for (const body of [envelope(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff])), envelope(valid, 1)]) {
      const answers = await both(sdkHeaders(SEND.name), body);
      expect(answers.fast.trailers['grpc-status']).toBe('3');
      expect(errorCodeOf(answers.fast)).toBe('INVALID_ARGUMENT');
      expect(answers.reference.trailers['grpc-status']).toBe('13');
    }
  });

  it('random bodies with a token: always an answer, never INTERNAL, the send reached exactly when connect-node reaches it', async () => {
    const valid = toBinary(SEND.input, create(SEND.input, { email: 'a@example.com' }));
    const envelopes = fc
      .tuple(
        fc.integer({ min: 0, max: 255 }),
        fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(valid)),
        fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 80 })),
      )
      .map(([flags, payload, declared]) => envelope(payload, flags, declared ?? payload.length));
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
      fc.array(envelopes, { minLength: 0, maxLength: 3 }).map((parts) => Buffer.concat(parts)),
    );
    await fc.assert(
      fc.asyncProperty(bodies, fc.integer({ min: 1, max: 4 }), async (body, pieces) => {
        const size = Math.ceil(body.length / pieces) || 1;
        const chunks =
          body.length === 0
            ? [body]
            : Array.from({ length: Math.ceil(body.length / size) }, (_, i) => body.subarray(i * size, (i + 1) * size));
        const before = [fast.sends, reference.sends] as const;
        const answers = await both(sdkHeaders(SEND.name), ...chunks);
        const reached = [fast.sends - before[0], reference.sends - before[1]] as const;
        expect(answers.fast.status).toBe(200);
        // OK, or a Sesame error (3 invalid, 8 size or send limit, 12 framing): never INTERNAL.
        expect(answers.fast.trailers['grpc-status']).toMatch(/^(0|3|8|12)$/);
        // connect-node's answer to a body cut off inside an envelope varies from run to run
        // (the same bytes got "incomplete envelope", "missing input" and even reached the
        // method), so it is the reference only for bodies of whole envelopes.
        if (!wholeEnvelopes(body)) return;
        const referenceStatus = answers.reference.trailers['grpc-status'];
        // Whether a body reaches the send must agree.
        expect(reached[0], `reference ${referenceStatus}`).toBe(reached[1]);
        // Which of its framing errors connect-node gives depends on how the bytes were split into
        // reads; its size check on a body in one piece is stable, so that answer must match.
        if (pieces === 1 && referenceStatus === '8') {
          expect(withoutCompressionHeaders(answers.fast)).toEqual(withoutCompressionHeaders(answers.reference));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('random bodies without a valid token: UNAUTHENTICATED on the fast path whatever the bytes; no send on either path', async () => {
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
      fc.constant(message(SEND.input, { email: 'a@example.com', magiclinkAuthUri: REDIRECT })),
      fc.constant(Buffer.alloc(0)),
    );
    const authorizations = fc.constantFrom(
      undefined,
      '',
      'Bearer',
      'Bearer nope',
      `Basic ${token}`,
      `Bearer ${token}x`,
      `Bearer ${token}, Bearer ${token}`,
    );
    await fc.assert(
      fc.asyncProperty(bodies, authorizations, async (body, authorization) => {
        const before = [fast.sends, reference.sends] as const;
        const answers = await both(sdkHeaders(SEND.name, { authorization }), body);
        // The token is judged before the message: the caller learns nothing of how it would be read.
        expect(answers.fast.trailers['grpc-status']).toBe('16');
        expect(errorCodeOf(answers.fast)).toBe('UNAUTHENTICATED');
        expect([fast.sends - before[0], reference.sends - before[1]]).toEqual([0, 0]);
      }),
      { numRuns: 100 },
    );
  });

  it('a call without a token is answered before its message arrives, and what it sends is not kept', async () => {
    const stream = fast.session.request(sdkHeaders(SEND.name, { authorization: undefined }));
    stream.on('error', () => undefined);
    // Half a megabyte offered, never ended: the answer does not wait for it.
    stream.write(Buffer.alloc(512 * 1024));
    const trailers = await trailersWithin(stream, 3_000);
    stream.close();
    expect(trailers === 'no answer' ? trailers : trailers['grpc-status']).toBe('16');
  });

  it('a request its client abandons before ending it is not run', async () => {
    const queued = await h.store.outboxDepth();
    const address = fast.server.address() as AddressInfo;
    const session = http2.connect(`http://127.0.0.1:${address.port}`);
    session.on('error', () => undefined);
    const stream = session.request(sdkHeaders(SEND.name));
    stream.on('error', () => undefined);
    // The whole message, but never the end of the request; then the connection goes away.
    stream.write(message(SEND.input, { email: 'abandoned@example.com', magiclinkAuthUri: REDIRECT }));
    await new Promise((sent) => setTimeout(sent, 50));
    session.destroy();
    // The next call still works, and no email was queued for the abandoned one.
    const after = await call(fast, sdkHeaders(RESEND.name), [message(RESEND.input, { authRequestId: 'nope' })]);
    expect(errorCodeOf(after)).toBe('AUTH_REQUEST_NOT_FOUND');
    await new Promise((settle) => setTimeout(settle, 50));
    expect(await h.store.outboxDepth()).toBe(queued);
  });

  it.each([
    ['CANCEL', http2.constants.NGHTTP2_CANCEL],
    ['INTERNAL_ERROR', http2.constants.NGHTTP2_INTERNAL_ERROR],
  ])('a stream its client resets with %s mid-call leaves the server and the session serving', async (_name, code) => {
    const stream = fast.session.request(sdkHeaders(SEND.name));
    stream.on('error', () => undefined);
    stream.write(message(SEND.input, { email: 'reset@example.com', magiclinkAuthUri: REDIRECT }));
    await new Promise((sent) => setTimeout(sent, 50));
    // RST_STREAM on this stream alone: with an error code the server's stream emits 'error',
    // which must be heard (unheard, it would end the process).
    stream.close(code);
    await new Promise((reset) => setTimeout(reset, 50));
    const after = await call(fast, sdkHeaders(RESEND.name), [message(RESEND.input, { authRequestId: 'nope' })]);
    expect(errorCodeOf(after)).toBe('AUTH_REQUEST_NOT_FOUND');
  });
});

/** The trailers of a call whose request is never ended, or 'no answer' after `ms`. */
function trailersWithin(stream: http2.ClientHttp2Stream, ms: number): Promise<http2.IncomingHttpHeaders | 'no answer'> {
  return new Promise((resolve) => {
    const giveUp = setTimeout(() => resolve('no answer'), ms);
    stream.once('trailers', (received) => {
      clearTimeout(giveUp);
      resolve(received);
    });
    stream.resume();
  });
}
