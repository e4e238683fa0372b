/**
 * Every REST request is answered by one app (hono). It is reached two ways, which must give the
 * same answer (status, headers, body): `app.request()`, as in-process tests drive it, and the real
 * server (`startSesame`: Node's HTTP/1.1 server, the host check and @hono/node-server in front of
 * the same app). Either way a request is counted once in the metrics and logged once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, createLogger, loadConfig, startSesame, type RunningSesame } from '../src/index.js';
import { REDIRECT } from './helpers.js';

let dir: string;
let running: RunningSesame;
let token: string;
const logs: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-rest-paths-'));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  running = await startSesame(
    loadConfig({
      PORT: '0',
      SESAME_DATA_DIR: dir,
      SESAME_SECRET: 'rest-paths-suite-secret-0123456789abcdef',
      SESAME_ALLOWED_REDIRECT_URIS: REDIRECT,
      SESAME_MAX_BODY_BYTES: '1024',
    }),
    { logger: createLogger('info', sink) },
  );
  const client = await createClient(running.store, {
    key: running.sesame.clientSecretKey,
    name: 'rest paths',
    redirectUris: [REDIRECT],
    now: Date.now(),
  });
  const answer = await running.sesame.app.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.record.id, client_secret: client.secret }).toString(),
  });
  token = ((await answer.json()) as { access_token: string }).access_token;
});

afterAll(async () => {
  await running.close();
  rmSync(dir, { recursive: true, force: true });
});

type Header = [string, string];
const bearer = (): Header => ['Authorization', `Bearer ${token}`];
const asJson: Header = ['Content-Type', 'application/json'];

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Headers that differ by transport, not by Sesame: the connection's own and the clock's; and the
 * body's framing, compared on its own (`lengthOf`).
 */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

/** The body's length as sent: its Content-Length, or what arrived for a chunked answer. */
const lengthOf = (answer: Answer): string => answer.headers['content-length'] ?? String(Buffer.byteLength(answer.body));

function normalise(answer: Answer): Answer {
  const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !TRANSPORT_HEADERS.has(name)));
  // Generated per request: compared for shape, then blanked.
  const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
  if (headers['x-request-id'] !== undefined) headers['x-request-id'] = headers['x-request-id'].replace(uuid, '<uuid>');
  const body = answer.body.replace(uuid, '<uuid>').replace(/"auth_request_id":"[^"]+"/, '"auth_request_id":"<id>"');
  // The body length follows the blanked values: the real lengths are compared before blanking.
  return { status: answer.status, headers, body };
}

async function inProcess(method: string, path: string, headers: Header[], body?: string): Promise<Answer> {
  const init: RequestInit = { method, headers: new Headers(headers) };
  if (body !== undefined) init.body = body;
  const response = await running.sesame.app.request(path, init);
  const text = await response.text();
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => (out[name] = value));
  // app.request() has no Node response to count the bytes: the server adds content-length.
  out['content-length'] ??= String(Buffer.byteLength(text));
  return { status: response.status, headers: out, body: text };
}

/** A raw HTTP/1.1 request to the real server, so repeated headers go out exactly as written. */
async function overNode(method: string, path: string, headers: Header[], body?: string): Promise<Answer> {
  const socket = net.connect(running.port, '127.0.0.1');
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
    ...headers.map(([name, value]) => `${name}: ${value}`),
  ];
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  // Not half-closed: the server ends the connection after its answer (`Connection: close`).
  socket.write(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const split = raw.indexOf('\r\n\r\n');
  const [statusLine, ...headerLines] = raw.slice(0, split).split('\r\n');
  const out: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  const payload = raw.slice(split + 4);
  const received = out['transfer-encoding'] === 'chunked' ? unchunked(payload) : payload;
  return { status: Number(statusLine!.split(' ')[1]), headers: out, body: received };
}

