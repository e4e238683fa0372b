/**
 * Issue 8's "Must show" for several instances: two real `sesame start` processes (the root `bin`
 * launcher) on one private PostgreSQL, a real SMTP server on 127.0.0.1, requests spread across
 * both. Every limit and single use must hold across the instances because the database decides.
 * It lives with the storage tests because what it proves is the PostgreSQL store's guarantees;
 * it drives the server only from outside, as processes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startPostgresCluster, type PostgresCluster } from '@sesame/testkit';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'bin/sesame.js');
const run = promisify(execFile);
const REDIRECT = 'https://app.example.com/auth/verify';

interface Instance {
  readonly child: ChildProcess;
  readonly base: string;
  output: string;
}

let cluster: PostgresCluster | undefined;
let databaseUrl: string;
let dataDir: string | undefined;
let smtp: SMTPServer | undefined;
const inbox: ParsedMail[] = [];
const instances: Instance[] = [];
let tokens: string[] = [];

async function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function startInstance(env: NodeJS.ProcessEnv): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'start'], { cwd: dataDir, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const instance: Instance = { child, base: `http://127.0.0.1:${port}`, output: '' };
  instances.push(instance);
  child.stdout.on('data', (d: Buffer) => (instance.output += d.toString()));
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`no start banner: ${instance.output}`)), 30_000);
    child.stderr.on('data', (d: Buffer) => {
      instance.output += d.toString();
      if (instance.output.includes('Sesame is listening')) {
        clearTimeout(timer);
        ready();
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      fail(new Error(`exited early: ${instance.output}`));
    });
  });
  return instance;
}

beforeAll(async () => {
  // The launcher runs the built server; make sure it is current (fast when nothing changed).
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'packages/server'], { cwd: ROOT });
  cluster = await startPostgresCluster();
  databaseUrl = await cluster.createDatabase('sesame_instances');
  dataDir = mkdtempSync(join(tmpdir(), 'sesame-instances-'));
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          inbox.push(mail);
          callback();
        })
        .catch((error: unknown) => callback(error as Error));
    },
  });
  smtp = server;
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const smtpPort = (server.server.address() as AddressInfo).port;

  const env = {
    ...process.env,
    NODE_ENV: 'development',
    SESAME_DATA_DIR: dataDir,
    SESAME_DATABASE_URL: databaseUrl,
    // Both instances sign and check tokens and digests with the same secret.
    SESAME_SECRET: 'instances-test-secret-0123456789abcdef-0123456789',
    SESAME_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    SESAME_MAIL_FROM: 'Acme <no-reply@acme.test>',
    SESAME_ALLOWED_REDIRECT_URIS: 'https://app.example.com/auth/*',
    SESAME_LOG_LEVEL: 'warn',
  };
  await run(process.execPath, [BIN, 'migrate'], { cwd: dataDir, env });
  const created = await run(process.execPath, [BIN, 'clients', 'create', '--name', 'instances', '--json'], { cwd: dataDir, env });
  const client = JSON.parse(created.stdout.trim()) as { client_id: string; client_secret: string };
  // Both start together: their migrations meet at the advisory lock.
  await Promise.all([startInstance(env), startInstance(env)]);
  tokens = await Promise.all(
    instances.map(async (instance) => {
      const response = await fetch(`${instance.base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret }),
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { access_token: string }).access_token;
    }),
  );
}, 120_000);

afterAll(async () => {
  for (const instance of instances) {
    if (instance.child.pid !== undefined && instance.child.exitCode === null) instance.child.kill('SIGKILL');
  }
  const server = smtp;
  if (server) await new Promise<void>((done) => server.close(() => done()));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await cluster?.stop();
});

/** Calls instance `i % 2`: consecutive calls alternate between the two processes. */
async function api(i: number, action: string, body: unknown): Promise<{ status: number; code?: string; body: Record<string, unknown> }> {
  const instance = instances[i % instances.length]!;
  const response = await fetch(`${instance.base}/api/v1/passwordless/email/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i % tokens.length]!}` },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  const code = (json.error as { code?: string } | undefined)?.code;
  return { status: response.status, ...(code === undefined ? {} : { code }), body: json };
}

