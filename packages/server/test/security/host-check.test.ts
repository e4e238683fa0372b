/**
 * Host checks against DNS rebinding, on a real listening server (HTTP/1.1 and h2c on one port):
 * outside production only the public URL's host, the loopback names and SESAME_ALLOWED_HOSTS are
 * answered (any port); every other Host, including other spellings of loopback, gets 421
 * MISDIRECTED_REQUEST before any route (the dev inbox included), on both protocols. The dev inbox
 * is not served at all when listening on a non-loopback interface. In production the check is
 * off unless SESAME_ALLOWED_HOSTS is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, startSesame, type RunningSesame } from '../../src/index.js';
import { isLoopbackAddress } from '../../src/http/host-check.js';

const SECRET = 'host-check-suite-secret-0123456789abcdefghij';
const dirs: string[] = [];
const running: RunningSesame[] = [];

async function start(env: Record<string, string>): Promise<RunningSesame> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-host-'));
  dirs.push(dir);
  const server = await startSesame(
    loadConfig({ PORT: '0', SESAME_DATA_DIR: dir, SESAME_SECRET: SECRET, SESAME_LOG_LEVEL: 'silent', ...env }),
  );
  running.push(server);
  return server;
}

afterAll(async () => {
  for (const server of running) await server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly code: string | undefined;
}

function codeOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/** One HTTP/1.1 request with exactly these Host lines (none: no Host at all). */
function viaHttp1(port: number, path: string, hosts: readonly string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, code: codeOf(text.slice(text.indexOf('\r\n\r\n') + 4)) });
    });
    socket.write(`GET ${path} HTTP/1.1\r\n${hosts.map((host) => `Host: ${host}\r\n`).join('')}Connection: close\r\n\r\n`);
  });
}

/** One h2c request with this :authority. */
function viaHttp2(port: number, path: string, authority: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({ ':method': 'GET', ':path': path, ':authority': authority });
    let status = 0;
    let body = '';
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (d: Buffer) => (body += d.toString('utf8')));
    stream.on('error', reject);
    stream.on('end', () => {
      session.close();
      resolve({ status, code: codeOf(body) });
    });
  });
}

const PUBLIC_HOST = 'sesame.test';
const EXTRA_HOST = 'sesame.internal';
const ALLOWED = [
  'localhost',
  'LOCALHOST',
  'localhost:3000',
  '127.0.0.1',
  '127.0.0.1:1',
  '[::1]',
  '[::1]:8080',
  PUBLIC_HOST,
  `${PUBLIC_HOST}:443`,
  'Sesame.Test',
  EXTRA_HOST,
];
/** Rebinding names, other spellings of loopback, trailing dots, bad ports, smuggled credentials. */
const REFUSED = [
  'evil.example',
  'evil.example:8080',
  'localhost.',
  'localhost.:8080',
  '127.0.0.1.',
  'localhost.evil.example',
  'app.localhost',
  `${PUBLIC_HOST}.`,
  `${PUBLIC_HOST}.evil.example`,
  `evil-${PUBLIC_HOST}`,
  '2130706433',
  '0x7f.1',
  '0x7f000001',
  '127.1',
  '0177.0.0.1',
  '127.0.0.2',
  '0.0.0.0',
  '[::ffff:127.0.0.1]',
  '[0:0:0:0:0:0:0:1]',
  '[::1',
  'localhost:',
  'localhost:99999',
  'user@localhost',
  'localhost@evil.example',
  '',
];

let dev: RunningSesame;

beforeAll(async () => {
  dev = await start({ SESAME_PUBLIC_URL: `http://${PUBLIC_HOST}:8080`, SESAME_ALLOWED_HOSTS: EXTRA_HOST });
  expect(dev.devInbox).toBe(true);
});

