/**
 * Fuzzing every public route over real HTTP (a listening Sesame, node:http client, so
 * the Node parser, @hono/node-server and the app all see the bytes) on SQLite and on
 * PostgreSQL. fast-check draws the method, path, query string, headers (content types,
 * authorization, request ids, host) and body (valid and random JSON, form bodies, invalid UTF-8,
 * random bytes, huge, deeply nested); a fixed matrix adds the worst cases to every route.
 * Every answer must come within the request timeout, never be a 5xx, and, when it is an error,
 * carry a stable code: the REST error body (with the request id of the response) everywhere,
 * OAuth's `{error}` on /oauth/token.
 *
 * ROUTES is the table to extend: a new public route (the admin API under /admin/api/*) is one
 * more row, with the codes its errors may use.
 */
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERROR_CODES, normalizeEmail } from '@sesame/core';
import { startPostgresCluster, type PostgresCluster } from '@sesame/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRANSPORT_ERROR_CODES, createClient, loadConfig, startSesame, type RunningSesame } from '../../src/index.js';
import { policyWireSchema } from '../../src/admin/wire-schemas.js';
import { objectWith } from '../fuzz-values.js';
import { REDIRECT } from './support.js';

/** Draws per backend: kept modest, the machine is shared (each run is one HTTP request). */
const RUNS = Number(process.env.SESAME_FUZZ_RUNS ?? 1000);
/** Raw request heads (one connection each). */
const RAW_RUNS = Math.ceil(RUNS / 4);
const REQUEST_TIMEOUT_MS = 4_000;
const MAX_BODY_BYTES = 65_536;

const API_CODES: ReadonlySet<string> = new Set<string>([...ERROR_CODES, ...TRANSPORT_ERROR_CODES]);
const OAUTH_CODES: ReadonlySet<string> = new Set(['invalid_request', 'invalid_client', 'unsupported_grant_type']);

type Auth = 'bearer' | 'admin' | 'none';
type Style = 'api' | 'oauth' | 'open';

interface RouteRow {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly auth: Auth;
  /** How its errors look: the REST error body, OAuth's, or open routes that answer 200 to a GET. */
  readonly style: Style;
  /** Field names worth drawing in its JSON bodies. */
  readonly fields: readonly string[];
  /** Error codes beyond the API's (e.g. the admin API's CSRF_REJECTED). */
  readonly extraCodes?: readonly string[];
}

function admin(method: RouteRow['method'], path: string, fields: readonly string[] = []): RouteRow {
  return { method, path, auth: 'admin', style: 'api', fields, extraCodes: ['CSRF_REJECTED'] };
}
/** The policy's wire fields, from the schema PUT /admin/api/policy validates with. */
const POLICY_FIELDS = Object.keys(policyWireSchema.shape);
const TEMPLATE_FIELDS = ['subject', 'html', 'text', 'template', 'brand'];
export const ADMIN_ROUTES: readonly RouteRow[] = [
  admin('GET', '/admin/api/csrf'),
  admin('GET', '/admin/api/setup'),
  admin('POST', '/admin/api/session/start', ['email']),
  admin('POST', '/admin/api/session/verify', ['code', 'link_token']),
  admin('GET', '/admin/api/session'),
  admin('GET', '/admin/api/policy'),
  admin('PUT', '/admin/api/policy', POLICY_FIELDS),
  admin('GET', '/admin/api/audit'),
  admin('GET', '/admin/api/templates'),
  admin('PUT', '/admin/api/templates/SIGNIN', TEMPLATE_FIELDS),
  admin('DELETE', '/admin/api/templates/SIGNUP'),
  admin('POST', '/admin/api/templates/preview', TEMPLATE_FIELDS),
  admin('POST', '/admin/api/templates/test-email', ['template']),
  admin('GET', '/admin/api/brand'),
  admin('PUT', '/admin/api/brand', ['app_name', 'logo_url', 'accent_color', 'from_name']),
  admin('DELETE', '/admin/api/brand'),
  admin('GET', '/admin/api/clients'),
  admin('POST', '/admin/api/clients', ['name', 'redirect_uris']),
  admin('POST', '/admin/api/clients/skc_no_such_client/rotate'),
  admin('POST', '/admin/api/clients/skc_no_such_client/revoke'),
  admin('GET', '/admin/api/activity', ['email', 'status', 'cursor', 'limit']),
  { method: 'GET', path: '/admin', auth: 'admin', style: 'open', fields: [] },
  { method: 'GET', path: '/admin/verify', auth: 'admin', style: 'open', fields: [] },
];