/** The body of a chunked answer without its framing (sizes in hex, each chunk and the end on its own line). */
function unchunked(framed: string): string {
  const bytes = Buffer.from(framed, 'utf8');
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', offset);
    const size = Number.parseInt(bytes.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Both ways agree: the same status, headers and body, and the headers every answer carries. */
function expectAlike(viaNode: Answer, viaApp: Answer, label?: string): void {
  expect(lengthOf(viaNode), label).toBe(lengthOf(viaApp));
  expect(normalise(viaNode), label).toEqual(normalise(viaApp));
  expect(viaNode.headers['x-request-id'], label).toBeDefined();
  expect(viaNode.headers['x-content-type-options'], label).toBe('nosniff');
}

const json = (value: unknown) => JSON.stringify(value);
let emails = 0;
const freshEmail = () => `rest-paths-${(emails += 1)}@example.com`;

describe('app.request() and the real server answer alike', () => {
  /** Routes whose answer changes with every request by design: compared by status and header names. */
  const VARYING = new Set(['GET /metrics', 'GET /admin/api/csrf']);

  // First, while the dev inbox is still empty: its page lists what the worker delivers.
  it('every route', async () => {
    const routes = new Set(
      running.sesame.app.routes
        .filter((route) => route.method !== 'ALL')
        .map((route) => `${route.method} ${route.path.replace(/:[^/]+/g, 'unknown').replace(/\*/g, 'any')}`),
    );
    expect(routes.size).toBeGreaterThan(20);
    for (const route of routes) {
      const [method, path] = route.split(' ') as [string, string];
      const headers: Header[] = [['Authorization', `Bearer ${token}`]];
      const body = method === 'GET' || method === 'HEAD' ? undefined : '{}';
      if (body !== undefined) headers.push(['Content-Type', 'application/json']);
      const viaApp = await inProcess(method, path, headers, body);
      const viaNode = await overNode(method, path, headers, body);
      if (VARYING.has(route)) {
        expect(viaNode.status, route).toBe(viaApp.status);
        expect(Object.keys(normalise(viaNode).headers).sort(), route).toEqual(Object.keys(normalise(viaApp).headers).sort());
      } else {
        expectAlike(viaNode, viaApp, route);
      }
    }
  });

  type Request = [method: string, path: string, headers: Header[], body: string | undefined];
  const post = (action: string, headers: Header[], body: unknown): Request => [
    'POST',
    `/api/v1/passwordless/email/${action}`,
    headers,
    json(body),
  ];
  const cases: [string, () => Request][] = [
    ['send, ok', () => post('send', [bearer(), asJson], { email: freshEmail(), magiclink_auth_uri: REDIRECT })],
    ['send, our request id echoed', () => post('send', [bearer(), asJson, ['X-Request-Id', 'caller-id.1']], { email: freshEmail() })],
    [
      'send, an unusable request id replaced',
      () => post('send', [bearer(), asJson, ['X-Request-Id', 'no spaces allowed']], { email: freshEmail() }),
    ],
    ['no token: 401 with WWW-Authenticate', () => post('send', [asJson], { email: freshEmail() })],
    ['two Authorization headers: joined, so refused', () => post('send', [bearer(), bearer(), asJson], { email: freshEmail() })],
    ['a token with padding spaces', () => post('send', [['Authorization', `Bearer ${token}  `], asJson], { email: freshEmail() })],
    ['not JSON by content type', () => post('send', [bearer(), ['Content-Type', 'text/plain']], { email: freshEmail() })],
    ['two Content-Type headers', () => post('send', [bearer(), asJson, ['Content-Type', 'text/plain']], { email: freshEmail() })],
    ['JSON with parameters', () => post('send', [bearer(), ['Content-Type', 'application/json; charset=utf-8']], { email: freshEmail() })],
    ['a query string on the path', () => post('send?x=1', [bearer(), asJson], { email: freshEmail(), magiclink_auth_uri: REDIRECT })],
    ['over the body limit', () => post('send', [bearer(), asJson], { email: freshEmail(), state: 'x'.repeat(2_000) })],
    ['invalid input: 400 with field violations', () => post('verify', [bearer(), asJson], { code: '1' })],
    ['unknown request: 404', () => post('verify', [bearer(), asJson], { code: '123456', auth_request_id: 'nope' })],
    ['resend of an unknown request: 404', () => post('resend', [bearer(), asJson], { auth_request_id: 'nope' })],
    ['GET of a POST route: 404', () => ['GET', '/api/v1/passwordless/email/send', [bearer()], undefined]],
    ['health', () => ['GET', '/healthz', [], undefined]],
    ['no route', () => ['GET', '/nowhere', [], undefined]],
  ];

  it.each(cases)('%s', async (_name, build) => {
    const [method, path, headers, body] = build();
    const viaApp = await inProcess(method, path, headers, body);
    // Its own address, so the second send is not the first one's repeat.
    const viaNode = await overNode(method, path, headers, body?.replace(/rest-paths-\d+@/, `rest-paths-${(emails += 1)}@`));
    expectAlike(viaNode, viaApp);
  });

  it('a query string or another method reaches the route it names', async () => {
    const send = '/api/v1/passwordless/email/send';
    const withQuery = await overNode(
      'POST',
      `${send}?x=1`,
      [bearer(), asJson],
      json({ email: freshEmail(), magiclink_auth_uri: REDIRECT }),
    );
    const get = await overNode('GET', send, [bearer(), asJson]);
    expect(withQuery.status).toBe(200);
    expect(get.status).toBe(404);
  });

  it('a request is counted and logged once, alike either way', async () => {
    const metricLine = async (status: string): Promise<number> => {
      const text = await running.sesame.metrics.registry.metrics();
      const line = text
        .split('\n')
        .find((l) =>
          l.startsWith(`sesame_http_requests_total{method="POST",route="/api/v1/passwordless/email/verify",status="${status}"}`),
        );
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };
    const refused: Header[] = [bearer(), asJson, ['X-Request-Id', 'one-path-log-check']];
    const requestLines = (from: number) =>
      logs
        .slice(from)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.msg === 'request');
    const before = await metricLine('400');
    const logsBefore = logs.length;
    await inProcess('POST', '/api/v1/passwordless/email/verify', refused, '{}');
    expect(await metricLine('400')).toBe(before + 1);
    expect(requestLines(logsBefore)).toHaveLength(1);
    await overNode('POST', '/api/v1/passwordless/email/verify', refused, '{}');
    expect(await metricLine('400')).toBe(before + 2);
    const lines = requestLines(logsBefore);
    expect(lines).toHaveLength(2);
    // Everything but the moment, the duration's value and the process fields.
    const comparable = lines.map((line) => {
      const rest = Object.fromEntries(Object.entries(line).filter(([key]) => !['time', 'pid', 'hostname', 'durationMs'].includes(key)));
      return { ...rest, durationMs: typeof line.durationMs };
    });
    expect(comparable[1]).toEqual(comparable[0]);
    expect(comparable[0]).toMatchObject({ requestId: 'one-path-log-check', route: '/api/v1/passwordless/email/verify', status: 400 });
  });

  it('a caller id is echoed on the Node path', async () => {
    const answer = await overNode('GET', '/healthz', [['X-Request-Id', 'trace-42']]);
    expect(answer.headers['x-request-id']).toBe('trace-42');
  });
});
