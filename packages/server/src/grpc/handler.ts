/**
 * The HTTP/2 server: gRPC for the passwordless methods, and everything else passed on. The SDK's
 * calls (unary, binary, uncompressed) take the fast path on the raw stream; connect-node serves
 * every other gRPC, gRPC-web and Connect request and hands the rest (REST over h2c) to `fallback`.
 */
import http2, { type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { connectRoutes, type UnaryMethodImpl } from './service.js';
import { createGrpcFastPath } from './unary-fast-path.js';

export interface GrpcServerOptions {
  readonly methods: readonly UnaryMethodImpl[];
  /** The largest request message, on both paths. */
  readonly readMaxBytes: number;
  /** Requests that are not gRPC for these methods. */
  readonly fallback: (request: Http2ServerRequest, response: Http2ServerResponse) => void;
  /** False serves every call through connect-node (the reference, for the equivalence test). */
  readonly fastPath?: boolean;
  /** Called with every stream, whichever path serves it, before it is served (e.g. its deadline). */
  readonly onStream?: (stream: ServerHttp2Stream) => void;
  readonly http2?: http2.ServerOptions;
}

type Emit = (event: string | symbol, ...args: unknown[]) => boolean;

export function createGrpcServer(options: GrpcServerOptions): Http2Server {
  const viaConnect = connectNodeAdapter({
    routes: connectRoutes(options.methods),
    readMaxBytes: options.readMaxBytes,
    // connect-node hands over the HTTP/2 request and response objects themselves; its response
    // type only narrows `write`'s callback signature, hence the cast.
    fallback: (request, response) => options.fallback(request as Http2ServerRequest, response as unknown as Http2ServerResponse),
  });
  const server = http2.createServer(options.http2 ?? {}, viaConnect);
  const fast = options.fastPath === false ? null : createGrpcFastPath({ methods: options.methods, readMaxBytes: options.readMaxBytes });
  const { onStream } = options;
  if (fast === null && onStream === undefined) return server;

  // A session hands each new stream to its server as `server.emit('stream', stream, headers, …)`
  // (the documented 'stream' event), and Node's compatibility layer is one of that event's
  // listeners: it wraps every stream in a request and a response and emits 'request'. Taking
  // the fast path's streams here, before any listener, spares them that wrapping; every other
  // stream is emitted as before, so the compatibility layer, connect-node and `fallback` see
  // exactly what they saw without this.
  const emit = server.emit.bind(server) as Emit;
  const dispatch: Emit = (event, ...args) => {
    if (event === 'stream') {
      const stream = args[0] as ServerHttp2Stream;
      onStream?.(stream);
      if (fast?.(stream, args[1] as IncomingHttpHeaders)) return true;
    }
    return emit(event, ...args);
  };
  Reflect.set(server, 'emit', dispatch);
  return server;
}