const P = '/api/v1/passwordless/email';
export const ROUTES: readonly RouteRow[] = [
  {
    method: 'POST',
    path: `${P}/send`,
    auth: 'bearer',
    style: 'api',
    fields: ['email', 'template', 'magiclink_auth_uri', 'state', 'expires_in', 'template_variables'],
  },
  { method: 'POST', path: `${P}/verify`, auth: 'bearer', style: 'api', fields: ['code', 'link_token', 'auth_request_id'] },
  { method: 'POST', path: `${P}/resend`, auth: 'bearer', style: 'api', fields: ['auth_request_id'] },
  { method: 'POST', path: '/oauth/token', auth: 'none', style: 'oauth', fields: ['grant_type', 'client_id', 'client_secret'] },
  { method: 'GET', path: '/healthz', auth: 'none', style: 'open', fields: [] },
  { method: 'GET', path: '/readyz', auth: 'none', style: 'open', fields: [] },
  { method: 'GET', path: '/metrics', auth: 'none', style: 'open', fields: [] },
  { method: 'GET', path: '/openapi.json', auth: 'none', style: 'open', fields: [] },
  { method: 'GET', path: '/admin/api/dev-inbox', auth: 'none', style: 'open', fields: [] },
  // The admin API (docs/ADMIN_API.md), fuzzed signed in as an admin (session cookie and CSRF
  // token drawn valid, wrong or absent). Not session/logout: it would end the fuzzer's session.
  ...ADMIN_ROUTES,
  // Unknown routes, including the gRPC path spoken over HTTP/1.1 and near-misses of real ones.
  {
    method: 'POST',
    path: '/scalekit.v1.auth.passwordless.PasswordlessService/SendPasswordlessEmail',
    auth: 'bearer',
    style: 'api',
    fields: [],
  },
  { method: 'POST', path: `${P}/send/`, auth: 'bearer', style: 'api', fields: [] },
  { method: 'GET', path: '/admin/api/nothing', auth: 'none', style: 'api', fields: [] },
  { method: 'GET', path: '/', auth: 'none', style: 'api', fields: [] },
];

/** The fuzzer's admin browser: its cookies and CSRF token. */
interface AdminSession {
  readonly cookie: string;
  readonly csrf: string;
}

let cluster: PostgresCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
});

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

interface Draw {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | null;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
afterAll(() => agent.destroy());

function request(port: number, draw: Draw): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: draw.method, path: draw.path, headers: draw.headers, agent, timeout: REQUEST_TIMEOUT_MS + 2_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS + 2_000} ms: ${draw.method} ${draw.path.slice(0, 100)}`)),
    );
    req.on('error', reject);
    req.end(draw.body ?? undefined);
  });
}

function describeDraw(draw: Draw): string {
  const body =
    draw.body === null
      ? ''
      : draw.body.length > 200
        ? `${draw.body.subarray(0, 200).toString('latin1')}… (${draw.body.length} bytes)`
        : draw.body.toString('latin1');
  return `${draw.method} ${draw.path.slice(0, 200)} ${JSON.stringify(draw.headers).slice(0, 400)} ${body}`;
}

/** The properties every answer must have. */
function check(row: RouteRow | null, draw: Draw, answer: Answer): void {
  const what = `${answer.status} for ${describeDraw(draw)}: ${answer.body.subarray(0, 300).toString('utf8')}`;
  expect(answer.status, what).toBeGreaterThanOrEqual(200);
  expect(answer.status, what).toBeLessThan(500);
  const requestId = answer.headers['x-request-id'];
  expect(typeof requestId, what).toBe('string');
  if (answer.status < 400 || draw.method === 'HEAD') return;
  expect(String(answer.headers['content-type']), what).toMatch(/^application\/json/);
  const json = JSON.parse(answer.body.toString('utf8')) as { error?: unknown };
  // The token endpoint answers OAuth's own `{error}`, except for transport problems (413), which
  // use the REST error body like every other route.
  if (row?.style === 'oauth' && typeof json.error === 'string') {
    expect(OAUTH_CODES.has(json.error), what).toBe(true);
    return;
  }
  const error = json.error as { code?: unknown; request_id?: unknown; message?: unknown } | undefined;
  const allowed = new Set([...API_CODES, ...(row?.extraCodes ?? [])]);
  expect(allowed.has(String(error?.code)), what).toBe(true);
  expect(error?.request_id, what).toBe(requestId);
  expect(typeof error?.message, what).toBe('string');
}

// ---- generators -------------------------------------------------------------------------------

function jsonBody(fields: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(objectWith(fields), fc.jsonValue({ maxDepth: 4 }));
}

const contentTypes = fc.constantFrom(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/vnd.api+json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'application/json;;;',
  'garbage',
  '',
);

function bodyFor(row: RouteRow): fc.Arbitrary<Buffer | null> {
  return fc.oneof(
    { weight: 5, arbitrary: jsonBody(row.fields).map((value) => Buffer.from((JSON.stringify(value) as string | undefined) ?? 'null')) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(fc.constantFrom(...row.fields, 'x', '__proto__'), fc.string({ maxLength: 50 })), { maxLength: 6 })
        .map((pairs) => Buffer.from(new URLSearchParams(pairs).toString())),
    },
    // Invalid UTF-8 inside otherwise plausible JSON.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...row.fields, 'email')
        .map((field) =>
          Buffer.concat([Buffer.from(`{"${field}":"`), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}')]),
        ),
    },
  );
}

