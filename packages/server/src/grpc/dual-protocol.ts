/**
 * One port, two protocols: HTTP/1.1 for REST and HTTP/2 cleartext with prior knowledge for
 * gRPC (docs/WIRE.md "Transport"). A plain `net.Server` accepts each socket, reads only
 * until the bytes can no longer be the 24-byte HTTP/2 client preface, puts them back with
 * `unshift`, and hands the socket to the HTTP/2 or the HTTP/1.1 server (neither listens).
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** How long the socket of a closed HTTP/2 session may wait for its client to close it. */
const CLOSED_SESSION_GRACE_MS = 1_000;

export interface DualProtocolOptions {
  readonly http1: http.Server;
  readonly http2: http2.Http2Server;
  /** A socket that has not sent enough bytes to tell its protocol this long after connecting is closed. */
  readonly sniffTimeoutMs?: number;
}

export interface DualProtocolServer {
  /** The listening socket server; `close(cb)` stops accepting and calls back once every connection ended. */
  readonly server: net.Server;
  /** Closes connections with nothing in flight: idle HTTP/1.1 keep-alives, and HTTP/2 sessions gracefully (open streams finish). */
  closeIdle(): void;
  /** Cuts every remaining connection (the end of a shutdown's grace period). */
  closeAll(): void;
}

export function createDualProtocolServer(options: DualProtocolOptions): DualProtocolServer {
  const { http1, http2: h2 } = options;
  const sniffTimeoutMs = options.sniffTimeoutMs ?? 10_000;
  const sessions = new Set<http2.ServerHttp2Session>();
  // The socket being handed to the HTTP/2 server: Node creates its session synchronously.
  let handing: net.Socket | null = null;
  h2.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    const socket = handing;
    session.once('close', () => {
      sessions.delete(session);
      // A closed session only ends its side of the socket (FIN after GOAWAY) and stops reading:
      // a client that keeps writing (a flood cut off by a limit) would hold the socket forever.
      if (socket !== null) setTimeout(() => socket.destroy(), CLOSED_SESSION_GRACE_MS).unref();
    });
  });

  const server = net.createServer({ noDelay: true }, (socket) => {
    let seen = Buffer.alloc(0);
    const done = (): void => {
      socket.removeListener('readable', onReadable);
      socket.removeListener('end', onEnd);
      clearTimeout(deadline);
    };
    const onTimeout = (): void => {
      done();
      socket.destroy();
    };
    const onEnd = (): void => {
      done();
      socket.destroy();
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      // Read only while what we have could still be the preface: never consume past a decision.
      while (seen.length < PREFACE.length && (chunk = socket.read() as Buffer | null) !== null) {
        seen = Buffer.concat([seen, chunk]);
      }
      const comparable = Math.min(seen.length, PREFACE.length);
      const couldBePreface = seen.subarray(0, comparable).equals(PREFACE.subarray(0, comparable));
      if (couldBePreface && seen.length < PREFACE.length) return;
      done();
      socket.unshift(seen);
      if (couldBePreface) {
        handing = socket;
        try {
          h2.emit('connection', socket);
        } finally {
          handing = null;
        }
      } else {
        http1.emit('connection', socket);
      }
    };
    // A deadline, not an idle timeout: a client trickling the 24-byte preface one byte at a time
    // must not hold the connection for 24 idle periods.
    const deadline = setTimeout(onTimeout, sniffTimeoutMs);
    socket.on('end', onEnd);
    socket.on('readable', onReadable);
    socket.on('error', () => socket.destroy());
  });

  return {
    server,
    closeIdle() {
      http1.closeIdleConnections();
      for (const session of sessions) session.close();
    },
    closeAll() {
      http1.closeAllConnections();
      for (const session of sessions) session.destroy();
    },
  };
}
