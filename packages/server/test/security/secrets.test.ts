/**
 * Secrets: a representative run against a real listening Sesame (REST and gRPC on one
 * port, real SMTP server receiving the mail, pino at debug level captured whole) on SQLite and
 * on PostgreSQL. Afterwards no raw OTP, link token, client secret (right or wrong), access token,
 * server secret or Authorization header value appears in any log line or in any response that
 * is not the one designed to carry it (the token endpoint's own answer), and none of the
 * credentials Sesame issued is anywhere in the database: the SQLite file, its WAL and shared
 * memory, byte for byte; every PostgreSQL table row, as text and as hex (bytea).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createClient as createRpcClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { startPostgresCluster, startSmtpCapture, type PostgresCluster, type SmtpCapture } from '@sesame/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordlessService } from '../../src/gen/scalekit/v1/auth/passwordless/passwordless_pb.js';
import { createClient, createLogger, loadConfig, startSesame, type RunningSesame } from '../../src/index.js';
import { API, REDIRECT, credentialsOf } from './support.js';

const SERVER_SECRET = 'secrets-suite-server-secret-0123456789abcdefghijklmnopqrstuvwxyz';

let cluster: PostgresCluster | undefined;
let smtp: SmtpCapture;
beforeAll(async () => {
  smtp = await startSmtpCapture();
});
afterAll(async () => {
  await smtp.close();
  await cluster?.stop();
});

interface Run {
  /** Every secret the run handled, with a name for the failure message. */
  readonly secrets: Map<string, string>;
  /** Only the credentials Sesame issued (codes, link tokens) and the client secret: never in the database. */
  readonly issued: Map<string, string>;
  readonly logs: string;
  /** Every response (status line, headers and body) except the token endpoint's successful answers. */
  readonly responses: string;
}

