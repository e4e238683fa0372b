/**
 * Several instances end to end: two real `sesame start` processes (the root `bin`
 * launcher) on one private PostgreSQL, a real SMTP server on 127.0.0.1, requests spread across
 * both. Every limit and single use must hold across the instances because the database decides.
 * It lives with the storage tests because what it proves is the PostgreSQL store's guarantees;
 * it drives the server only from outside, as processes.
 */
import { rmSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildServerPackage,
  createApiClientWithCli,
  fetchAccessToken,
  isolatedSesameEnv,
  killStartedProcesses,
  queryPostgres,
  runSesameCli,
  startPostgresCluster,
  startSesameProcess,
  startSmtpCapture,
  waitUntil,
  type CapturedMail,
  type PostgresCluster,
  type SesameProcess,
  type SmtpCapture,
} from '@sesame/testkit';

const REDIRECT = 'https://app.example.com/auth/verify';

type Instance = SesameProcess;

let cluster: PostgresCluster | undefined;
let databaseUrl: string;
let dataDir: string | undefined;
let smtp: SmtpCapture | undefined;
const instances: Instance[] = [];
let tokens: string[] = [];
/** The environment both instances share (the kill test derives its own from it). */
let baseEnv: NodeJS.ProcessEnv = {};

/** One statement on the shared database (or `url`). */
function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], url = databaseUrl): Promise<R[]> {
  return queryPostgres<R>(url, text, values);
}

async function startInstance(env: NodeJS.ProcessEnv, into: Instance[] = instances): Promise<Instance> {
  const instance = await startSesameProcess({ env, cwd: dataDir });
  into.push(instance);
  return instance;
}

beforeAll(async () => {
  // The launcher runs the built server; make sure it is current (fast when nothing changed).
  await buildServerPackage();
  cluster = await startPostgresCluster();
  databaseUrl = await cluster.createDatabase('sesame_instances');
  smtp = await startSmtpCapture();
  const isolated = isolatedSesameEnv('sesame-instances-', {
    SESAME_DATABASE_URL: databaseUrl,
    // Both instances sign and check tokens and digests with the same secret.
    SESAME_SECRET: 'instances-test-secret-0123456789abcdef-0123456789',
    SESAME_SMTP_URL: smtp.url,
    SESAME_MAIL_FROM: 'Acme <no-reply@acme.test>',
    SESAME_ALLOWED_REDIRECT_URIS: 'https://app.example.com/auth/*',
  });
  dataDir = isolated.dataDir;
  const env = isolated.env;
  baseEnv = env;
  await runSesameCli(['migrate'], { cwd: dataDir, env });
  const client = await createApiClientWithCli({ cwd: dataDir, env, name: 'instances' });
  // Both start together: their migrations meet at the advisory lock.
  await Promise.all([startInstance(env), startInstance(env)]);
  tokens = await Promise.all(instances.map((instance) => fetchAccessToken(instance.url, client)));
}, 120_000);

afterAll(async () => {
  // Every process this file started, whichever test started it.
  await killStartedProcesses();
  await smtp?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await cluster?.stop();
});

/** Calls instance `i % 2`: consecutive calls alternate between the two processes. */
async function api(i: number, action: string, body: unknown): Promise<{ status: number; code?: string; body: Record<string, unknown> }> {
  const instance = instances[i % instances.length]!;
  const response = await fetch(`${instance.url}/api/v1/passwordless/email/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i % tokens.length]!}` },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  const code = (json.error as { code?: string } | undefined)?.code;
  return { status: response.status, ...(code === undefined ? {} : { code }), body: json };
}

function mailsTo(address: string): CapturedMail[] {
  return smtp!.mailsTo(address);
}