const queryString = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 60 }).map((s) => `?${encodeURIComponent(s)}`),
  fc.constantFrom(
    '?limit=-1',
    '?limit=abc',
    '?limit=1e9',
    '?%FF%FE=%C3%28',
    '?a=%',
    '?a[]=1&a[]=2',
    `?x=${'y'.repeat(4000)}`,
    '?__proto__[x]=1',
  ),
);

function drawFor(row: RouteRow, token: string, session: AdminSession): fc.Arbitrary<Draw> {
  return fc
    .record({
      method: fc.oneof(
        { weight: 6, arbitrary: fc.constant(row.method) },
        { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') },
      ),
      query: queryString,
      contentType: fc.oneof({ weight: 3, arbitrary: fc.constant('application/json') }, { weight: 2, arbitrary: contentTypes }),
      authorization: fc.oneof(
        { weight: 4, arbitrary: fc.constant(`Bearer ${token}`) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            '',
            'Bearer',
            'Bearer ',
            `bearer ${token}`,
            `Bearer ${token} ${token}`,
            'Basic Og==',
            'Basic !!!',
            `Bearer ${'A'.repeat(6000)}`,
            'Negotiate xyz',
          ),
        },
        { weight: 1, arbitrary: fc.string({ maxLength: 80 }).filter((s) => /^[\x20-\x7e]*$/.test(s)) },
      ),
      requestId: fc.option(fc.oneof(fc.uuid(), fc.constantFrom('', ' ', 'x'.repeat(300), '../etc', 'a\tb')), { nil: undefined }),
      extra: fc.constantFrom<Record<string, string>>(
        {},
        { accept: 'application/grpc' },
        { 'content-encoding': 'gzip' },
        { expect: '100-continue' },
        { 'transfer-encoding': 'chunked' },
      ),
      adminCookie: fc.oneof(
        { weight: 4, arbitrary: fc.constant(session.cookie) },
        { weight: 1, arbitrary: fc.constantFrom('', 'sesame_admin=forged', `${session.cookie}; sesame_admin=x`, 'sesame_csrf=other') },
      ),
      csrf: fc.oneof(
        { weight: 4, arbitrary: fc.constant(session.csrf) },
        { weight: 1, arbitrary: fc.constantFrom('', 'wrong', session.csrf.slice(0, -2)) },
      ),
      origin: fc.constantFrom(undefined, undefined, undefined, 'https://evil.example', 'null'),
      body: bodyFor(row),
    })
    .map(({ method, query, contentType, authorization, requestId, extra, adminCookie, csrf, origin, body }) => {
      const headers: Record<string, string> = { ...extra };
      if (row.auth === 'admin') {
        if (adminCookie !== '') headers.cookie = adminCookie;
        if (csrf !== '') headers['x-csrf-token'] = csrf;
        if (origin !== undefined) headers.origin = origin;
      }
      if (contentType !== undefined) headers['content-type'] = contentType;
      if (authorization !== '' && (row.auth === 'bearer' || authorization.startsWith('Basic'))) headers.authorization = authorization;
      if (requestId !== undefined) headers['x-request-id'] = requestId;
      const sendsBody = method !== 'GET' && method !== 'HEAD' && body !== null;
      if (!sendsBody) delete headers['transfer-encoding'];
      return { method, path: `${row.path}${query}`, headers, body: sendsBody ? body : null };
    });
}