/** Drives token, send, verify, resend and their errors over REST and gRPC; returns what it saw. */
async function representativeRun(running: RunningSesame, logLines: string[], sentTo: (address: string) => string): Promise<Run> {
  const secrets = new Map<string, string>([['server secret', SERVER_SECRET]]);
  const issued = new Map<string, string>();
  const responses: string[] = [];
  const base = running.url;
  const client = await createClient(running.store, {
    key: running.sesame.clientSecretKey,
    name: 'secrets',
    redirectUris: [REDIRECT],
    now: Date.now(),
  });
  secrets.set('client secret', client.secret);
  issued.set('client secret', client.secret);

  async function record(response: Response, keep = true): Promise<string> {
    const text = await response.text();
    const lines: string[] = [];
    response.headers.forEach((value, name) => lines.push(`${name}: ${value}`));
    const headers = lines.join('\n');
    if (keep) responses.push(`${response.status}\n${headers}\n${text}`);
    return text;
  }

  // Tokens: form, JSON and HTTP Basic; a wrong secret in each form too.
  const wrongSecret = `${client.secret.slice(0, -4)}Zz9Q`;
  secrets.set('wrong client secret', wrongSecret);
  const tokens: string[] = [];
  const tokenRequests: RequestInit[] = [
    { body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.record.id, client_secret: client.secret }) },
    {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: client.record.id, client_secret: client.secret }),
    },
    {
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.record.id}:${client.secret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    },
  ];
  for (const init of tokenRequests) {
    const response = await fetch(`${base}/oauth/token`, { method: 'POST', ...init });
    expect(response.status).toBe(200);
    const token = (JSON.parse(await record(response, false)) as { access_token: string }).access_token;
    tokens.push(token);
    secrets.set(`access token ${tokens.length}`, token);
    secrets.set(`Authorization header ${tokens.length}`, `Bearer ${token}`);
  }
  const basic = Buffer.from(`${client.record.id}:${client.secret}`).toString('base64');
  secrets.set('Basic credentials', basic);
  const wrongBasic = Buffer.from(`${client.record.id}:${wrongSecret}`).toString('base64');
  secrets.set('wrong Basic credentials', wrongBasic);
  const refusedRequests: RequestInit[] = [
    { body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.record.id, client_secret: wrongSecret }) },
    {
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${wrongBasic}` },
      body: 'grant_type=client_credentials',
    },
    {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'password', client_id: client.record.id, client_secret: wrongSecret }),
    },
  ];
  for (const init of refusedRequests) {
    const response = await fetch(`${base}/oauth/token`, { method: 'POST', ...init });
    expect(response.status).toBeGreaterThanOrEqual(400);
    await record(response);
  }

  const token = tokens[0]!;
  const api = async (action: string, body: unknown, bearer = token): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(`${base}${API}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}`, 'x-forwarded-for': '203.0.113.9' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, json: JSON.parse(await record(response)) as Record<string, unknown> };
  };
  const mailCount = (address: string): number => smtp.mailsTo(address).length;
  const nextMail = async (address: string, count: number): Promise<{ code: string; linkToken: string }> => {
    const mail = await smtp.waitForMail(address, count, 15_000);
    const found = credentialsOf(mail.text ?? '');
    secrets.set(`code ${address} #${count}`, found.code);
    secrets.set(`link token ${address} #${count}`, found.linkToken);
    issued.set(`code ${address} #${count}`, found.code);
    issued.set(`link token ${address} #${count}`, found.linkToken);
    return found;
  };

  // Send, verify by code (a wrong one first), replay.
  const ada = sentTo('ada');
  const sent = await api('send', { email: ada, magiclink_auth_uri: REDIRECT, state: 'st-1', template_variables: { team: 'Blue' } });
  expect(sent.status).toBe(200);
  const id = sent.json.auth_request_id as string;
  const first = await nextMail(ada, 1);
  const wrongCode = first.code === '000000' ? '000001' : '000000';
  expect((await api('verify', { code: wrongCode, auth_request_id: id })).status).toBe(400);
  expect((await api('verify', { code: first.code, auth_request_id: id })).status).toBe(200);
  expect((await api('verify', { code: first.code, auth_request_id: id })).json.error).toMatchObject({ code: 'ALREADY_USED' });

  // Send, resend (new credentials, old ones dead), link with the wrong id, link right.
  const bob = sentTo('bob');
  const sent2 = await api('send', { email: bob, magiclink_auth_uri: REDIRECT });
  const id2 = sent2.json.auth_request_id as string;
  const old = await nextMail(bob, 1);
  expect((await api('resend', { auth_request_id: id2 })).status).toBe(200);
  const fresh = await nextMail(bob, 2);
  expect((await api('verify', { code: old.code, auth_request_id: id2 })).json.error).toMatchObject({ code: 'INVALID_CREDENTIAL' });
  expect((await api('verify', { link_token: fresh.linkToken, auth_request_id: id })).json.error).toMatchObject({
    code: 'SAME_BROWSER_REQUIRED',
  });
  expect((await api('verify', { link_token: old.linkToken, auth_request_id: id2 })).status).toBe(400);
  expect((await api('verify', { link_token: fresh.linkToken, auth_request_id: id2 })).status).toBe(200);

  // Errors: bad JSON carrying a secret-looking value, oversized, unknown route, bad bearer, limits.
  expect((await api('verify', `{"code": "${fresh.code}", "auth_request_id": `)).status).toBe(400);
  expect((await api('verify', { code: fresh.code, auth_request_id: 'x'.repeat(70_000) })).status).toBe(413);
  expect((await api('verify', { code: 12, link_token: fresh.linkToken })).status).toBe(400);
  const forged = `${token.slice(0, -6)}AAAAAA`;
  secrets.set('forged bearer', forged);
  expect((await api('send', { email: ada, magiclink_auth_uri: REDIRECT }, forged)).status).toBe(401);
  await record(await fetch(`${base}/api/v1/nothing-here`, { headers: { authorization: `Bearer ${token}` } }));
  // bob has had two emails this minute (send, resend): a third is refused.
  expect((await api('send', { email: bob, magiclink_auth_uri: REDIRECT })).json.error).toMatchObject({ code: 'SEND_LIMIT_EXCEEDED' });

  // gRPC: send and verify by code with the second token; a wrong code.
  const grpc = createRpcClient(
    PasswordlessService,
    createGrpcTransport({
      baseUrl: base,
      interceptors: [(next) => (request) => (request.header.set('authorization', `Bearer ${tokens[1]!}`), next(request))],
    }),
  );
  const cleo = sentTo('cleo');
  const grpcSent = await grpc.sendPasswordlessEmail({ email: cleo, magiclinkAuthUri: REDIRECT });
  const third = await nextMail(cleo, 1);
  await expect(
    grpc.verifyPasswordlessEmail({ authRequestId: grpcSent.authRequestId, authCredential: { case: 'code', value: wrongCode } }),
  ).rejects.toThrow();
  const grpcVerified = await grpc.verifyPasswordlessEmail({
    authRequestId: grpcSent.authRequestId,
    authCredential: { case: 'code', value: third.code },
  });
  expect(grpcVerified.email).toBe(cleo);

  // Let the worker settle the last deliveries before the logs and the database are read.
  for (const address of [ada, bob, cleo]) expect(mailCount(address)).toBeGreaterThan(0);
  const deadline = Date.now() + 15_000;
  while ((await running.store.outboxDepth()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await running.store.outboxDepth()).toBe(0);
  return { secrets, issued, logs: logLines.join(''), responses: responses.join('\n\n') };
}

