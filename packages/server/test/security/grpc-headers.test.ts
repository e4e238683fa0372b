/**
 * Two gRPC request headers, as an attacker controlling every byte would send them:
 * - `authorization` repeated (two fields, either order, scheme in any case), or one field
 *   holding two comma-joined tokens: UNAUTHENTICATED and no send, on the fast path and
 *   on connect-node alike, as REST refuses repeats. Node's HTTP/2 client refuses to send a
 *   repeated `authorization`, so these calls are written as raw frames; the outcome is read from
 *   the server's own per-call metric.
 * - `grpc-timeout` in every unit (H M S m u n): a call whose deadline passes while it runs is
 *   answered DEADLINE_EXCEEDED (status 4) at the deadline, without the method's message; a
 *   deadline longer than the work, or longer than a timer can hold, lets the call finish.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { create, toBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateBearer } from '../../src/auth/bearer-auth.js';
import { PasswordlessService } from '../../src/gen/scalekit/v1/auth/passwordless/passwordless_pb.js';
import { createGrpcHandler } from '../../src/grpc/handler.js';
import { passwordlessGrpcMethods } from '../../src/grpc/service.js';
import { createClient, type RunningSesame } from '../../src/index.js';
import { harness, type Harness } from '../helpers.js';
import { FRAME, PREFACE, frame, literal } from './h2-flood.js';
import { REDIRECT, sleep, startInProcess } from './support.js';

const SEND = PasswordlessService.method.sendPasswordlessEmail;
const SEND_PATH = `/${PasswordlessService.typeName}/${SEND.name}`;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

function envelope(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + bytes.length);
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

describe('repeated authorization on a real server (raw HTTP/2 frames)', () => {
  let server: Awaited<ReturnType<typeof startInProcess>>;
  let running: RunningSesame;
  let token: string;
  let other: string;

  beforeAll(async () => {
    server = await startInProcess('sesame-grpc-headers-', {
      SESAME_SECRET: 'grpc-headers-suite-secret-0123456789abcdef',
      SESAME_ALLOWED_REDIRECT_URIS: REDIRECT,
    });
    running = server.running;
    const tokenOf = async (name: string) => {
      const client = await createClient(running.store, {
        key: running.sesame.clientSecretKey,
        name,
        redirectUris: [REDIRECT],
        now: Date.now(),
      });
      const response = await fetch(`${running.url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.record.id, client_secret: client.secret }),
      });
      return ((await response.json()) as { access_token: string }).access_token;
    };
    token = await tokenOf('first');
    other = await tokenOf('second');
  });
  afterAll(async () => {
    await server.stop();
  });

  /** One call on its own connection; resolves once the server ended the stream (or the connection). */
  function rawCall(headers: readonly (readonly [string, string])[], body: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(running.port, '127.0.0.1');
      const timer = setTimeout(() => socket.destroy(new Error('no answer within 5 s')), 5_000);
      let pending = Buffer.alloc(0);
      const done = (): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      };
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.on('close', done);
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 9) {
          const length = pending.readUIntBE(0, 3);
          if (pending.length < 9 + length) break;
          const [type, flags] = [pending[3]!, pending[4]!];
          const stream = pending.readUInt32BE(5) & 0x7fff_ffff;
          if (type === FRAME.SETTINGS && (flags & 0x1) === 0) socket.write(frame(FRAME.SETTINGS, 0x1, 0, Buffer.alloc(0)));
          if (stream === 1 && ((flags & END_STREAM) !== 0 || type === FRAME.RST_STREAM)) return done();
          if (type === FRAME.GOAWAY) return done();
          pending = pending.subarray(9 + length);
        }
      });
      socket.once('connect', () => {
        const block = Buffer.concat([
          literal(':method', 'POST'),
          literal(':scheme', 'http'),
          literal(':path', SEND_PATH),
          literal(':authority', `127.0.0.1:${running.port}`),
          literal('te', 'trailers'),
          ...headers.map(([name, value]) => literal(name, value)),
        ]);
        socket.write(
          Buffer.concat([
            PREFACE,
            frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0)),
            frame(FRAME.HEADERS, END_HEADERS, 1, block),
            frame(0x0, END_STREAM, 1, body),
          ]),
        );
      });
    });
  }

  /** This server's count of SendPasswordlessEmail calls with `outcome`. */
  async function calls(outcome: string): Promise<number> {
    const text = await running.sesame.metrics.registry.metrics();
    const line = new RegExp(
      `^sesame_http_requests_total\\{method="POST",route="grpc:SendPasswordlessEmail",status="${outcome}"\\} (\\d+)$`,
      'm',
    ).exec(text);
    return Number(line?.[1] ?? 0);
  }

  const bodies = {
    // application/grpc+proto: the fast path; application/grpc+json: connect-node.
    'application/grpc+proto': (email: string) => envelope(toBinary(SEND.input, create(SEND.input, { email, magiclinkAuthUri: REDIRECT }))),
    'application/grpc+json': (email: string) => envelope(Buffer.from(JSON.stringify({ email, magiclinkAuthUri: REDIRECT }))),
  } as const;

  it.each(Object.keys(bodies) as (keyof typeof bodies)[])(
    '%s: every repeated or joined authorization is UNAUTHENTICATED, never sent',
    async (contentType) => {
      const variants: [string, [string, string][]][] = [
        [
          'two fields, both valid',
          [
            ['authorization', `Bearer ${token}`],
            ['authorization', `Bearer ${token}`],
          ],
        ],
        [
          'two fields, valid first',
          [
            ['authorization', `Bearer ${token}`],
            ['authorization', 'Bearer not-a-token'],
          ],
        ],
        [
          'two fields, valid last',
          [
            ['authorization', 'Bearer not-a-token'],
            ['authorization', `Bearer ${token}`],
          ],
        ],
        [
          "two clients' tokens",
          [
            ['authorization', `Bearer ${token}`],
            ['authorization', `Bearer ${other}`],
          ],
        ],
        [
          'scheme in other cases',
          [
            ['authorization', `bearer ${token}`],
            ['authorization', `BEARER ${token}`],
          ],
        ],
        [
          'an empty field and a valid one',
          [
            ['authorization', ''],
            ['authorization', `Bearer ${token}`],
          ],
        ],
        ['comma-joined in one field', [['authorization', `Bearer ${token}, Bearer ${token}`]]],
        ['comma-joined, no space', [['authorization', `Bearer ${token},Bearer ${token}`]]],
        [
          'three fields',
          [
            ['authorization', `Bearer ${token}`],
            ['authorization', `Bearer ${token}`],
            ['authorization', `Bearer ${token}`],
          ],
        ],
      ];
      // Upper-case field names are malformed in HTTP/2: the stream is reset before any handler runs.
      const malformed: [string, [string, string][]][] = [
        [
          'Authorization beside authorization',
          [
            ['authorization', `Bearer ${token}`],
            ['Authorization', `Bearer ${other}`],
          ],
        ],
        ['AUTHORIZATION alone', [['AUTHORIZATION', `Bearer ${token}`]]],
      ];
      for (const [name, authorization] of malformed) {
        const okBefore = await calls('OK');
        await rawCall(
          [['content-type', contentType], ...authorization],
          bodies[contentType](`malformed-${name.replace(/\W+/g, '-')}@example.com`),
        );
        expect(await calls('OK'), name).toBe(okBefore);
      }
      for (const [name, authorization] of variants) {
        const [refusedBefore, okBefore] = [await calls('UNAUTHENTICATED'), await calls('OK')];
        await rawCall(
          [['content-type', contentType], ...authorization],
          bodies[contentType](`repeat-${name.replace(/\W+/g, '-')}@example.com`),
        );
        expect(await calls('UNAUTHENTICATED'), name).toBe(refusedBefore + 1);
        expect(await calls('OK'), name).toBe(okBefore);
      }
      // The same call with one field goes through (so the raw frames themselves are right).
      const okBefore = await calls('OK');
      await rawCall(
        [
          ['content-type', contentType],
          ['authorization', `Bearer ${token}`],
        ],
        bodies[contentType](`single-${contentType.slice(-4)}@example.com`),
      );
      expect(await calls('OK')).toBe(okBefore + 1);
    },
  );
});

