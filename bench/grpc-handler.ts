/**
 * `npm run bench:grpc-handler`: the server-side cost of one unary gRPC call in the transport
 * alone — connect-node's handler, Sesame's fast path (src/grpc/unary-fast-path.ts) and a bare
 * `node:http2` stream handler as the floor — with a method that does no work, so what is
 * measured is the gRPC machinery the README's gRPC section talks about.
 *
 *   npm run bench:grpc-handler                     # 20,000 calls per server, 50 concurrent
 *   npm run bench:grpc-handler -- --calls 5000
 *
 * - Each server is a child process of this script (`--serve KIND`), on 127.0.0.1, running the
 *   same `createGrpcHandler` the real server runs (fastPath true / false), or the bare handler.
 * - The load is one node:http2 session from this process sending the SDK's headers and one
 *   SendPasswordlessEmail message per call; 3,000 untimed calls warm each server up.
 * - CPU per call: the child's `process.cpuUsage()` over the timed calls, and this process's.
 * - Bounded: calls per server (--calls, at most 200,000) and 60 s per server, after which the
 *   child is killed by PID and the run fails.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { create, toBinary } from '@bufbuild/protobuf';
import { createGrpcHandler } from '../packages/server/src/grpc/handler.js';
import type { UnaryMethodImpl } from '../packages/server/src/grpc/service.js';
import { grpcFrame } from '../packages/server/src/grpc/unary-fast-path.js';
import {
  PasswordlessService,
  PasswordlessType,
  SendPasswordlessResponseSchema,
} from '../packages/server/src/gen/scalekit/v1/auth/passwordless/passwordless_pb.js';
import { BENCH_REDIRECT, fmt, markdownTable } from './lib/closed-loop.js';

const KINDS = ['connect-node', 'fast path', 'bare node:http2'] as const;
type Kind = (typeof KINDS)[number];
const SEND = PasswordlessService.method.sendPasswordlessEmail;
const PATH = `/${PasswordlessService.typeName}/${SEND.name}`;
const CONCURRENCY = 50;
const WARM_UP_CALLS = 3_000;
const SERVER_LIMIT_MS = 60_000;

const ANSWER = create(SendPasswordlessResponseSchema, {
  authRequestId: '01M8XA08ABCDEFGHJKMNPQRSTVWXYZ0123456789ab',
  expiresAt: 1_800_000_000n,
  expiresIn: 300,
  passwordlessType: PasswordlessType.LINK_OTP,
});

type ToParent = { readonly port: number } | { readonly cpuMs: number };

/** The child: one server of `kind`, reporting its port, then its CPU between 'start' and 'stop'. */
function serve(kind: Kind): void {
  let server: http2.Http2Server;
  if (kind === 'bare node:http2') {
    const answer = toBinary(SEND.output, ANSWER);
    server = http2.createServer();
    server.on('stream', (stream) => {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        const frame = grpcFrame(answer);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(frame);
      });
    });
  } else {
    // A method that does nothing but read the header a real one reads: the transport's cost alone.
    const methods: UnaryMethodImpl[] = [
      {
        method: SEND,
        impl: (_request, meta) => {
          meta.setResponseHeader('x-request-id', meta.authorization === null ? 'anonymous' : 'bench');
          return Promise.resolve(ANSWER);
        },
      },
    ];
    const handler = createGrpcHandler({
      methods,
      readMaxBytes: 64 * 1024,
      fastPath: kind === 'fast path',
      fallback: (_request, response) => void response.writeHead(404).end(),
    });
    server = http2.createServer(handler);
  }
  let started = process.cpuUsage();
  const send = (message: ToParent): void => void process.send?.(message);
  process.on('message', (message) => {
    if (message === 'start') started = process.cpuUsage();
    if (message === 'stop') {
      const used = process.cpuUsage(started);
      send({ cpuMs: (used.user + used.system) / 1000 });
    }
  });
  server.listen(0, '127.0.0.1', () => send({ port: (server.address() as AddressInfo).port }));
}

function nextMessage(child: ChildProcess): Promise<ToParent> {
  return new Promise((resolve) => child.once('message', (message) => resolve(message as ToParent)));
}

async function measure(kind: Kind, calls: number): Promise<{ kind: Kind; callsPerSecond: number; serverUs: number; clientUs: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const hardLimit = setTimeout(() => {
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    console.error(`bench:grpc-handler: ${kind} did not finish in ${SERVER_LIMIT_MS / 1000} s`);
    process.exit(2);
  }, SERVER_LIMIT_MS);
  try {
    const ready = await nextMessage(child);
    if (!('port' in ready)) throw new Error('the server did not report its port');
    const session = http2.connect(`http://127.0.0.1:${ready.port}`);
    const frame = grpcFrame(toBinary(SEND.input, create(SEND.input, { email: 'bench@example.com', magiclinkAuthUri: BENCH_REDIRECT })));
    const headers = {
      ':method': 'POST',
      ':path': PATH,
      'content-type': 'application/grpc+proto',
      te: 'trailers',
      'grpc-timeout': '20000m',
      'grpc-accept-encoding': 'gzip,br',
      authorization: `Bearer ${'x'.repeat(300)}`,
    };
    const call = (): Promise<void> =>
      new Promise((done, fail) => {
        const stream = session.request(headers);
        let status: string | undefined;
        stream.on('trailers', (trailers) => (status = trailers['grpc-status'] as string | undefined));
        stream.on('data', () => undefined);
        stream.on('error', fail);
        stream.on('end', () => (status === '0' ? done() : fail(new Error(`${kind}: grpc-status ${status ?? 'missing'}`))));
        stream.end(frame);
      });
    const run = async (count: number): Promise<void> => {
      let issued = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (issued < count) {
            issued += 1;
            await call();
          }
        }),
      );
    };
    await run(WARM_UP_CALLS);
    child.send('start');
    const clientBefore = process.cpuUsage();
    const t0 = performance.now();
    await run(calls);
    const seconds = (performance.now() - t0) / 1000;
    const client = process.cpuUsage(clientBefore);
    child.send('stop');
    const usage = await nextMessage(child);
    if (!('cpuMs' in usage)) throw new Error('the server did not report its CPU');
    session.close();
    return {
      kind,
      callsPerSecond: calls / seconds,
      serverUs: (usage.cpuMs * 1000) / calls,
      clientUs: (client.user + client.system) / calls,
    };
  } finally {
    clearTimeout(hardLimit);
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '20000' }, serve: { type: 'string' } } });
  if (values.serve !== undefined) {
    if (!(KINDS as readonly string[]).includes(values.serve)) throw new Error(`--serve: unknown server ${values.serve}`);
    serve(values.serve as Kind);
    return;
  }
  const calls = Math.min(200_000, Math.max(1_000, Number(values.calls)));
  const rows = [];
  for (const kind of KINDS) rows.push(await measure(kind, calls));
  const floor = rows.find((r) => r.kind === 'bare node:http2')!;
  console.log(`\n## Unary gRPC, server-side cost of the transport (${calls} calls, ${CONCURRENCY} concurrent, one h2 session)\n`);
  console.log(
    markdownTable(
      ['server', 'calls/s', 'server CPU µs/call', '÷ bare node:http2', 'client CPU µs/call'],
      rows.map((r) => [r.kind, fmt(r.callsPerSecond, 0), fmt(r.serverUs, 1), fmt(r.serverUs / floor.serverUs, 2), fmt(r.clientUs, 1)]),
    ),
  );
}

await main();