/** The fixed worst cases, for every route. */
function edgeCases(row: RouteRow, token: string, session: AdminSession): Draw[] {
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  if (row.auth === 'admin') Object.assign(headers, { cookie: session.cookie, 'x-csrf-token': session.csrf });
  const bodyMethod = row.method === 'GET' ? 'POST' : row.method;
  const json = (text: string | Buffer): Draw => ({
    method: bodyMethod,
    path: row.path,
    headers,
    body: Buffer.isBuffer(text) ? text : Buffer.from(text),
  });
  const nested = (depth: number, open: string, close: string): string => `${open.repeat(depth)}${close.repeat(depth)}`;
  const field = row.fields[0] ?? 'x';
  return [
    json(nested(100_000, '[', ']').slice(0, MAX_BODY_BYTES - 10)), // deep, within the limit: unbalanced, so invalid
    json(nested(30_000, '[', ']')), // deep and valid, 60 kB
    json(`{"${field}":${nested(20_000, '{"a":', '}').replace(/\{"a":\}/, '1')}}`.slice(0, MAX_BODY_BYTES)),
    json(`{"${field}":${'['.repeat(20_000)}1${']'.repeat(20_000)}}`),
    json(JSON.stringify({ [field]: 'x'.repeat(MAX_BODY_BYTES - 20) })), // just under the limit
    json(JSON.stringify({ [field]: 'x'.repeat(MAX_BODY_BYTES + 1) })), // over the limit: 413
    json(JSON.stringify(Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i])))),
    json(Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from(JSON.stringify({ [field]: 'bom' }))])),
    json(Buffer.from([0x7b, 0x22, 0xff, 0xff, 0x22, 0x3a, 0x31, 0x7d])), // {"\xff\xff":1}
    json(Buffer.from(JSON.stringify({ [field]: 'héllo' }), 'utf16le')),
    json('\u0000'),
    json(''),
    json('null'),
    json('1e999999'),
    json(`"${'\\u0000'.repeat(1000)}"`),
    { method: bodyMethod, path: row.path, headers: { ...headers, 'content-type': 'text/plain' }, body: Buffer.from('{}') },
    { method: bodyMethod, path: row.path, headers: { ...headers, 'content-type': '' }, body: Buffer.from('{}') },
    {
      method: bodyMethod,
      path: row.path,
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from('a=%FF%FE&b=%'),
    },
    { method: 'GET', path: `${row.path}?%FF%FE=%C3%28&x=${'%'.repeat(10)}`, headers, body: null },
    { method: 'DELETE', path: row.path, headers, body: null },
    { method: 'OPTIONS', path: row.path, headers, body: null },
    { method: 'HEAD', path: row.path, headers, body: null },
    { method: row.method, path: `${row.path}/../../etc/passwd`, headers, body: null },
    { method: row.method, path: `${row.path}%00`, headers, body: null },
    { method: row.method, path: `${row.path}/${'a'.repeat(8000)}`, headers, body: null },
    {
      method: row.method,
      path: row.path,
      headers: { ...headers, host: 'evil.example:99999' },
      body: row.method === 'GET' ? null : Buffer.from('{}'),
    },
    { method: row.method, path: row.path, headers: { ...headers, host: '[::1' }, body: row.method === 'GET' ? null : Buffer.from('{}') },
  ];
}