async function sendAndReadCode(email: string): Promise<{ id: string; code: string }> {
  const sent = await api(0, 'send', { email, magiclink_auth_uri: REDIRECT });
  expect(sent.status).toBe(200);
  await waitUntil(`mail to ${email}`, () => mailsTo(email).length > 0, 15_000, 50);
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
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => api(i, 'send', { email: 'flood@example.com', magiclink_auth_uri: REDIRECT })),
    );
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
    const bulk = (): CapturedMail[] => smtp!.mails.filter((mail) => mail.recipient.startsWith('bulk-'));
    await waitUntil(`${total} bulk mails`, () => bulk().length >= total, 90_000, 50);
    const elapsed = Date.now() - started;
    // Let any duplicate that a double claim would cause arrive before counting.
    await waitUntil(
      'an empty outbox',
      async () => Number((await sql<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE status = 'queued'"))[0]!.n) === 0,
      10_000,
      50,
    );
    await new Promise((r) => setTimeout(r, 500));
    const recipients = bulk().map((mail) => /bulk-\d+@example\.com/.exec(JSON.stringify(mail.to))?.[0]);
    expect(recipients).toHaveLength(total);
    expect(new Set(recipients).size).toBe(total);
    const [sent] = await sql<{ n: string }>(
      "SELECT count(*) AS n FROM outbox o JOIN auth_requests a ON a.id = o.auth_request_id WHERE a.email_key LIKE 'bulk-%' AND o.status = 'sent'",
    );
    expect(Number(sent!.n)).toBe(total);
    // Which worker sent what: both took part (reported, the sum is what must hold).
    const perInstance = await Promise.all(
      instances.map(async (instance) => {
        const metrics = await (await fetch(`${instance.url}/metrics`)).text();
        return Number(/sesame_email_deliveries_total\{outcome="sent"\} (\d+)/.exec(metrics)?.[1] ?? 0);
      }),
    );
    console.log(`500 emails: sent and delivered in ${elapsed} ms; deliveries per instance (all tests): ${perInstance.join(' + ')}`);
    expect(perInstance.reduce((a, b) => a + b, 0)).toBe(smtp!.mails.length);
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
    const readyz = async (): Promise<number[]> =>
      Promise.all(instances.map(async (instance) => (await fetch(`${instance.url}/readyz`)).status));

    await new Promise((r) => setTimeout(r, 1_000));
    expect(await readyz()).toEqual([200, 200]);
    await db.stopServer();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 1_500));
    const whileDown = await readyz();
    await db.startServer();
    const upAt = Date.now();
    // Back: both ready, and sends succeed again, within seconds.
    await waitUntil('both instances ready again', async () => (await readyz()).every((status) => status === 200), 10_000, 50);
    const accepting = accepted.length;
    await waitUntil('sends accepted again', () => accepted.length >= accepting + 4, 10_000, 50);
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
      await waitUntil('ready again', async () => (await fetch(`${instances[0]!.url}/readyz`)).status === 200, 10_000, 50);
    }
  });
});

