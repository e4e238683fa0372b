/**
 * The HTTP/2 request handler: gRPC for the passwordless methods, and everything else passed on.
 * The SDK's calls (unary, binary, uncompressed) take the fast path; connect-node serves every
 * other gRPC, gRPC-web and Connect request and hands the rest (REST over h2c) to `fallback`.
 */
import type { Http2ServerRequest, Http2ServerResponse, ServerHttp2Stream } from 'node:http2';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { CallerClient } from '@sesame/core';
import { joinRepeatedAuthorization } from './call-headers.js';
import { connectRoutes, type UnaryMethodImpl } from './service.js';
import { createGrpcFastPath } from './unary-fast-path.js';

export interface GrpcHandlerOptions {
  readonly methods: readonly UnaryMethodImpl[];
  /** The largest request message, on both paths. */
  readonly readMaxBytes: number;
  /** Requests that are not gRPC for these methods. */
  readonly fallback: (request: Http2ServerRequest, response: Http2ServerResponse) => void;
  /** False serves every call through connect-node (the reference, for the equivalence test). */
  readonly fastPath?: boolean;
  /** The methods' token check, which the fast path runs before reading a call's message (see unary-fast-path.ts). */
  readonly authenticate?: (authorization: string | null) => Promise<CallerClient>;
  /** Told of each call the fast path refuses before its message was all read. */
  readonly onEarlyRefusal?: (stream: ServerHttp2Stream) => void;
}

export function createGrpcHandler(options: GrpcHandlerOptions): (request: Http2ServerRequest, response: Http2ServerResponse) => void {
  const viaConnect = connectNodeAdapter({
    routes: connectRoutes(options.methods),
    readMaxBytes: options.readMaxBytes,
    // connect-node hands over the HTTP/2 request and response objects themselves; its response
    // type only narrows `write`'s callback signature, hence the cast.
    fallback: (request, response) => options.fallback(request as Http2ServerRequest, response as unknown as Http2ServerResponse),
  });
  if (options.fastPath === false) {
    return (request, response) => {
      joinRepeatedAuthorization(request);
      viaConnect(request, response);
    };
  }
  const fast = createGrpcFastPath({
    methods: options.methods,
    readMaxBytes: options.readMaxBytes,
    ...(options.authenticate ? { authenticate: options.authenticate } : {}),
    ...(options.onEarlyRefusal ? { onEarlyRefusal: options.onEarlyRefusal } : {}),
  });
  return (request, response) => {
    // Node's header object keeps only the first `authorization`; every path must see them all.
    joinRepeatedAuthorization(request);
    if (!fast(request, response)) viaConnect(request, response);
  };
}