/** Raw bytes for a request head: what node:http's client would refuse to send. */
const headByte = fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x0d && b !== 0x0a);
const headText = (max: number) => fc.array(headByte, { maxLength: max }).map((bytes) => Buffer.from(bytes).toString('latin1'));
const rawHead = fc
  .record({
    method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PRI', 'get', 'CONNECT', 'TRACE', ''), headText(10)),
    target: fc.oneof(
      fc.constantFrom(...ROUTES.map((row) => row.path), '*', 'http://127.0.0.1/healthz', '//', ''),
      headText(80).map((t) => `/${t}`),
    ),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 ', 'HTTX/1.1', ''),
    headers: fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('Host', 'Content-Type', 'Authorization', 'X-Request-Id', 'Cookie', 'Expect', ' Host', 'Host ', ''),
          headText(20),
        ),
        fc.oneof(fc.constantFrom('127.0.0.1', 'application/json', 'Bearer x', '100-continue', ''), headText(120)),
      ),
      { maxLength: 8 },
    ),
    folded: fc.boolean(),
  })
  .filter(({ headers }) => headers.every(([name]) => !/^\s*(content-length|transfer-encoding|connection)\s*$/i.test(name)))
  .map(({ method, target, version, headers, folded }) => {
    const lines = headers.map(([name, value]) => `${name}: ${value}`);
    if (folded && lines.length > 0) lines.push(' folded continuation');
    return Buffer.from(
      `${method} ${target} ${version}\r\n${lines.join('\r\n')}${lines.length ? '\r\n' : ''}Connection: close\r\n\r\n`,
      'latin1',
    );
  });