/** Where `secret` occurs in `text`; a 6-digit code only as a whole number (not inside a timestamp). */
function occurs(text: string, secret: string): boolean {
  if (/^\d{6,8}$/.test(secret)) return new RegExp(`(?<![0-9])${secret}(?![0-9])`).test(text);
  return text.includes(secret);
}

function expectAbsent(where: string, text: string, secrets: Map<string, string>): void {
  const found = [...secrets].filter(([, value]) => occurs(text, value)).map(([name]) => name);
  expect(found, `secrets found in ${where}`).toEqual([]);
}

/** Each secret as its bytes would be stored: as text, and hex-encoded (PostgreSQL's bytea text form). */
function withHex(secrets: Map<string, string>): Map<string, string> {
  const out = new Map(secrets);
  for (const [name, value] of secrets) out.set(`${name} (hex)`, Buffer.from(value, 'utf8').toString('hex'));
  return out;
}

describe.each(['sqlite', 'postgres'] as const)('secrets on %s', (backend) => {
  let dir: string;
  let running: RunningSesame;
  let databaseUrl: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `sesame-secrets-${backend}-`));
    if (backend === 'postgres') {
      cluster ??= await startPostgresCluster();
      databaseUrl = await cluster.createDatabase('secrets_run');
    } else {
      databaseUrl = `file:${join(dir, 'sesame.db')}`;
    }
    const config = loadConfig({
      PORT: '0',
      SESAME_DATA_DIR: dir,
      SESAME_DATABASE_URL: databaseUrl,
      SESAME_SECRET: SERVER_SECRET,
      SESAME_SMTP_URL: smtp.url,
      SESAME_LOG_LEVEL: 'debug',
    });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    running = await startSesame(config, { logger: createLogger('debug', sink), pollIntervalMs: 200 });
  });

  afterAll(async () => {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no secret in logs or responses; no issued credential in the database', async () => {
    const run = await representativeRun(running, logLines, (name) => `${name}.${backend}@example.com`);
    expect(run.issued.size).toBe(9); // client secret, 4 mails × (code, link token)
    expect(run.logs).toContain('"msg":"request"');
    expect(run.logs).toContain('"msg":"email sent"');
    expectAbsent('logs', run.logs, run.secrets);
    expectAbsent('responses', run.responses, run.secrets);

    if (backend === 'sqlite') {
      // Every file of the database (main, -wal, -shm) while the server still holds it open.
      const files = readdirSync(dir).filter((name) => name.startsWith('sesame.db'));
      expect(files).toContain('sesame.db');
      const bytes = files.map((name) => readFileSync(join(dir, name)).toString('latin1')).join('\n');
      expect(bytes.length).toBeGreaterThan(4096);
      expectAbsent('the SQLite files', bytes, withHex(run.issued));
    } else {
      const db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      try {
        const tables = (
          await db.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'")
        ).rows;
        expect(tables.length).toBeGreaterThan(3);
        let dump = '';
        for (const { name } of tables) {
          const rows = await db.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${name}" t`);
          dump += rows.rows.map((r) => r.row).join('\n');
        }
        expect(dump).toContain(`ada.${backend}@example.com`);
        expect(dump.length).toBeGreaterThan(1000);
        expectAbsent('the PostgreSQL tables', dump, withHex(run.issued));
      } finally {
        await db.end();
      }
    }
  });
});
