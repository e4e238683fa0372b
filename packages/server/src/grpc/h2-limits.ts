/**
 * What one HTTP/2 (h2c) connection may hold. Node's defaults advertise 2³²−1 concurrent streams,
 * and `maxSessionMemory` only counts nghttp2's buffers, not the JavaScript objects of each open
 * stream: a client sending HEADERS without a body could open streams until the heap ran out.
 *
 * - At most `MAX_CONCURRENT_STREAMS` open streams per connection (advertised in SETTINGS). Node
 *   refuses a stream past it with RST_STREAM, and ends a session that keeps opening refused
 *   streams (`maxSessionRejectedStreams`).
 * - A header list of at most `MAX_HEADER_LIST_BYTES` (HTTP/1.1's 16 KiB) and `MAX_HEADER_PAIRS`.
 * - Churn: a stream that ends before its request was received whole (reset by the client, cut by
 *   the server's request deadline, or answered early, e.g. refused without a token) costs a
 *   token from a per-connection bucket; an empty bucket ends the connection with GOAWAY
 *   ENHANCE_YOUR_CALM. An honest client finishes its requests, so it never drains the bucket;
 *   a client opening and abandoning streams (rapid reset, floods of unauthenticated calls)
 *   has to open new connections instead.
 */
import http2 from 'node:http2';

export const MAX_CONCURRENT_STREAMS = 100;
export const MAX_HEADER_LIST_BYTES = 16 * 1024;
export const MAX_HEADER_PAIRS = 128;
/** nghttp2's own buffers per session, in MB (Node's unit). */
export const MAX_SESSION_MEMORY_MB = 10;

export interface ChurnLimit {
  /** Abandoned streams a connection may end at once. */
  readonly burst: number;
  /** And then per second, sustained. */
  readonly perSecond: number;
}

export const DEFAULT_CHURN_LIMIT: ChurnLimit = { burst: 32, perSecond: 8 };

/** The options of the h2c server (`http2.createServer`). */
export function h2ServerOptions(): http2.ServerOptions {
  return {
    maxSessionMemory: MAX_SESSION_MEMORY_MB,
    maxHeaderListPairs: MAX_HEADER_PAIRS,
    // Node's defaults, stated: refused streams and invalid frames in a row before the session ends.
    maxSessionRejectedStreams: 100,
    maxSessionInvalidFrames: 1_000,
    settings: {
      maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
      maxHeaderListSize: MAX_HEADER_LIST_BYTES,
      enablePush: false,
    },
  };
}

export interface ChurnGuard {
  /**
   * Counts a stream refused before its request arrived, at the moment it is refused (a handler's
   * early answer): a flood ends its connection before the rest of what it sent is worked on.
   */
  refusedEarly(stream: http2.ServerHttp2Stream): void;
}

/** Ends connections whose streams keep ending before their requests do (see the module comment). */
export function limitStreamChurn(
  server: http2.Http2Server,
  limit: ChurnLimit = DEFAULT_CHURN_LIMIT,
  now: () => number = Date.now,
): ChurnGuard {
  const spenders = new WeakMap<http2.Http2Session, () => void>();
  const counted = new WeakSet<http2.ServerHttp2Stream>();
  // A session ended here emits 'error'; Node forwards it to 'sessionError', which is expected.
  server.on('sessionError', () => undefined);
  server.on('session', (session: http2.ServerHttp2Session) => {
    let tokens = limit.burst;
    let refilledAt = now();
    const spend = (): void => {
      const at = now();
      tokens = Math.min(limit.burst, tokens + ((at - refilledAt) / 1000) * limit.perSecond);
      refilledAt = at;
      tokens -= 1;
      if (tokens < 0 && !session.destroyed)
        session.destroy(new Error('too many abandoned streams'), http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    };
    spenders.set(session, spend);
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      // The server ended its answer before the client ended its request.
      stream.once('finish', () => {
        if (counted.has(stream)) return;
        let answeredEarly = false;
        try {
          answeredEarly = stream.state.remoteClose === 0;
        } catch {
          answeredEarly = false;
        }
        if (answeredEarly) {
          counted.add(stream);
          spend();
        }
      });
      // Reset by either side (the client's rapid reset, the server's deadline or refusal).
      stream.once('close', () => {
        if (!counted.has(stream) && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) spend();
      });
    });
  });
  return {
    refusedEarly(stream) {
      const session = stream.session;
      if (session === undefined || counted.has(stream)) return;
      counted.add(stream);
      spenders.get(session)?.();
    },
  };
}

/**
 * Whether the stream's session has already been ended (by a limit above, or by Node): frames the
 * session had read before it ended still open streams, and they deserve no work.
 */
export function sessionEnded(stream: http2.ServerHttp2Stream): boolean {
  return stream.destroyed || stream.session === undefined || stream.session.destroyed;
}
