/**
 * SESAME_METRICS_TOKEN on a real listening server: with it, `/metrics` answers only
 * `Authorization: Bearer <token>` (scheme in any case); every near miss (no header, another
 * scheme, the token with a byte more or less, a prefix, two headers, padding) gets 401
 * UNAUTHENTICATED with the REST error body, on HTTP/1.1 and h2c. Without it `/metrics` stays
 * public, and a production start says in its log how to protect it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig, startSesame, type RunningSesame } from '../../src/index.js';
import { metricsAuthorized } from '../../src/ops/metrics-auth.js';

const TOKEN = 'metrics-token-0123456789_abcdef';
const dirs: string[] = [];
const running: RunningSesame[] = [];

async function start(env: Record<string, string>, logs?: string[]): Promise<RunningSesame> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-metrics-'));
  dirs.push(dir);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs?.push(chunk.toString('utf8'));
      done();
    },
  });
  const config = loadConfig({
    PORT: '0',
    SESAME_DATA_DIR: dir,
    SESAME_SECRET: 'metrics-suite-secret-0123456789abcdefghij',
    SESAME_LOG_LEVEL: 'warn',
    ...env,
  });
  const server = await startSesame(config, { logger: createLogger('warn', sink) });
  running.push(server);
  return server;
}

afterAll(async () => {
  for (const server of running) await server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** GET /metrics over HTTP/1.1 with exactly these Authorization lines. */
function viaHttp1(port: number, authorizations: readonly string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () =>
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) }),
    );
    socket.write(
      `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n${authorizations.map((a) => `Authorization: ${a}\r\n`).join('')}Connection: close\r\n\r\n`,
    );
  });
}

function viaHttp2(port: number, authorization: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({ ':path': '/metrics', ...(authorization === undefined ? {} : { authorization }) });
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.resume();
    stream.on('end', () => {
      session.close();
      resolve(status);
    });
    stream.on('error', reject);
  });
}

describe('with SESAME_METRICS_TOKEN', () => {
  let server: RunningSesame;
  beforeAll(async () => {
    server = await start({ SESAME_METRICS_TOKEN: TOKEN });
  });

  it('the token as a bearer token: the metrics (HTTP/1.1 and h2c, scheme in any case)', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const answer = await viaHttp1(server.port, [`${scheme} ${TOKEN}`]);
      expect(answer.status, scheme).toBe(200);
      expect(answer.body).toContain('sesame_http_requests_total');
      expect(await viaHttp2(server.port, `${scheme} ${TOKEN}`), scheme).toBe(200);
    }
  });

  it('every near miss: 401 UNAUTHENTICATED, on both protocols', async () => {
    const misses: (readonly string[])[] = [
      [],
      [''],
      ['Bearer'],
      ['Bearer '],
      [TOKEN],
      [`Basic ${Buffer.from(`metrics:${TOKEN}`).toString('base64')}`],
      [`Bearer ${TOKEN.slice(0, -1)}`],
      [`Bearer ${TOKEN}x`],
      [`Bearer ${TOKEN.toUpperCase()}`],
      [`Bearer  ${TOKEN}`],
      [`Bearer ${TOKEN}, Bearer ${TOKEN}`],
      [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`],
      [`Bearer ${TOKEN}`, 'Bearer wrong'],
      ['Bearer wrong', `Bearer ${TOKEN}`],
    ];
    for (const authorizations of misses) {
      const answer = await viaHttp1(server.port, authorizations);
      expect(answer.status, JSON.stringify(authorizations)).toBe(401);
      expect((JSON.parse(answer.body) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
      expect(answer.body).not.toContain(TOKEN);
      if (authorizations.length <= 1) expect(await viaHttp2(server.port, authorizations[0]), JSON.stringify(authorizations)).toBe(401);
    }
  });

  it('generated header values: only the exact token opens it', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (value) => {
        expect(metricsAuthorized(value, TOKEN)).toBe(/^bearer /i.test(value) && value.slice(7) === TOKEN);
      }),
      { numRuns: 2_000 },
    );
  });

  it('other routes are unaffected', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('without SESAME_METRICS_TOKEN', () => {
  it('development: /metrics is public, nothing logged about it', async () => {
    const logs: string[] = [];
    const server = await start({}, logs);
    expect((await viaHttp1(server.port, [])).status).toBe(200);
    expect(logs.join('')).not.toContain('SESAME_METRICS_TOKEN');
  });

  it('production: /metrics is public and the start warns how to protect it', async () => {
    const logs: string[] = [];
    const server = await start({ NODE_ENV: 'production', SESAME_SMTP_URL: 'smtp://127.0.0.1:1' }, logs);
    expect((await viaHttp1(server.port, [])).status).toBe(200);
    expect(logs.join('')).toMatch(/\/metrics is public: set SESAME_METRICS_TOKEN/);
  });
});
