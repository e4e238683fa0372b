/**
 * SMTP faults: each broken server ends the outbox row in the right state — queued for
 * a retry (transient) or failed (permanent) — with the server's reply or the error on the
 * auth request's delivery timeline, and nothing is lost: once the fault is gone the retried
 * message arrives exactly once. Real servers on 127.0.0.1 (testkit's fault servers, the real
 * smtp-server), the real worker on a real SQLite store; only the clock is ours.
 *
 * Also covered elsewhere, not repeated here: server down (connection refused) then up
 * (outbox-worker.test.ts), 550 at RCPT TO (outbox-worker.test.ts), a server stalling after DATA
 * past the send budget (outbox-worker.test.ts), 451 at RCPT TO classified transient
 * (smtp-transport.test.ts).
 */
import {
  startFaultySmtp,
  startSmtpCapture,
  type FaultySmtp,
  type SmtpCapture,
  type SmtpCaptureOptions,
  type SmtpFault,
} from '@sesame/testkit';
import { describe, expect, it } from 'vitest';
import { createOutboxWorker, createSmtpTransport, type MailTransport } from '../src/index.js';
import { captureLogs, secretsIn } from './helpers/logs.js';
import { openTestSesame, TestClock, type TestSesame } from './helpers/sesame.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const cleanup = cleanupAfterEach();

function transport(url: string): MailTransport {
  // Short timeouts: a fault must become a settled row within the test's time, not in 30 s.
  const t = createSmtpTransport({
    url,
    from: 'Acme <no-reply@acme.test>',
    connectionTimeoutMs: 1_000,
    greetingTimeoutMs: 1_000,
    socketTimeoutMs: 2_000,
  });
  cleanup.push(() => t.close());
  return t;
}

async function faulty(fault: SmtpFault): Promise<FaultySmtp> {
  const server = await startFaultySmtp(fault);
  cleanup.push(() => server.close());
  return server;
}

async function sesameAt(clock: TestClock): Promise<TestSesame> {
  const sesame = await openTestSesame({ clock });
  cleanup.push(() => sesame.close());
  return sesame;
}

/**
 * Sends one email through the engine, runs the worker once against `url`, and returns what the
 * row became and its timeline.
 */
async function firstAttempt(url: string) {
  const clock = new TestClock();
  const sesame = await sesameAt(clock);
  const logs = captureLogs();
  const worker = createOutboxWorker({
    store: sesame.store,
    sealer: sesame.sealer,
    transport: transport(url),
    logger: logs,
    ownerId: 'w1',
    clock,
    random: () => 0,
  });
  const id = await sesame.send('jane@example.com');
  const report = await worker.runOnce();
  const timeline = await sesame.store.deliveryTimeline(id);
  return { clock, sesame, logs, id, report, timeline };
}

