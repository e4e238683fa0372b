/**
 * Three ways a REST request is served, which must give the same answer (status, headers, body):
 * - `app.request()`, as in-process tests do: hono with its own WHATWG Headers;
 * - a Node server through @hono/node-server, where src/node-http.ts reads Node's parsed request
 *   headers and sets the common response headers with `setHeader`;
 * - the same server with the REST fast path first (src/rest-fast-path.ts), which answers the
 *   three passwordless calls without hono.
 * All three share one app and store. The fast path must also count and log a request exactly as
 * the app does.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIRECT, harness, type Harness } from './helpers.js';

let h: Harness;
let throughHono: http.Server;
let withFastPath: http.Server;
let fastPathServed = 0;
let token: string;

async function listen(handler: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(async () => {
  h = await harness({ maxBodyBytes: 1_024 });
  token = await h.token();
  const listener = getRequestListener(h.sesame.app.fetch);
  throughHono = await listen((request, response) => void listener(request, response));
  withFastPath = await listen((request, response) => {
    if (h.sesame.restFastPath(request, response)) fastPathServed += 1;
    else void listener(request, response);
  });
});

afterAll(async () => {
  for (const server of [throughHono, withFastPath]) await new Promise<void>((resolve) => server.close(() => resolve()));
  await h.close();
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Headers that differ by transport, not by Sesame: the connection's own and the clock's. */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

function normalise(answer: Answer): Answer {
  const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !TRANSPORT_HEADERS.has(name)));
  // Generated per request: compared for shape, then blanked.
  const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
  if (headers['x-request-id'] !== undefined) headers['x-request-id'] = headers['x-request-id'].replace(uuid, '<uuid>');
  const body = answer.body.replace(uuid, '<uuid>').replace(/"auth_request_id":"[^"]+"/, '"auth_request_id":"<id>"');
  // The body length follows the blanked values; the real lengths were compared before blanking.
  return { status: answer.status, headers, body };
}

async function inProcess(method: string, path: string, headers: [string, string][], body?: string): Promise<Answer> {
  const init: RequestInit = { method, headers: new Headers(headers) };
  if (body !== undefined) init.body = body;
  const response = await h.request(path, init);
  const text = await response.text();
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => (out[name] = value));
  // app.request() has no Node response to count the bytes: the server adds content-length.
  out['content-length'] ??= String(Buffer.byteLength(text));
  return { status: response.status, headers: out, body: text };
}

/** A raw HTTP/1.1 request, so repeated headers go out exactly as written. */
async function overNode(server: http.Server, method: string, path: string, headers: [string, string][], body?: string): Promise<Answer> {
  const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
    ...headers.map(([name, value]) => `${name}: ${value}`),
  ];
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
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
  return { status: Number(statusLine!.split(' ')[1]), headers: out, body: raw.slice(split + 4) };
}

const json = (value: unknown) => JSON.stringify(value);
let emails = 0;
const freshEmail = () => `node-http-${(emails += 1)}@example.com`;