describe('outside production: only the public host and loopback names are answered', () => {
  it.each(['/admin/api/dev-inbox', '/dev/inbox', '/openapi.json'])(
    '%s: allowed hosts get their answer, every other Host 421, on HTTP/1.1 and h2c',
    async (path) => {
      for (const host of ALLOWED) {
        expect((await viaHttp1(dev.port, path, [host])).status, `HTTP/1.1 ${host}`).toBe(200);
        expect((await viaHttp2(dev.port, path, host)).status, `h2c ${host}`).toBe(200);
      }
      for (const host of REFUSED) {
        expect(await viaHttp1(dev.port, path, [host]), `HTTP/1.1 ${JSON.stringify(host)}`).toEqual({
          status: 421,
          code: 'MISDIRECTED_REQUEST',
        });
        // An empty :authority is refused by the HTTP/2 client itself.
        if (host !== '') expect(await viaHttp2(dev.port, path, host), `h2c ${host}`).toEqual({ status: 421, code: 'MISDIRECTED_REQUEST' });
      }
    },
  );

  it('generated host names: 421 unless the name is an allowed one, on both protocols', async () => {
    const allowed = new Set(ALLOWED.map((host) => host.replace(/:\d+$/, '').toLowerCase()));
    await fc.assert(
      fc.asyncProperty(fc.domain(), fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }), async (name, port) => {
        const host = port === undefined ? name : `${name}:${port}`;
        const expected = allowed.has(name.toLowerCase()) ? 200 : 421;
        expect((await viaHttp1(dev.port, '/admin/api/dev-inbox', [host])).status, host).toBe(expected);
        expect((await viaHttp2(dev.port, '/admin/api/dev-inbox', host)).status, host).toBe(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('two Host fields, one of them allowed: 421', async () => {
    for (const hosts of [
      ['localhost', 'evil.example'],
      ['evil.example', 'localhost'],
      ['localhost', '127.0.0.1'],
    ]) {
      expect((await viaHttp1(dev.port, '/admin/api/dev-inbox', hosts)).status, hosts.join(' + ')).toBe(421);
    }
  });

  it('the gRPC path is checked too (h2c, before the call is read)', async () => {
    const path = '/scalekit.v1.auth.passwordless.PasswordlessService/SendPasswordlessEmail';
    const answer = await new Promise<number>((resolve, reject) => {
      const session = http2.connect(`http://127.0.0.1:${dev.port}`);
      session.on('error', reject);
      const stream = session.request({
        ':method': 'POST',
        ':path': path,
        ':authority': 'evil.example',
        'content-type': 'application/grpc',
      });
      stream.on('response', (headers) => {
        resolve(Number(headers[':status']));
        session.destroy();
      });
      stream.on('error', reject);
      stream.end();
    });
    expect(answer).toBe(421);
  });

  it('/healthz and /readyz answer any host (probes call them by address)', async () => {
    for (const host of ['evil.example', '10.0.0.7:8080', '[2001:db8::1]:8080']) {
      expect((await viaHttp1(dev.port, '/healthz', [host])).status, host).toBe(200);
      expect((await viaHttp2(dev.port, '/readyz', host)).status, host).toBe(200);
    }
  });
});

describe('the dev inbox and the listening interface', () => {
  it('HOST names a loopback interface exactly when it is 127.0.0.0/8, ::1 or localhost', () => {
    const loopback = ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]'];
    const exposed = [
      '0.0.0.0',
      '::',
      '[::]',
      '192.168.1.10',
      '10.0.0.1',
      '::ffff:127.0.0.1',
      '0.0.0.0.',
      'example.com',
      '127.0.0.1.nip.io',
    ];
    for (const host of loopback) expect(isLoopbackAddress(host), host).toBe(true);
    for (const host of exposed) expect(isLoopbackAddress(host), host).toBe(false);
  });

  it('listening on every interface: no dev inbox route answers, whatever the Host', async () => {
    const exposed = await start({ HOST: '0.0.0.0' });
    expect(exposed.devInbox).toBe(false);
    for (const path of ['/admin/api/dev-inbox', '/dev/inbox']) {
      for (const host of ['127.0.0.1', 'localhost']) {
        expect((await viaHttp1(exposed.port, path, [host])).status, `${path} ${host}`).toBe(404);
        expect((await viaHttp2(exposed.port, path, host)).status, `${path} ${host}`).toBe(404);
      }
    }
  });
});

describe('in production', () => {
  // Production needs a relay to start; nothing is sent here, so nobody listens on it.
  const PRODUCTION = { NODE_ENV: 'production', SESAME_SMTP_URL: 'smtp://127.0.0.1:1' };

  it('answers any host by default', async () => {
    const production = await start({ ...PRODUCTION, SESAME_PUBLIC_URL: `https://${PUBLIC_HOST}` });
    for (const host of ['evil.example', '10.0.0.7', PUBLIC_HOST]) {
      expect((await viaHttp1(production.port, '/openapi.json', [host])).status, host).toBe(200);
    }
  });

  it('with SESAME_ALLOWED_HOSTS: the public host, loopback and the listed names only', async () => {
    const production = await start({
      ...PRODUCTION,
      SESAME_PUBLIC_URL: `https://${PUBLIC_HOST}`,
      SESAME_ALLOWED_HOSTS: EXTRA_HOST,
    });
    for (const host of [PUBLIC_HOST, EXTRA_HOST, '127.0.0.1'])
      expect((await viaHttp1(production.port, '/openapi.json', [host])).status, host).toBe(200);
    for (const host of ['evil.example', '10.0.0.7', `${EXTRA_HOST}.`]) {
      expect((await viaHttp1(production.port, '/openapi.json', [host])).status, host).toBe(421);
      expect((await viaHttp2(production.port, '/openapi.json', host)).status, host).toBe(421);
    }
  });

  it('SESAME_ALLOWED_HOSTS=* answers any host outside production too', async () => {
    const open = await start({ SESAME_ALLOWED_HOSTS: '*' });
    expect((await viaHttp1(open.port, '/openapi.json', ['evil.example'])).status).toBe(200);
  });
});
