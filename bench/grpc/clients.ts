/**
 * The gRPC clients bench:grpc can load the server with (--grpc-client): the SDK's own, connect
 * with the SDK's transport options, and a bare node:http2 one as a diagnostic.
 */
import http2 from 'node:http2';
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethod,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import { createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import connectModule from '@scalekit-sdk/node/lib/connect.js';
import coreModule from '@scalekit-sdk/node/lib/core.js';
import passwordlessModule from '@scalekit-sdk/node/lib/passwordless.js';
import { PasswordlessService } from '../../packages/server/src/gen/scalekit/v1/auth/passwordless/passwordless_pb.js';
import { grpcFrame } from '../../packages/server/src/grpc/unary-fast-path.js';
import type { BenchServer } from '../lib/bench-server.js';
import { BENCH_REDIRECT as REDIRECT } from '../lib/closed-loop.js';
import type { GrpcClientKind } from './options.js';

const CoreClient = coreModule.default;
const GrpcConnect = connectModule.default;
const PasswordlessClient = passwordlessModule.default;

export type Credential = { readonly code: string } | { readonly linkToken: string };

export interface GrpcClient {
  send(email: string): Promise<string>;
  verify(credential: Credential, authRequestId: string): Promise<string>;
}

const authCredential = (credential: Credential) =>
  'code' in credential ? { case: 'code' as const, value: credential.code } : { case: 'linkToken' as const, value: credential.linkToken };

/** The SDK's own PasswordlessClient on the SDK's own GrpcConnect (one h2 session). */
function sdkClient(target: BenchServer): GrpcClient {
  const core = new CoreClient(target.base.origin, 'bench', 'unused-the-token-is-set');
  core.accessToken = target.token;
  const passwordless = new PasswordlessClient(new GrpcConnect(core), core);
  return {
    send: async (email) => (await passwordless.sendPasswordlessEmail(email, { magiclinkAuthUri: REDIRECT })).authRequestId,
    verify: async (credential, authRequestId) => (await passwordless.verifyPasswordlessEmail(credential, authRequestId)).email,
  };
}

/** connect-node createGrpcTransport with the SDK's options and headers, without the SDK's wrapper. */
function connectClient(target: BenchServer): GrpcClient {
  const core = new CoreClient(target.base.origin, 'bench', 'unused-the-token-is-set');
  const headers: Interceptor = (next) => (request) => {
    request.header.set('user-agent', core.userAgent);
    request.header.set('x-sdk-version', core.sdkVersion);
    request.header.set('x-api-version', core.apiVersion);
    request.header.set('authorization', `Bearer ${target.token}`);
    return next(request);
  };
  const transport = createGrpcTransport({ baseUrl: target.base.origin, defaultTimeoutMs: core.timeoutMs, interceptors: [headers] });
  const client: Client<typeof PasswordlessService> = createClient(PasswordlessService, transport);
  return {
    send: async (email) => (await client.sendPasswordlessEmail({ email, magiclinkAuthUri: REDIRECT })).authRequestId,
    verify: async (credential, authRequestId) =>
      (await client.verifyPasswordlessEmail({ authRequestId, authCredential: authCredential(credential) })).email,
  };
}

/** h2 sessions opened by h2Client, closed after their phase. */
const sessions = new Set<http2.ClientHttp2Session>();

export function closeSessions(): void {
  for (const session of sessions) session.close();
  sessions.clear();
}

/**
 * Diagnostic: the same gRPC requests on the wire (HTTP/2, length-prefixed protobuf, the same
 * headers), written straight on one node:http2 session without connect's per-call machinery. It
 * shows what the server's gRPC path costs when the client is cheap; not what an SDK user runs.
 */
function h2Client(target: BenchServer): GrpcClient {
  const core = new CoreClient(target.base.origin, 'bench', 'unused-the-token-is-set');
  const session = http2.connect(target.base.origin);
  session.on('error', () => undefined);
  sessions.add(session);
  const headers = {
    ':method': 'POST',
    'content-type': 'application/grpc+proto',
    te: 'trailers',
    'grpc-timeout': `${core.timeoutMs}m`,
    'user-agent': core.userAgent,
    'x-sdk-version': core.sdkVersion,
    'x-api-version': core.apiVersion,
    authorization: `Bearer ${target.token}`,
  };
  function unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { input: I; output: O },
    message: MessageInitShape<I>,
  ): Promise<MessageShape<O>> {
    const frame = grpcFrame(toBinary(method.input, create(method.input, message)));
    return new Promise((done, fail) => {
      const stream = session.request({ ...headers, ':path': `/${PasswordlessService.typeName}/${method.name}` });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      stream.on('response', (h) => (status = h['grpc-status'] as string | undefined));
      stream.on('trailers', (h) => (status = h['grpc-status'] as string | undefined));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', fail);
      stream.on('end', () => {
        const answer = Buffer.concat(chunks);
        if (status !== '0' || answer.length < 5) {
          fail(new Error(`grpc-status ${status ?? 'missing'}`));
          return;
        }
        done(fromBinary(method.output, answer.subarray(5, 5 + answer.readUInt32BE(1))));
      });
      stream.end(frame);
    });
  }
  const { sendPasswordlessEmail: send, verifyPasswordlessEmail: verify } = PasswordlessService.method;
  return {
    send: async (email) => (await unary(send, { email, magiclinkAuthUri: REDIRECT, templateVariables: {} })).authRequestId,
    verify: async (credential, authRequestId) => (await unary(verify, { authRequestId, authCredential: authCredential(credential) })).email,
  };
}

export const grpcClients: Record<GrpcClientKind, (target: BenchServer) => GrpcClient> = {
  sdk: sdkClient,
  connect: connectClient,
  h2: h2Client,
};