describe('app.request(), hono under Node and the REST fast path answer alike', () => {
  const bearer = (): [string, string] => ['Authorization', `Bearer ${token}`];
  const cases: [string, () => [string, string, [string, string][], string | undefined]][] = [
    [
      'send, ok',
      () => [
        'POST',
        '/api/v1/passwordless/email/send',
        [bearer(), ['Content-Type', 'application/json']],
        json({ email: freshEmail(), magiclink_auth_uri: REDIRECT }),
      ],
    ],
    [
      'send, our request id echoed',
      () => [
        'POST',
        '/api/v1/passwordless/email/send',
        [bearer(), ['Content-Type', 'application/json'], ['X-Request-Id', 'caller-id.1']],
        json({ email: freshEmail() }),
      ],
    ],
    [
      'send, an unusable request id replaced',
      () => [
        'POST',
        '/api/v1/passwordless/email/send',
        [bearer(), ['Content-Type', 'application/json'], ['X-Request-Id', 'no spaces allowed']],
        json({ email: freshEmail() }),
      ],
    ],
    [
      'no token: 401 with WWW-Authenticate',
      () => ['POST', '/api/v1/passwordless/email/send', [['Content-Type', 'application/json']], json({ email: freshEmail() })],
    ],
    [
      'two Authorization headers: joined, so refused',
      () => [
        'POST',
        '/api/v1/passwordless/email/send',
        [bearer(), bearer(), ['Content-Type', 'application/json']],
        json({ email: freshEmail() }),
      ],
    ],
    [
      'a token with padding spaces',
      () => [
        'POST',
        '/api/v1/passwordless/email/send',
        [
          ['Authorization', `Bearer ${token}  `],
          ['Content-Type', 'application/json'],
        ],
        json({ email: freshEmail() }),
      ],
    ],
    [
      'not JSON by content type',
      () => ['POST', '/api/v1/passwordless/email/send', [bearer(), ['Content-Type', 'text/plain']], json({ email: freshEmail() })],
    ],
    [
      'two Content-Type headers',
      () => [
        'POST',
        '/api/v1/passwordless/email/send',
        [bearer(), ['Content-Type', 'application/json'], ['Content-Type', 'text/plain']],
        json({ email: freshEmail() }),
      ],
    ],
    [
      'JSON with parameters',
      () => [
        'POST',
        '/api/v1/passwordless/email/send',
        [bearer(), ['Content-Type', 'application/json; charset=utf-8']],
        json({ email: freshEmail() }),
      ],
    ],
    [
      'over the body limit',
      () => [
        'POST',
        '/api/v1/passwordless/email/send',
        [bearer(), ['Content-Type', 'application/json']],
        json({ email: freshEmail(), state: 'x'.repeat(2_000) }),
      ],
    ],
    [
      'invalid input: 400 with field violations',
      () => ['POST', '/api/v1/passwordless/email/verify', [bearer(), ['Content-Type', 'application/json']], json({ code: '1' })],
    ],
    [
      'unknown request: 404',
      () => [
        'POST',
        '/api/v1/passwordless/email/verify',
        [bearer(), ['Content-Type', 'application/json']],
        json({ code: '123456', auth_request_id: 'nope' }),
      ],
    ],
    ['health', () => ['GET', '/healthz', [], undefined]],
    ['no route', () => ['GET', '/nowhere', [], undefined]],
  ];

  it.each(cases)('%s', async (_name, build) => {
    const [method, path, headers, body] = build();
    // Each way sends its own address, so none sees another's send.
    const own = () => (body === undefined ? undefined : body.replace(/node-http-\d+@/, `node-http-${(emails += 1)}@`));
    const viaApp = await inProcess(method, path, headers, body);
    const viaHono = await overNode(throughHono, method, path, headers, own());
    const before = fastPathServed;
    const viaFastPath = await overNode(withFastPath, method, path, headers, own());
    // The API's POSTs take the fast path; everything else still reaches the app.
    expect(fastPathServed - before).toBe(method === 'POST' && path.startsWith('/api/') ? 1 : 0);
    for (const viaNode of [viaHono, viaFastPath]) {
      expect(viaNode.headers['content-length']).toBe(viaApp.headers['content-length']);
      expect(normalise(viaNode)).toEqual(normalise(viaApp));
      expect(viaNode.headers['x-request-id']).toBeDefined();
      expect(viaNode.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('a query string or another method keeps the request on the app', async () => {
    const before = fastPathServed;
    const send = '/api/v1/passwordless/email/send';
    const json = [
      ['Authorization', `Bearer ${token}`],
      ['Content-Type', 'application/json'],
    ] as [string, string][];
    const withQuery = await overNode(
      withFastPath,
      'POST',
      `${send}?x=1`,
      json,
      JSON.stringify({ email: freshEmail(), magiclink_auth_uri: REDIRECT }),
    );
    const get = await overNode(withFastPath, 'GET', send, json);
    expect(fastPathServed).toBe(before);
    expect(withQuery.status).toBe(200);
    expect(get.status).toBe(404);
  });

  it('the fast path counts and logs a request as the app does', async () => {
    const metricLine = async (status: string): Promise<number> => {
      const text = await h.sesame.metrics.registry.metrics();
      const line = text
        .split('\n')
        .find((l) =>
          l.startsWith(`sesame_http_requests_total{method="POST",route="/api/v1/passwordless/email/verify",status="${status}"}`),
        );
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };
    const refused = [
      ['Authorization', `Bearer ${token}`],
      ['Content-Type', 'application/json'],
      ['X-Request-Id', 'fast-path-log-check'],
    ] as [string, string][];
    const before = await metricLine('400');
    const logsBefore = h.logs.length;
    await overNode(throughHono, 'POST', '/api/v1/passwordless/email/verify', refused, '{}');
    await overNode(withFastPath, 'POST', '/api/v1/passwordless/email/verify', refused, '{}');
    expect(await metricLine('400')).toBe(before + 2);
    const lines = h.logs
      .slice(logsBefore)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'request');
    expect(lines).toHaveLength(2);
    // Everything but the moment, the duration's value and the process fields.
    const comparable = lines.map((line) => {
      const rest = Object.fromEntries(Object.entries(line).filter(([key]) => !['time', 'pid', 'hostname', 'durationMs'].includes(key)));
      return { ...rest, durationMs: typeof line.durationMs };
    });
    expect(comparable[1]).toEqual(comparable[0]);
    expect(comparable[0]).toMatchObject({ requestId: 'fast-path-log-check', route: '/api/v1/passwordless/email/verify', status: 400 });
  });

  it('a caller id is echoed on the Node path', async () => {
    const answer = await overNode(throughHono, 'GET', '/healthz', [['X-Request-Id', 'trace-42']]);
    expect(answer.headers['x-request-id']).toBe('trace-42');
  });
});