/** After a transient fault: a healthy server (and, for configuration faults, a fixed URL) gets the message once. */
async function recoversOnce(setup: Awaited<ReturnType<typeof firstAttempt>>, healthy: SmtpCapture, url: string): Promise<void> {
  const { clock, sesame, logs, id } = setup;
  const worker = createOutboxWorker({
    store: sesame.store,
    sealer: sesame.sealer,
    transport: transport(url),
    logger: logs,
    ownerId: 'w2',
    clock,
    random: () => 0,
  });
  clock.advance(10_000); // the first retry is due 10 s later
  expect(await worker.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
  clock.advance(86_400_000);
  expect(await worker.runOnce()).toMatchObject({ claimed: 0 });
  const mails = await healthy.waitForCount(1);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(healthy.mails).toHaveLength(1);
  expect(await sesame.store.outboxDepth()).toBe(0);
  expect((await sesame.store.deliveryTimeline(id)).at(-1)).toMatchObject({
    kind: 'sent',
    attempt: 2,
    detail: expect.stringMatching(/^250 /),
  });
  // The retried message carries a working code and link; neither reached a log line.
  const secrets = secretsIn(mails.map((mail) => mail.text ?? ''));
  expect(secrets).toHaveLength(2);
  for (const secret of secrets) expect(logs.text()).not.toContain(secret);
}

async function healthyOn(port: number, options: SmtpCaptureOptions = {}): Promise<SmtpCapture> {
  const server = await startSmtpCapture({ port, ...options });
  cleanup.push(() => server.close());
  return server;
}

describe('SMTP faults end in the right outbox state, with the reply on the timeline', () => {
  it('451 at the end of DATA: queued for a retry with the reply, then delivered once', async () => {
    const server = await faulty({ kind: 'reply', stage: 'data', code: 451, message: '4.7.1 Greylisted, try again later' });
    const setup = await firstAttempt(server.url);
    expect(setup.report).toMatchObject({ claimed: 1, retried: 1 });
    expect(setup.timeline.map((event) => event.kind)).toEqual(['queued', 'attempt', 'retry_scheduled']);
    expect(setup.timeline.at(-1)?.detail).toMatch(/^451 4\.7\.1 Greylisted, try again later/);
    expect(server.dataStarted()).toBe(1);
    expect(await setup.sesame.store.outboxDepth()).toBe(1);
    await server.close();
    await recoversOnce(setup, await healthyOn(server.port), server.url);
  });

  it('554 at the end of DATA: failed after one attempt with the reply, never retried', async () => {
    const server = await faulty({ kind: 'reply', stage: 'data', code: 554, message: '5.7.1 Message rejected as spam' });
    const setup = await firstAttempt(server.url);
    expect(setup.report).toMatchObject({ claimed: 1, failed: 1 });
    expect(setup.timeline.map((event) => event.kind)).toEqual(['queued', 'attempt', 'failed']);
    expect(setup.timeline.at(-1)?.detail).toMatch(/^554 5\.7\.1 Message rejected as spam/);
    expect(await setup.sesame.store.outboxDepth()).toBe(0);
    setup.clock.advance(86_400_000);
    const again = createOutboxWorker({
      store: setup.sesame.store,
      sealer: setup.sesame.sealer,
      transport: transport(server.url),
      logger: setup.logs,
      ownerId: 'w3',
      clock: setup.clock,
    });
    expect(await again.runOnce()).toMatchObject({ claimed: 0 });
    expect(server.dataStarted()).toBe(1);
  });

  it('connection reset in the middle of DATA: queued for a retry with the error, then delivered once', async () => {
    const server = await faulty({ kind: 'reset-mid-data', afterBytes: 200 });
    const setup = await firstAttempt(server.url);
    expect(setup.report).toMatchObject({ claimed: 1, retried: 1 });
    expect(server.dataStarted()).toBe(1);
    expect(setup.timeline.map((event) => event.kind)).toEqual(['queued', 'attempt', 'retry_scheduled']);
    expect(setup.timeline.at(-1)?.detail).toMatch(/ECONNRESET|ESOCKET|ECONNECTION|closed/i);
    await server.close();
    await recoversOnce(setup, await healthyOn(server.port), server.url);
  });

  it('a server that accepts and never greets: queued for a retry after the greeting timeout', async () => {
    const server = await faulty({ kind: 'stall' });
    const started = Date.now();
    const setup = await firstAttempt(server.url);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(server.connections()).toBeGreaterThanOrEqual(1);
    expect(setup.report).toMatchObject({ claimed: 1, retried: 1 });
    expect(setup.timeline.at(-1)).toMatchObject({ kind: 'retry_scheduled', detail: expect.stringMatching(/greeting|timeout|ETIMEDOUT/i) });
    await server.close();
    await recoversOnce(setup, await healthyOn(server.port), server.url);
  });

  it('STARTTLS with a certificate that does not verify: nothing sent in clear, queued for a retry with the TLS error', async () => {
    const server = await faulty({ kind: 'starttls-bad-cert' });
    const setup = await firstAttempt(`${server.url}?requireTLS=true`);
    expect(setup.report).toMatchObject({ claimed: 1, retried: 1 });
    expect(server.dataStarted()).toBe(0);
    expect(setup.timeline.at(-1)).toMatchObject({ kind: 'retry_scheduled', detail: expect.stringMatching(/certificate/i) });
    // The operator installs a valid certificate (here: trusts this one); the queued mail goes out.
    await server.close();
    const healthy = await healthyOn(server.port, { starttls: true });
    await recoversOnce(setup, healthy, `${server.url}?requireTLS=true&tls.rejectUnauthorized=false`);
    expect(healthy.mails[0]!.secure).toBe(true);
  });

  it('smtps:// to a plain-text server: the TLS handshake fails, queued for a retry, delivered once the URL is fixed', async () => {
    const plain = await startSmtpCapture();
    cleanup.push(() => plain.close());
    const setup = await firstAttempt(`smtps://127.0.0.1:${plain.port}`);
    expect(setup.report).toMatchObject({ claimed: 1, retried: 1 });
    expect(plain.mails).toHaveLength(0);
    expect(setup.timeline.at(-1)).toMatchObject({ kind: 'retry_scheduled', detail: expect.stringMatching(/wrong version number|SSL/i) });
    await plain.close();
    await recoversOnce(setup, await healthyOn(plain.port), `smtp://127.0.0.1:${plain.port}`);
  });
});
