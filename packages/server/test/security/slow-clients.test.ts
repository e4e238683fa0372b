/**
 * Slow and abusive clients against a real `sesame start` child (SQLite, request
 * timeout 2 s so the test is short): slowloris headers and slow bodies (HTTP/1.1 and HTTP/2)
 * are cut off by the timeouts with 408 REQUEST_TIMEOUT; a trickle of the protocol sniff is cut
 * too; a huge Content-Length is refused with 413 before the body is read (and the connection is
 * then closed); a chunked body is refused as soon as it passes the limit; 500 connections at
 * once (idle and half-sent) keep the server's RSS bounded and the server answering.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { buildServerPackage, fetchAccessToken } from '@sesame/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { API, createApiClient, rssOf, sesameEnv, sleep, startChild, type Child } from './support.js';
import { childDataDir } from './child-dir.js';

const REQUEST_TIMEOUT_MS = 2_000;
/** The timeout plus Node's check interval (≤ 500 ms here) plus scheduling slack on a busy machine. */
const CUT_WITHIN_MS = REQUEST_TIMEOUT_MS + 2_500;

const dir = childDataDir('sesame-slow-');
let child: Child;
let token: string;

beforeAll(async () => {
  await buildServerPackage();
  const env = sesameEnv(dir, { SESAME_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
  const client = await createApiClient(env, dir);
  child = await startChild(env, dir);
  token = await fetchAccessToken(child.url, client);
});

interface Trickle {
  /** Everything the server sent back. */
  readonly answer: string;
  /** ms from the first byte written until the server closed the connection. */
  readonly closedAfterMs: number;
  /** ms from the first byte written until the first byte of the answer (null: none). */
  readonly answeredAfterMs: number | null;
  /** Bytes we managed to write before the close. */
  readonly bytesWritten: number;
}

/**
 * Writes `head` at once, then `piece` every `everyMs` until the server closes the connection
 * (or `giveUpMs` passes, which fails the caller's bounds).
 */
function trickle(head: string, piece: string | Buffer | ((i: number) => string), everyMs: number, giveUpMs = 15_000): Promise<Trickle> {
  let sent = 0;
  const next = (): string | Buffer => (typeof piece === 'function' ? piece(sent++) : piece);
  return new Promise((resolve) => {
    const started = performance.now();
    let answer = '';
    let answeredAfterMs: number | null = null;
    let bytesWritten = 0;
    let timer: NodeJS.Timeout | undefined;
    const socket = net.connect(child.port, '127.0.0.1', () => {
      socket.write(head);
      bytesWritten += Buffer.byteLength(head);
      timer = setInterval(() => {
        if (socket.writable) {
          const bytes = next();
          socket.write(bytes);
          bytesWritten += Buffer.byteLength(bytes);
        }
      }, everyMs);
    });
    const giveUp = setTimeout(() => socket.destroy(), giveUpMs);
    socket.on('data', (d: Buffer) => {
      answeredAfterMs ??= performance.now() - started;
      answer += d.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ answer, closedAfterMs: performance.now() - started, answeredAfterMs, bytesWritten });
    });
  });
}

