/**
 * Send budgets under a flood: one API client's sends (new requests and resends together, on REST
 * and on gRPC alike) past its budget for the minute answer 429 SEND_LIMIT_EXCEEDED with
 * Retry-After (gRPC RESOURCE_EXHAUSTED with ErrorInfo SEND_LIMIT_EXCEEDED) while another client's
 * sends still pass; a client's own budget (`sesame clients set-limit`) replaces the default; the
 * deployment's budget refuses every client alike; refused sends count nowhere; budgets reset when
 * the (mocked) clock reaches the next minute; `/metrics` counts refusals per client and scope.
 * Also measures the bytes an auth request takes in SQLite at the largest allowed input.
 * Real listening server on SQLite; only the clock is ours.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, ConnectError, createClient as createRpcClient, type Interceptor } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { startSmtpCapture, waitUntil } from '@sesame/testkit';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PasswordlessService } from '../../src/gen/scalekit/v1/auth/passwordless/passwordless_pb.js';
import { ErrorInfoSchema } from '../../src/gen/scalekit/v1/errdetails/errdetails_pb.js';
import { cliMain, createClient, loadConfig, startSesame, type RunningSesame } from '../../src/index.js';
import { API } from './support.js';

const waitFor = (condition: () => boolean | Promise<boolean>) => waitUntil('the measured emails to be delivered', condition, 30_000, 25);

const SECRET = 'send-budget-suite-server-secret-0123456789abcdefghij';
const PER_CLIENT = 5;
const DEPLOYMENT = 12;
const REDIRECT_PREFIX = 'https://app.example.com/auth/';
const REDIRECT = `${REDIRECT_PREFIX}verify`;
/** A minute boundary plus a little, so that windows are easy to reason about. */
let now = Date.parse('2026-03-01T12:00:05Z');
const clock = { now: () => now };
let dir: string;
let running: RunningSesame;

const env = (extra: Record<string, string> = {}) => ({
  SESAME_DATA_DIR: dir,
  SESAME_SECRET: SECRET,
  SESAME_LOG_LEVEL: 'silent',
  SESAME_ALLOWED_REDIRECT_URIS: `${REDIRECT_PREFIX}*`,
  SESAME_CLIENT_SENDS_PER_MINUTE: String(PER_CLIENT),
  SESAME_SENDS_PER_MINUTE: String(DEPLOYMENT),
  ...extra,
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-budget-'));
  running = await startSesame(loadConfig({ PORT: '0', ...env() }), { clock });
});
afterAll(async () => {
  await running.close();
  rmSync(dir, { recursive: true, force: true });
});
// Each test starts in a minute of its own.
beforeEach(() => {
  now += 60_000;
});

interface Caller {
  readonly id: string;
  readonly token: string;
}

async function newCaller(name: string, server: RunningSesame = running): Promise<Caller> {
  const created = await createClient(server.store, { key: server.sesame.clientSecretKey, name, redirectUris: [], now });
  const response = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: created.record.id, client_secret: created.secret }),
  });
  expect(response.status).toBe(200);
  return { id: created.record.id, token: ((await response.json()) as { access_token: string }).access_token };
}

type Way = 'REST send' | 'REST resend' | 'gRPC send' | 'gRPC resend';
const WAYS: readonly Way[] = ['REST send', 'REST resend', 'gRPC send', 'gRPC resend'];

interface Answer {
  /** `OK`, or the Sesame error code. */
  readonly code: string;
  /** The HTTP status (REST) or the gRPC code name. */
  readonly status: string;
  /** Seconds, from `Retry-After` (REST) or the `retry-after` metadata (gRPC). */
  readonly retryAfter: number | null;
  readonly authRequestId?: string;
}

let sequence = 0;
const address = (tag: string) => `${tag}-${++sequence}@example.com`;

/** One send, or one resend of a new request made just before (outside the budget being tested when `prepared`). */
async function sendOnce(caller: Caller, way: Way, prepared?: string): Promise<Answer> {
  const [protocol, call] = way.split(' ') as ['REST' | 'gRPC', 'send' | 'resend'];
  const body = call === 'send' ? { email: address(caller.id), magiclink_auth_uri: REDIRECT } : { auth_request_id: prepared };
  if (protocol === 'REST') {
    const response = await fetch(`${running.url}${API}/${call}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${caller.token}` },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as { error?: { code: string }; auth_request_id?: string };
    const retry = response.headers.get('retry-after');
    return {
      code: json.error?.code ?? 'OK',
      status: String(response.status),
      retryAfter: retry === null ? null : Number(retry),
      ...(json.auth_request_id ? { authRequestId: json.auth_request_id } : {}),
    };
  }
  const interceptors: Interceptor[] = [
    (next) => (request) => (request.header.set('authorization', `Bearer ${caller.token}`), next(request)),
  ];
  const client = createRpcClient(PasswordlessService, createGrpcTransport({ baseUrl: running.url, interceptors }));
  try {
    const answer =
      call === 'send'
        ? await client.sendPasswordlessEmail({ email: body.email!, magiclinkAuthUri: REDIRECT })
        : await client.resendPasswordlessEmail({ authRequestId: prepared! });
    return { code: 'OK', status: 'OK', retryAfter: null, authRequestId: answer.authRequestId };
  } catch (error) {
    const connect = ConnectError.from(error);
    const retry = connect.metadata.get('retry-after');
    return {
      code: connect.findDetails(ErrorInfoSchema)[0]?.errorCode ?? 'none',
      status: Code[connect.code],
      retryAfter: retry === null ? null : Number(retry),
    };
  }
}