describe('grpc-timeout on the fast path', () => {
  /** How long the method takes (the send operation is made this slow). */
  const WORK_MS = 400;
  let h: Harness;
  let server: http2.Http2Server;
  let session: http2.ClientHttp2Session;
  let token: string;
  let finishedCalls = 0;

  beforeAll(async () => {
    h = await harness({ seedRedirectUris: [REDIRECT] });
    token = await h.token();
    const authenticate = (header: string | null) => authenticateBearer(h.store, h.sesame.tokens, header);
    const operations = h.sesame.operations;
    const methods = passwordlessGrpcMethods({
      operations: {
        ...operations,
        send: async (input, caller) => {
          await sleep(WORK_MS);
          return operations.send(input, caller);
        },
      },
      authenticate,
      newRequestId: () => 'request-id-under-test',
      onCall: () => void (finishedCalls += 1),
    });
    server = http2.createServer(
      createGrpcHandler({
        methods,
        readMaxBytes: 64 * 1024,
        authenticate,
        fallback: (_request, response) => void response.writeHead(404).end(),
      }),
    );
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    session.close();
    await new Promise((closed) => server.close(closed));
    await h.close();
  });

  interface Answer {
    readonly status: string | undefined;
    readonly message: string | undefined;
    readonly bodyBytes: number;
    readonly ms: number;
  }

  function call(timeout: string, email: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const stream = session.request({
        ':method': 'POST',
        ':path': SEND_PATH,
        'content-type': 'application/grpc+proto',
        te: 'trailers',
        'grpc-timeout': timeout,
        authorization: `Bearer ${token}`,
      });
      let bodyBytes = 0;
      let trailers: http2.IncomingHttpHeaders = {};
      stream.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
      stream.on('trailers', (received) => (trailers = received));
      stream.on('error', reject);
      stream.on('end', () =>
        resolve({
          status: trailers['grpc-status'] as string | undefined,
          message: trailers['grpc-message'] as string | undefined,
          bodyBytes,
          ms: performance.now() - started,
        }),
      );
      stream.end(envelope(toBinary(SEND.input, create(SEND.input, { email, magiclinkAuthUri: REDIRECT }))));
    });
  }

  it.each([
    ['0H', 0],
    ['0S', 0],
    ['1m', 1],
    ['100m', 100],
    ['250m', 250],
    ['100000u', 100],
    ['250000u', 250],
    ['50000000n', 50],
    ['99999999n', 100],
  ])('%s (shorter than the work): DEADLINE_EXCEEDED at the deadline, no message', async (timeout, deadlineMs) => {
    const before = finishedCalls;
    const answer = await call(timeout, `deadline-${timeout}@example.com`);
    expect(answer.status).toBe('4');
    expect(decodeURIComponent(answer.message ?? '')).toBe('the operation timed out');
    expect(answer.bodyBytes).toBe(0);
    // Answered at the deadline, not when the work ended.
    expect(answer.ms).toBeGreaterThanOrEqual(deadlineMs - 5);
    expect(answer.ms).toBeLessThan(WORK_MS - 50);
    // A call whose deadline passed while it ran still ends (the send is not undone); its result went nowhere.
    await sleep(WORK_MS + 100);
    expect(finishedCalls - before).toBeLessThanOrEqual(1);
  });

  // Eight digits of nanoseconds are at most 0.1 s: no `n` value outlasts the work.
  it.each(['5S', '1M', '1H', '2000m', '2000000u', '99999999u', '99999999m', '99999999S', '99999999M', '99999999H'])(
    '%s (longer than the work): the call finishes',
    async (timeout) => {
      const answer = await call(timeout, `in-time-${timeout}@example.com`);
      expect(answer.status).toBe('0');
      expect(answer.bodyBytes).toBeGreaterThan(5);
      expect(answer.ms).toBeGreaterThanOrEqual(WORK_MS - 5);
    },
  );

  it('the session keeps serving after late results were dropped', async () => {
    const answers = await Promise.all([
      call('50m', 'late-1@example.com'),
      call('50m', 'late-2@example.com'),
      call('5S', 'after@example.com'),
    ]);
    expect(answers.map((a) => a.status)).toEqual(['4', '4', '0']);
  });
});