function mailsTo(address: string): ParsedMail[] {
  return inbox.filter((mail) => JSON.stringify(mail.to ?? '').includes(address));
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function sendAndReadCode(email: string): Promise<{ id: string; code: string }> {
  const sent = await api(0, 'send', { email, magiclink_auth_uri: REDIRECT });
  expect(sent.status).toBe(200);
  await waitFor(() => mailsTo(email).length > 0, 15_000, `mail to ${email}`);
  const code = /\b(\d{6})\b/.exec(mailsTo(email)[0]!.text ?? '')?.[1];
  expect(code).toMatch(/^\d{6}$/);
  return { id: sent.body.auth_request_id as string, code: code! };
}

function tally(results: readonly { status: number; code?: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results) {
    const key = `${result.status}${result.code ? ` ${result.code}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('two sesame instances on one PostgreSQL', () => {
  it('200 concurrent verifies of one valid code across both: exactly one success', async () => {
    const { id, code } = await sendAndReadCode('one-code@example.com');
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => api(i, 'verify', { code, auth_request_id: id })));
    expect(tally(results)).toEqual({ '200': 1, '400 ALREADY_USED': 199 });
    const [row] = await sql<{ status: string; attempts: number }>('SELECT status, attempts FROM auth_requests WHERE id = $1', [id]);
    expect(row).toEqual({ status: 'verified', attempts: 0 });
  });

  it('20 concurrent wrong guesses across both: attempts stop exactly at the cap', async () => {
    const { id, code } = await sendAndReadCode('guesser@example.com');
    const wrong = code === '000000' ? '111111' : '000000';
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => api(i, 'verify', { code: wrong, auth_request_id: id })));
    // The default policy: 5 failed codes per request, then it is locked.
    expect(tally(results)).toEqual({ '400 INVALID_CREDENTIAL': 5, '429 TOO_MANY_ATTEMPTS': 15 });
    const [row] = await sql<{ status: string; attempts: number }>('SELECT status, attempts FROM auth_requests WHERE id = $1', [id]);
    expect(row).toEqual({ status: 'locked', attempts: 5 });
    expect((await api(1, 'verify', { code, auth_request_id: id })).code).toBe('TOO_MANY_ATTEMPTS');
  });

  it('10 concurrent sends to one address across both: exactly the limit succeeds', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => api(i, 'send', { email: 'flood@example.com', magiclink_auth_uri: REDIRECT })));
    // The default policy: 2 emails per address per minute.
    expect(tally(results)).toEqual({ '200': 2, '429 SEND_LIMIT_EXCEEDED': 8 });
    const [row] = await sql<{ n: string }>("SELECT count(*) AS n FROM auth_requests WHERE email_key = 'flood@example.com'");
    expect(Number(row!.n)).toBe(2);
  });

  it('500 queued emails are delivered exactly once each by the two outbox workers', async () => {
    const total = 500;
    const addresses = Array.from({ length: total }, (_, i) => `bulk-${i}@example.com`);
    const started = Date.now();
    // 25 requests in flight at a time, alternating between the instances.
    let next = 0;
    await Promise.all(
      Array.from({ length: 25 }, async () => {
        while (next < total) {
          const i = next++;
          const result = await api(i, 'send', { email: addresses[i], magiclink_auth_uri: REDIRECT });
          expect(result.status).toBe(200);
        }
      }),
    );
    const bulk = (): ParsedMail[] => inbox.filter((mail) => JSON.stringify(mail.to ?? '').includes('bulk-'));
    await waitFor(() => bulk().length >= total, 90_000, `${total} bulk mails`);
    const elapsed = Date.now() - started;
    // Let any duplicate that a double claim would cause arrive before counting.
    await waitFor(async () => Number((await sql<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE status = 'queued'"))[0]!.n) === 0, 10_000, 'an empty outbox');
    await new Promise((r) => setTimeout(r, 500));
    const recipients = bulk().map((mail) => /bulk-\d+@example\.com/.exec(JSON.stringify(mail.to))?.[0]);
    expect(recipients).toHaveLength(total);
    expect(new Set(recipients).size).toBe(total);
    const [sent] = await sql<{ n: string }>("SELECT count(*) AS n FROM outbox o JOIN auth_requests a ON a.id = o.auth_request_id WHERE a.email_key LIKE 'bulk-%' AND o.status = 'sent'");
    expect(Number(sent!.n)).toBe(total);
    // Which worker sent what: both took part (reported, the sum is what must hold).
    const perInstance = await Promise.all(
      instances.map(async (instance) => {
        const metrics = await (await fetch(`${instance.base}/metrics`)).text();
        return Number(/sesame_email_deliveries_total\{outcome="sent"\} (\d+)/.exec(metrics)?.[1] ?? 0);
      }),
    );
    console.log(`500 emails: sent and delivered in ${elapsed} ms; deliveries per instance (all tests): ${perInstance.join(' + ')}`);
    expect(perInstance.reduce((a, b) => a + b, 0)).toBe(inbox.length);
  });
});

describe('the database restarted under light load', () => {
  it('serves again within seconds, loses no outbox row, and /readyz is unready only while it is down', async () => {
    const db = cluster!;
    const accepted: string[] = [];
    const statuses: Record<string, number> = {};
    let sends = 0;
    let stop = false;
    let lastFailure = 0;
    // Light load: two clients, one send every ~50 ms each, alternating instances, bounded in count.
    const load = Array.from({ length: 2 }, async (_, lane) => {
      while (!stop && sends < 2_000) {
        const i = sends++;
        const email = `restart-${i}@example.com`;
        const result = await api(i + lane, 'send', { email, magiclink_auth_uri: REDIRECT }).catch(() => ({ status: 0, code: 'NETWORK' }));
        const key = `${result.status}${result.code ? ` ${result.code}` : ''}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
        if (result.status === 200) accepted.push(email);
        else lastFailure = Date.now();
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    const readyz = async (): Promise<number[]> => Promise.all(instances.map(async (instance) => (await fetch(`${instance.base}/readyz`)).status));

    await new Promise((r) => setTimeout(r, 1_000));
    expect(await readyz()).toEqual([200, 200]);
    await db.stopServer();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 1_500));
    const whileDown = await readyz();
    await db.startServer();
    const upAt = Date.now();
    // Back: both ready, and sends succeed again, within seconds.
    await waitFor(async () => (await readyz()).every((status) => status === 200), 10_000, 'both instances ready again');
    const accepting = accepted.length;
    await waitFor(() => accepted.length >= accepting + 4, 10_000, 'sends accepted again');
    const recoveredMs = Date.now() - upAt;
    stop = true;
    await Promise.all(load);

    console.log(
      `restart: down ${upAt - downAt} ms, service back ${recoveredMs} ms after the database; last failure ${Math.max(0, lastFailure - upAt)} ms after it; answers ${JSON.stringify(statuses)}`,
    );
    expect(whileDown).toEqual([503, 503]);
    expect(recoveredMs).toBeLessThan(10_000);
    // No 5xx but the documented one: 503 UNAVAILABLE while the database is unreachable.
    for (const key of Object.keys(statuses)) expect(key).toMatch(/^(200|503 UNAVAILABLE)$/);
    // Every accepted send is delivered or still queued for delivery: nothing was lost.
    await new Promise((r) => setTimeout(r, 2_000));
    const rows = await sql<{ email_key: string; status: string }>(
      "SELECT a.email_key, o.status FROM outbox o JOIN auth_requests a ON a.id = o.auth_request_id WHERE a.email_key LIKE 'restart-%'",
    );
    const byAddress = new Map(rows.map((row) => [row.email_key, row.status]));
    for (const email of accepted) {
      const delivered = mailsTo(email).length;
      expect({ email, delivered: delivered > 0 || byAddress.get(email) === 'queued' }).toEqual({ email, delivered: true });
      expect(delivered).toBeLessThanOrEqual(1);
    }
  });

  // The store throws StoreUnavailableError while the database is down; the server answers it as
  // 503 UNAVAILABLE with Retry-After (a retry is safe: nothing committed).
  it('answers 503 with a stable code while the database is down', async () => {
    const db = cluster!;
    await db.stopServer();
    try {
      const result = await api(0, 'send', { email: 'down@example.com', magiclink_auth_uri: REDIRECT });
      expect(result.status).toBe(503);
      expect(result.code).toBe('UNAVAILABLE');
    } finally {
      await db.startServer();
      await waitFor(async () => (await fetch(`${instances[0]!.base}/readyz`)).status === 200, 10_000, 'ready again');
    }
  });
});