describe('kill -9 of one instance mid-delivery', () => {
  // A private database and SMTP server, so the two instances above neither claim these rows
  // nor count these mails. The SMTP server answers each DATA only after DELAY_MS, with the mail
  // already recorded: an instance killed while waiting for that answer has delivered mail it
  // never marked sent, which is the one kind of duplicate a lease allows.
  const LEASE_MS = 3_000;
  const DELAY_MS = 300;
  const TOTAL = 40;
  // The outbox worker's default concurrency: at most this many deliveries of A were in flight.
  const WORKER_CONCURRENCY = 4;

  it('the other instance delivers what the killed one had claimed once the lease expires', async () => {
    const db = cluster!;
    const url = await db.createDatabase('sesame_kill');
    const slow = await startSmtpCapture({ replyDelayMs: DELAY_MS });
    const received = slow.mails;
    const pair: Instance[] = [];
    try {
      const env = {
        ...baseEnv,
        SESAME_DATABASE_URL: url,
        SESAME_SMTP_URL: slow.url,
        SESAME_OUTBOX_LEASE_MS: String(LEASE_MS),
      };
      await runSesameCli(['migrate'], { cwd: dataDir, env });
      const client = await createApiClientWithCli({ cwd: dataDir, env, name: 'kill' });
      const [a, b] = [await startInstance(env, pair), await startInstance(env, pair)];
      const token = await fetchAccessToken(a.url, client);
      const pidA = a.pid;

      // Every send goes to A, so A's worker is nudged and claims them; B only polls.
      const addresses = Array.from({ length: TOTAL }, (_, i) => `killed-${i}@example.com`);
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < TOTAL) {
            const email = addresses[next++];
            const response = await fetch(`${a.url}/api/v1/passwordless/email/send`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
              body: JSON.stringify({ email, magiclink_auth_uri: REDIRECT }),
            });
            expect(response.status).toBe(200);
          }
        }),
      );

      // Mid-delivery: A has delivered at least one mail and still holds a live lease on a full
      // round of queued rows (its first claims are small while the sends still arrive).
      const heldByA = async (): Promise<{ id: string; lease_until: string }[]> =>
        sql<{ id: string; lease_until: string }>(
          'SELECT id, lease_until FROM outbox WHERE status = $1 AND lease_owner LIKE $2 AND lease_until > $3',
          ['queued', `%:${pidA}:%`, Date.now()],
          url,
        );
      let held: { id: string; lease_until: string }[] = [];
      await waitUntil(
        'A mid-delivery',
        async () => received.length > 0 && (held = await heldByA()).length >= 2 * WORKER_CONCURRENCY,
        20_000,
        50,
      ).catch(async (error: unknown) => {
        const rows = await sql('SELECT status, lease_owner, lease_until FROM outbox', [], url);
        throw new Error(
          `${String(error)}; pid ${pidA}, ${received.length} received, now ${Date.now()}: ${JSON.stringify(rows.slice(0, 5))}; ${a.output}`,
        );
      });
      const killed = a.kill('SIGKILL');
      const killedAt = Date.now();
      const deliveredBeforeKill = received.length;
      await killed;

      // B claims A's rows once their lease lapses (at most LEASE_MS, plus B's 5 s poll) and sends them.
      const to = (mail: CapturedMail): string | undefined => /killed-\d+@example\.com/.exec(JSON.stringify(mail.to ?? ''))?.[0];
      await waitUntil(`all ${TOTAL} mails after the kill`, () => new Set(received.map(to)).size >= TOTAL, 30_000, 50);
      const recoveredMs = Date.now() - killedAt;
      await waitUntil(
        'an empty outbox',
        async () => Number((await sql<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE status = 'queued'", [], url))[0]!.n) === 0,
        10_000,
        50,
      );
      await new Promise((r) => setTimeout(r, 500));

      const recipients = received.map(to);
      const duplicates = recipients.length - new Set(recipients).size;
      console.log(
        `kill -9: A held ${held.length} leased rows with ${deliveredBeforeKill} mails delivered; all ${TOTAL} delivered ${recoveredMs} ms after the kill; ${duplicates} duplicate(s)`,
      );
      expect(new Set(recipients)).toEqual(new Set(addresses));
      // Only a delivery A had in flight when it died can go out twice.
      expect(duplicates).toBeLessThanOrEqual(WORKER_CONCURRENCY);
      // Every row A held is sent, and only after its lease lapsed: by B, since A was dead.
      const ids = held.map((row) => row.id);
      const rows = await sql<{ id: string; status: string }>('SELECT id, status FROM outbox WHERE id = ANY($1) ORDER BY id', [ids], url);
      expect(rows.map((row) => row.status)).toEqual(ids.map(() => 'sent'));
      const sentAt = await sql<{ outbox_id: string; at: string }>(
        "SELECT outbox_id, max(at) AS at FROM delivery_events WHERE kind = 'sent' AND outbox_id = ANY($1) GROUP BY outbox_id",
        [ids],
        url,
      );
      expect(sentAt).toHaveLength(ids.length);
      const leaseEnd = new Map(held.map((row) => [row.id, Number(row.lease_until)]));
      for (const event of sentAt) expect(Number(event.at)).toBeGreaterThanOrEqual(leaseEnd.get(event.outbox_id)!);
      expect(b.child.exitCode).toBeNull();
    } finally {
      for (const instance of pair) {
        if (instance.child.exitCode === null && instance.child.signalCode === null) instance.child.kill('SIGKILL');
      }
      await slow.close();
    }
  });
});