function expectRefused(answer: Answer, label: string): void {
  expect(answer.code, label).toBe('SEND_LIMIT_EXCEEDED');
  expect(answer.status, label).toMatch(/^(429|ResourceExhausted)$/);
  // The window is a minute: the wait is what is left of it, in whole seconds.
  expect(answer.retryAfter, label).toBeGreaterThanOrEqual(1);
  expect(answer.retryAfter, label).toBeLessThanOrEqual(60);
}

async function metric(clientId: string, scope: string): Promise<number> {
  const text = await (await fetch(`${running.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('sesame_send_limited_total{') && l.includes(`client_id="${clientId}"`) && l.includes(`scope="${scope}"`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('per-client send budget', () => {
  it.each(WAYS)('past its budget a client’s %s answers SEND_LIMIT_EXCEEDED with Retry-After; another client’s sends pass', async (way) => {
    const flooder = await newCaller(`flooder ${way}`);
    const neighbour = await newCaller(`neighbour ${way}`);
    // Sends and resends of every kind count toward one budget. The first request is left with one
    // email, so resending it later is within its address's limit and only the budget can refuse.
    const first = await sendOnce(flooder, 'REST send');
    const spent: Answer[] = [first];
    while (spent.length < PER_CLIENT) {
      const made = await sendOnce(flooder, spent.length % 2 === 0 ? 'REST send' : 'gRPC send');
      spent.push(made);
      if (spent.length < PER_CLIENT)
        spent.push(await sendOnce(flooder, spent.length % 3 === 0 ? 'REST resend' : 'gRPC resend', made.authRequestId));
    }
    expect(spent.map((a) => a.code)).toEqual(Array(PER_CLIENT).fill('OK'));
    const resendable = first.authRequestId!;
    for (let attempt = 0; attempt < 3; attempt++) {
      expectRefused(
        way.endsWith('resend') ? await sendOnce(flooder, way, resendable) : await sendOnce(flooder, way),
        `${way}, attempt ${attempt + 1}`,
      );
    }
    // Refused sends counted nowhere: the neighbour has its whole budget.
    for (let i = 0; i < PER_CLIENT; i++) expect((await sendOnce(neighbour, i % 2 === 0 ? 'REST send' : 'gRPC send')).code).toBe('OK');
    expectRefused(await sendOnce(neighbour, 'REST send'), 'neighbour past its own budget');
    expect(await metric(flooder.id, 'client')).toBe(3);
    expect(await metric(neighbour.id, 'client')).toBe(1);
    // The next minute, both may send again.
    now += 60_000;
    expect((await sendOnce(flooder, way.endsWith('resend') ? 'REST send' : way)).code).toBe('OK');
    expect((await sendOnce(neighbour, 'gRPC send')).code).toBe('OK');
  });

  it('a client’s own budget, set with `sesame clients set-limit`, replaces the default, and `default` restores it', async () => {
    const cli = async (...argv: string[]) => cliMain(argv, { stdout: () => undefined, stderr: () => undefined, env: env() });
    for (const [limit, allowed] of [
      ['2', 2],
      ['9', 9],
      ['default', PER_CLIENT],
    ] as const) {
      now += 60_000;
      const caller = await newCaller(`own ${limit}`);
      expect(await cli('clients', 'set-limit', caller.id, limit)).toBe(0);
      const codes: string[] = [];
      for (let i = 0; i <= allowed; i++) codes.push((await sendOnce(caller, i % 2 === 0 ? 'REST send' : 'gRPC send')).code);
      expect(codes, `limit ${limit}`).toEqual([...Array(allowed).fill('OK'), 'SEND_LIMIT_EXCEEDED']);
    }
  });
});

describe('deployment send budget', () => {
  it('refuses every client alike once the deployment’s minute is spent, then resets with the clock', async () => {
    const callers = await Promise.all(['a', 'b', 'c', 'd'].map((name) => newCaller(`deployment ${name}`)));
    const cli = async (...argv: string[]) => cliMain(argv, { stdout: () => undefined, stderr: () => undefined, env: env() });
    // Budgets of their own above the deployment's: only the deployment's can refuse them.
    for (const caller of callers) expect(await cli('clients', 'set-limit', caller.id, '100')).toBe(0);
    const codes: string[] = [];
    for (let i = 0; i < DEPLOYMENT; i++) codes.push((await sendOnce(callers[i % 3]!, i % 2 === 0 ? 'REST send' : 'gRPC send')).code);
    expect(codes).toEqual(Array(DEPLOYMENT).fill('OK'));
    // Every client, including one that has not sent this minute, on every way.
    for (const caller of callers) {
      for (const way of ['REST send', 'gRPC send'] as const) expectRefused(await sendOnce(caller, way), `${caller.id} ${way}`);
    }
    expect(await metric(callers[3]!.id, 'deployment')).toBe(2);
    now += 60_000;
    for (const caller of callers) expect((await sendOnce(caller, 'REST send')).code).toBe('OK');
  });
});

describe('storage per auth request', () => {
  /**
   * Sends `N` requests with the largest fields allowed and reports the bytes SQLite's pages grew
   * by, per request (dbstat), with SMTP configured as in production (no dev inbox copy) and every
   * email settled (payloads wiped) before measuring.
   */
  async function measure(declareVariables: boolean): Promise<{ perRequest: number; payload: number; byTable: string }> {
    const measureDir = mkdtempSync(join(tmpdir(), 'sesame-bytes-'));
    const smtp = await startSmtpCapture();
    const server = await startSesame(
      loadConfig({
        PORT: '0',
        ...env({
          SESAME_DATA_DIR: measureDir,
          SESAME_SMTP_URL: smtp.url,
          SESAME_CLIENT_SENDS_PER_MINUTE: '100000',
          SESAME_SENDS_PER_MINUTE: '100000',
        }),
      }),
      { clock, pollIntervalMs: 20 },
    );
    try {
      const caller = await newCaller('largest input', server);
      // Template variables just under the stored cap (4096 bytes of JSON): 15 names of 25
      // characters with 240-character values.
      const variables: Record<string, string> = {};
      for (let i = 0; i < 15; i++) variables[`var_${String(i).padStart(2, '0')}`.padEnd(25, 'x')] = 'v'.repeat(240);
      if (declareVariables) {
        // A saved template that uses every variable: the engine then keeps them all.
        const uses = Object.keys(variables)
          .map((name) => `{{${name}}}`)
          .join(' ');
        const template = {
          subject: 'Sign in',
          html: `<p>{{otp}} <a href="{{link}}">Sign in</a> ${uses}</p>`,
          text: `{{otp}} {{link}} ${uses}`,
        };
        await server.store.putSetting('email.templates', JSON.stringify({ SIGNIN: template }), now);
      }
      const body = (i: number) => ({
        email: `${`u${i}-`.padEnd(64, 'x')}@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`,
        magiclink_auth_uri: `${REDIRECT_PREFIX}${'p'.repeat(1000 - REDIRECT_PREFIX.length)}`,
        state: 's'.repeat(1000),
        template_variables: variables,
      });
      const file = join(measureDir, 'sesame.db');
      const send = async (i: number) => {
        const response = await fetch(`${server.url}${API}/send`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${caller.token}` },
          body: JSON.stringify(body(i)),
        });
        expect(response.status, await response.clone().text()).toBe(200);
      };
      const used = () => {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare('SELECT name, SUM(pgsize) AS pages, SUM(payload) AS payload FROM dbstat GROUP BY name').all() as {
            name: string;
            pages: number;
            payload: number;
          }[];
        } finally {
          db.close();
        }
      };
      const N = 200;
      // Settled means delivered or refused for good (a relay may refuse a path over 256 octets):
      // either way the sealed payload is wiped, as it would be in production.
      const settled = () => waitFor(async () => (await server.store.outboxDepth()) === 0);
      await send(0);
      await settled();
      const before = used();
      for (let i = 1; i <= N; i++) await send(i);
      await settled();
      const after = used();
      const sum = (rows: typeof before, key: 'pages' | 'payload') => rows.reduce((n, r) => n + r[key], 0);
      const byTable = after
        .map((r) => ({ name: r.name, bytes: Math.round((r.pages - (before.find((b) => b.name === r.name)?.pages ?? 0)) / N) }))
        .filter((r) => r.bytes > 0)
        .sort((x, y) => y.bytes - x.bytes)
        .map((r) => `${r.name} ${r.bytes}`)
        .join(', ');
      return {
        perRequest: (sum(after, 'pages') - sum(before, 'pages')) / N,
        payload: (sum(after, 'payload') - sum(before, 'payload')) / N,
        byTable,
      };
    } finally {
      await server.close();
      await smtp.close();
      rmSync(measureDir, { recursive: true, force: true });
    }
  }

  it('measures the bytes SQLite keeps per auth request at the largest allowed input', async () => {
    for (const declared of [true, false]) {
      const { perRequest, payload, byTable } = await measure(declared);
      console.log(
        `bytes per auth request, largest input, ${declared ? 'template declaring the 15 variables' : 'default template (variables not kept)'}: ` +
          `${Math.round(perRequest)} B of pages (${Math.round(payload)} B of row payload); by table/index: ${byTable}`,
      );
      // With the default deployment budget (20,000 sends a minute) this bounds the disk a minute can take.
      expect(perRequest).toBeGreaterThan(0);
      expect(perRequest).toBeLessThan(16 * 1024);
    }
  });
});