function codeOf(answer: string): string | undefined {
  const head = answer.slice(0, answer.indexOf('\r\n\r\n'));
  let body = answer.slice(head.length + 4);
  // A chunked answer: the JSON is the first chunk.
  if (/^transfer-encoding: chunked/im.test(head)) body = body.slice(body.indexOf('\r\n') + 2, body.lastIndexOf('}') + 1);
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

describe('slow clients are cut off by the timeouts', () => {
  it('slowloris headers (one byte every 150 ms, never finished): 408 REQUEST_TIMEOUT and closed', async () => {
    const result = await trickle(`POST ${API}/send HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `, 'a', 150);
    expect(result.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(codeOf(result.answer)).toBe('REQUEST_TIMEOUT');
    expect(result.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(result.closedAfterMs).toBeLessThan(CUT_WITHIN_MS);
  });

  it('a slow body (headers complete, one byte every 150 ms): 408 REQUEST_TIMEOUT and closed', async () => {
    const head = `POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`;
    const result = await trickle(head, ' ', 150);
    expect(result.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(codeOf(result.answer)).toBe('REQUEST_TIMEOUT');
    expect(result.closedAfterMs).toBeLessThan(CUT_WITHIN_MS);
  });

  it('a trickled HTTP/2 preface (the protocol sniff) is closed within the timeout, not 24 idle periods later', async () => {
    // One byte of the preface every 1.5 s: never idle for the 2 s timeout, 36 s to finish it.
    const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
    const result = await trickle('P', (i) => preface[i + 1] ?? '', 1_500, 15_000);
    expect(result.bytesWritten).toBeLessThan(preface.length);
    expect(result.closedAfterMs).toBeLessThan(CUT_WITHIN_MS);
  });

  it('an HTTP/2 (gRPC port) request whose body trickles is cut within the timeout', async () => {
    const session = http2.connect(child.url);
    session.on('error', () => undefined);
    const started = performance.now();
    const stream = session.request(
      { ':method': 'POST', ':path': `${API}/send`, 'content-type': 'application/json', authorization: `Bearer ${token}` },
      { endStream: false },
    );
    stream.on('error', () => undefined);
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.resume();
    stream.write('{');
    const timer = setInterval(() => {
      if (!stream.closed && stream.writable) stream.write(' ');
    }, 150);
    const closedAfter = await new Promise<number>((resolve) => {
      const giveUp = setTimeout(() => resolve(Number.POSITIVE_INFINITY), 15_000);
      stream.once('close', () => {
        clearTimeout(giveUp);
        resolve(performance.now() - started);
      });
    });
    clearInterval(timer);
    session.destroy();
    expect(status).toBe(408);
    expect(closedAfter).toBeLessThan(CUT_WITHIN_MS);
  });
});

describe('oversized bodies are refused before they are read', () => {
  it('a gRPC message over SESAME_MAX_BODY_BYTES (declared 1 GB, then streamed): RESOURCE_EXHAUSTED at once, on both gRPC paths', async () => {
    const session = http2.connect(child.url);
    session.on('error', () => undefined);
    const path = '/scalekit.v1.auth.passwordless.PasswordlessService/SendPasswordlessEmail';
    // application/grpc+proto is the SDK's fast path; application/grpc+json goes through connect-node.
    for (const contentType of ['application/grpc+proto', 'application/grpc+json']) {
      const started = performance.now();
      const stream = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': contentType,
        te: 'trailers',
        authorization: `Bearer ${token}`,
      });
      stream.on('error', () => undefined);
      const header = Buffer.alloc(5);
      header.writeUInt32BE(1024 ** 3, 1);
      stream.write(header);
      const megabyte = Buffer.alloc(1024 * 1024);
      let written = 0;
      const pump = setInterval(() => {
        if (!stream.closed && stream.writable && written < 64) {
          stream.write(megabyte);
          written += 1;
        }
      }, 20);
      const status = await new Promise<string | undefined>((resolve) => {
        const giveUp = setTimeout(() => resolve('no answer'), 10_000);
        stream.once('trailers', (trailers) => {
          clearTimeout(giveUp);
          resolve(trailers['grpc-status'] as string | undefined);
        });
        stream.resume();
      });
      clearInterval(pump);
      const answeredAfter = performance.now() - started;
      stream.close();
      expect(status, contentType).toBe('8');
      expect(answeredAfter, contentType).toBeLessThan(2_000);
    }
    session.destroy();
  });

  it('Content-Length of 1 GB with a trickle: 413 PAYLOAD_TOO_LARGE at once, then the connection is closed', async () => {
    for (const path of [`${API}/send`, '/oauth/token']) {
      const head =
        `POST ${path}\r\n`.replace('\r\n', ' HTTP/1.1\r\n') +
        `Host: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{"email":"`;
      const result = await trickle(head, 'a'.repeat(100), 50, 10_000);
      expect(result.answer, path).toMatch(/^HTTP\/1\.1 413 /);
      expect(codeOf(result.answer), path).toBe('PAYLOAD_TOO_LARGE');
      // Answered long before the body could have arrived: at most a few trickles were written.
      expect(result.answeredAfterMs!, path).toBeLessThan(1_000);
      // And the server does not keep reading a body it refused.
      expect(result.closedAfterMs, path).toBeLessThan(CUT_WITHIN_MS);
      expect(result.bytesWritten, path).toBeLessThan(100_000);
    }
  });

  it('a chunked body without Content-Length is refused as soon as it passes the limit', async () => {
    const head = `POST ${API}/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const chunk = `2000\r\n${'a'.repeat(0x2000)}\r\n`; // 8 KiB a chunk, every 20 ms
    const result = await trickle(head, chunk, 20, 10_000);
    expect(result.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(codeOf(result.answer)).toBe('PAYLOAD_TOO_LARGE');
    expect(result.closedAfterMs).toBeLessThan(CUT_WITHIN_MS);
    // 64 KiB limit: refused within a few chunks past it, not after megabytes.
    expect(result.bytesWritten).toBeLessThan(2 * 1024 * 1024);
  });
});

describe('many connections', () => {
  it('500 connections at once (idle, half-sent headers, half-sent bodies): RSS bounded, still serving, all closed by the timeouts', async () => {
    const before = rssOf(child.pid);
    const sockets: net.Socket[] = [];
    let closedByServer = 0;
    const open = (first: string): Promise<void> =>
      new Promise((resolve) => {
        const socket = net.connect(child.port, '127.0.0.1', () => {
          if (first) socket.write(first);
          resolve();
        });
        socket.on('error', () => undefined);
        socket.on('close', () => (closedByServer += 1));
        socket.resume(); // read (and drop) the answers, so the server's close is seen
        sockets.push(socket);
      });
    const kinds = [
      '',
      'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaa',
      `POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{"a":"${'x'.repeat(4000)}`,
    ];
    for (let i = 0; i < 500; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => open(kinds[(i + j) % kinds.length]!)));
    await sleep(300);
    const peak = rssOf(child.pid);
    // While they are all open, a normal request is answered promptly.
    const t0 = performance.now();
    const health = await fetch(`${child.url}/healthz`);
    const healthMs = performance.now() - t0;
    expect(health.status).toBe(200);
    expect(healthMs).toBeLessThan(1_000);
    // The timeouts close every one of them (idle sockets: the 2 s protocol sniff).
    const deadline = Date.now() + CUT_WITHIN_MS + 2_000;
    while (closedByServer < sockets.length && Date.now() < deadline) await sleep(100);
    for (const socket of sockets) socket.destroy();
    expect(closedByServer).toBe(500);
    const growth = peak - before;
    console.info(
      `RSS before ${(before / 1048576).toFixed(1)} MiB, with 500 connections ${(peak / 1048576).toFixed(1)} MiB (+${(growth / 1048576).toFixed(1)} MiB); /healthz meanwhile ${healthMs.toFixed(0)} ms`,
    );
    expect(growth).toBeLessThan(64 * 1024 * 1024);
    expect((await fetch(`${child.url}/readyz`)).status).toBe(200);
  });
});
