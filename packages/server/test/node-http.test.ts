/**
 * src/node-http.ts reads request headers from Node's parsed request and sets the common response
 * headers with `setHeader` when the app runs under @hono/node-server. In-process tests go through
 * `app.request()`, where hono's own Headers are used, so here the same requests go both ways,
 * over one app and store, and must get the same status, headers and body.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIRECT, harness, type Harness } from './helpers.js';

let h: Harness;
let server: http.Server;
let port: number;
let token: string;

beforeAll(async () => {
  h = await harness({ maxBodyBytes: 1_024 });
  token = await h.token();
  const listener = getRequestListener(h.sesame.app.fetch);
  server = http.createServer((request, response) => void listener(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
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
async function overNode(method: string, path: string, headers: [string, string][], body?: string): Promise<Answer> {
  const socket = net.connect(port, '127.0.0.1');
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headers.map(([name, value]) => `${name}: ${value}`)];
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

describe('Node request and response headers match the app.request() path', () => {
  const bearer = (): [string, string] => ['Authorization', `Bearer ${token}`];
  const cases: [string, () => [string, string, [string, string][], string | undefined]][] = [
    ['send, ok', () => ['POST', '/api/v1/passwordless/email/send', [bearer(), ['Content-Type', 'application/json']], json({ email: freshEmail(), magiclink_auth_uri: REDIRECT })]],
    ['send, our request id echoed', () => ['POST', '/api/v1/passwordless/email/send', [bearer(), ['Content-Type', 'application/json'], ['X-Request-Id', 'caller-id.1']], json({ email: freshEmail() })]],
    ['send, an unusable request id replaced', () => ['POST', '/api/v1/passwordless/email/send', [bearer(), ['Content-Type', 'application/json'], ['X-Request-Id', 'no spaces allowed']], json({ email: freshEmail() })]],
    ['no token: 401 with WWW-Authenticate', () => ['POST', '/api/v1/passwordless/email/send', [['Content-Type', 'application/json']], json({ email: freshEmail() })]],
    ['two Authorization headers: joined, so refused', () => ['POST', '/api/v1/passwordless/email/send', [bearer(), bearer(), ['Content-Type', 'application/json']], json({ email: freshEmail() })]],
    ['a token with padding spaces', () => ['POST', '/api/v1/passwordless/email/send', [['Authorization', `Bearer ${token}  `], ['Content-Type', 'application/json']], json({ email: freshEmail() })]],
    ['not JSON by content type', () => ['POST', '/api/v1/passwordless/email/send', [bearer(), ['Content-Type', 'text/plain']], json({ email: freshEmail() })]],
    ['two Content-Type headers', () => ['POST', '/api/v1/passwordless/email/send', [bearer(), ['Content-Type', 'application/json'], ['Content-Type', 'text/plain']], json({ email: freshEmail() })]],
    ['JSON with parameters', () => ['POST', '/api/v1/passwordless/email/send', [bearer(), ['Content-Type', 'application/json; charset=utf-8']], json({ email: freshEmail() })]],
    ['over the body limit', () => ['POST', '/api/v1/passwordless/email/send', [bearer(), ['Content-Type', 'application/json']], json({ email: freshEmail(), state: 'x'.repeat(2_000) })]],
    ['invalid input: 400 with field violations', () => ['POST', '/api/v1/passwordless/email/verify', [bearer(), ['Content-Type', 'application/json']], json({ code: '1' })]],
    ['unknown request: 404', () => ['POST', '/api/v1/passwordless/email/verify', [bearer(), ['Content-Type', 'application/json']], json({ code: '123456', auth_request_id: 'nope' })]],
    ['health', () => ['GET', '/healthz', [], undefined]],
    ['no route', () => ['GET', '/nowhere', [], undefined]],
  ];

  it.each(cases)('%s', async (_name, build) => {
    const [method, path, headers, body] = build();
    // Each side sends its own address, so neither sees the other's send.
    const second = body === undefined ? undefined : body.replace(/node-http-\d+@/, `node-http-${(emails += 1)}@`);
    const viaApp = await inProcess(method, path, headers, body);
    const viaNode = await overNode(method, path, headers, second);
    expect(viaNode.headers['content-length']).toBe(viaApp.headers['content-length']);
    expect(normalise(viaNode)).toEqual(normalise(viaApp));
    expect(viaNode.headers['x-request-id']).toBeDefined();
    expect(viaNode.headers['x-content-type-options']).toBe('nosniff');
  });

  it('a caller id is echoed on the Node path', async () => {
    const answer = await overNode('GET', '/healthz', [['X-Request-Id', 'trace-42']]);
    expect(answer.headers['x-request-id']).toBe('trace-42');
  });
});