/** Writes raw bytes on a new connection; resolves with the parsed answer once the server closes it. */
function rawRequest(port: number, bytes: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    const chunks: Buffer[] = [];
    const timer = setTimeout(
      () => socket.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS + 2_000} ms`)),
      REQUEST_TIMEOUT_MS + 2_000,
    );
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks);
      const split = text.indexOf('\r\n\r\n');
      const head = text.subarray(0, split < 0 ? text.length : split).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      const headers: http.IncomingHttpHeaders = {};
      for (const line of head.split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body: Buffer = split < 0 ? Buffer.alloc(0) : text.subarray(split + 4);
      if (/chunked/i.test(String(headers['transfer-encoding']))) body = dechunk(body);
      resolve({ status, headers, body });
    });
  });
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const end = body.indexOf('\r\n', at);
    if (end < 0) break;
    const size = parseInt(body.subarray(at, end).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(body.subarray(end + 2, end + 2 + size));
    at = end + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Signs an admin in through the real flow over HTTP: CSRF cookie and token, session/start, the code from the dev inbox, session/verify. */
async function adminSignIn(running: RunningSesame): Promise<AdminSession> {
  const email = 'fuzz.admin@example.com';
  const normalized = normalizeEmail(email);
  await running.store.addAdmin({ emailKey: normalized.key, email: normalized.address, createdAt: Date.now() });
  const cookies = new Map<string, string>();
  const call = async (method: string, path: string, body?: unknown, csrf?: string): Promise<Response> => {
    const response = await fetch(`${running.url}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(csrf === undefined ? {} : { 'x-csrf-token': csrf }),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
    return response;
  };
  const csrf = ((await (await call('GET', '/admin/api/csrf')).json()) as { csrf_token: string }).csrf_token;
  expect((await call('POST', '/admin/api/session/start', { email }, csrf)).status).toBe(202);
  let code: string | undefined;
  for (let i = 0; i < 200 && code === undefined; i += 1) {
    const mail = (await running.store.listDevInbox({ limit: 10 })).find((message) => message.to === email);
    code = mail ? /\b(\d{6})\b/.exec(mail.text)?.[1] : undefined;
    if (code === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const verified = await call('POST', '/admin/api/session/verify', { code }, csrf);
  expect(verified.status, await verified.clone().text()).toBe(200);
  const token = ((await verified.json()) as { csrf_token: string }).csrf_token;
  expect(cookies.get('sesame_admin')).toBeTruthy();
  return { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '), csrf: token };
}

describe.each(['sqlite', 'postgres'] as const)('fuzzing every public route on %s', (backend) => {
  let dir: string;
  let running: RunningSesame;
  let token: string;
  let session: AdminSession;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `sesame-fuzz-${backend}-`));
    let databaseUrl = `file:${join(dir, 'sesame.db')}`;
    if (backend === 'postgres') {
      cluster ??= await startPostgresCluster();
      databaseUrl = await cluster.createDatabase('fuzz_routes');
    }
    const config = loadConfig({
      PORT: '0',
      SESAME_DATA_DIR: dir,
      SESAME_DATABASE_URL: databaseUrl,
      SESAME_SECRET: 'fuzz-suite-server-secret-0123456789abcdefghij',
      SESAME_LOG_LEVEL: 'silent',
      SESAME_ALLOWED_REDIRECT_URIS: REDIRECT,
      SESAME_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
    running = await startSesame(config);
    const client = await createClient(running.store, {
      key: running.sesame.clientSecretKey,
      name: 'fuzz',
      redirectUris: [REDIRECT],
      now: Date.now(),
    });
    const response = await fetch(`${running.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.record.id, client_secret: client.secret }),
    });
    token = ((await response.json()) as { access_token: string }).access_token;
    session = await adminSignIn(running);
  });
  afterAll(async () => {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the worst cases on every route: no 5xx, no hang, stable codes', async () => {
    let count = 0;
    for (const row of ROUTES) {
      for (const draw of edgeCases(row, token, session)) {
        check(row, draw, await request(running.port, draw));
        count += 1;
      }
    }
    expect(count).toBeGreaterThan(ROUTES.length * 20);
    // The admin rows were fuzzed signed in: the session still opens the API.
    const policy = await request(running.port, {
      method: 'GET',
      path: '/admin/api/policy',
      headers: { cookie: session.cookie },
      body: null,
    });
    expect(policy.status).toBe(200);

    // What node:http's client will not send: smuggling shapes, CONNECT, upgrades, huge headers.
    const raw: Array<[string, number, string]> = [
      ['CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 404, 'NOT_FOUND'],
      ['GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', 400, 'BAD_REQUEST'],
      ['POST /oauth/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\n', 400, 'BAD_REQUEST'],
      ['POST /oauth/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n0\r\n\r\n', 400, 'BAD_REQUEST'],
      ['POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400, 'BAD_REQUEST'],
      [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
      [`GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 300 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`, 200, ''],
      ['GET /healthz HTTP/1.1\r\n\r\n', 400, 'BAD_REQUEST'],
      ['GET /a\\b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400, 'BAD_REQUEST'],
      ['GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', 200, ''],
      ['GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 400, 'BAD_REQUEST'],
      ['POST /oauth/token HTTP/1.1\r\nHost: x\r\nExpect: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}', 417, 'BAD_REQUEST'],
      ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n', 400, 'BAD_REQUEST'], // a TLS ClientHello on the plain port
    ];
    for (const [text, status, code] of raw) {
      const answer = await rawRequest(running.port, Buffer.from(text, 'latin1'));
      expect(answer.status, text.slice(0, 120)).toBe(status);
      check(null, { method: text.split(' ')[0]!, path: '', headers: {}, body: null }, answer);
      if (code) expect((JSON.parse(answer.body.toString('utf8')) as { error: { code: string } }).error.code).toBe(code);
    }
  });

  it(`${RUNS} random requests over the route table: no 5xx, no hang, stable codes`, async () => {
    const draws = fc.oneof(...ROUTES.map((row) => drawFor(row, token, session).map((draw) => [row, draw] as const)));
    await fc.assert(
      fc.asyncProperty(draws, async ([row, draw]) => {
        check(row, draw, await request(running.port, draw));
      }),
      { numRuns: RUNS },
    );
    // The server is still healthy after all of it.
    expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
  });

  it(`${RAW_RUNS} raw request heads (bad bytes, bad request lines, folded headers): an answer with a stable code`, async () => {
    await fc.assert(
      fc.asyncProperty(rawHead, async (bytes) => {
        const answer = await rawRequest(running.port, bytes);
        const path = /^\S* (\S*)/.exec(bytes.toString('latin1'))?.[1] ?? '';
        const row = ROUTES.find((r) => r.path === path.split('?')[0]) ?? null;
        const method = /^(\S*)/.exec(bytes.toString('latin1'))?.[1] ?? '';
        check(row, { method, path, headers: {}, body: null }, answer);
      }),
      { numRuns: RAW_RUNS },
    );
    expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
  });
});
