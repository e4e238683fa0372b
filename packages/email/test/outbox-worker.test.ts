import { describe, expect, it } from 'vitest';
import {
  BRAND_SETTING_KEY,
  TEMPLATES_SETTING_KEY,
  createOutboxWorker,
  createSmtpTransport,
  settingsContentSource,
  type MailTransport,
  type OutboxWorkerOptions,
} from '../src/index.js';
import { captureLogs, secretsIn, type CapturedLogs } from './helpers/logs.js';
import type { PayloadSealer } from '@sesame/core';
import { CALLER, credentialsIn, openTestSesame, REDIRECT, TestClock, type TestSesame } from './helpers/sesame.js';
import { freePort, startSmtpCapture, type CapturedMail, type SmtpCapture, type SmtpCaptureOptions } from '@sesame/testkit';
import { cleanupAfterEach } from './helpers/cleanup.js';

const cleanup = cleanupAfterEach();

function later(step: () => Promise<void>): void {
  cleanup.push(step);
}

async function sesameWith(clock?: TestClock): Promise<TestSesame> {
  const sesame = await openTestSesame(clock ? { clock } : {});
  later(() => sesame.close());
  return sesame;
}

async function smtpServer(options: SmtpCaptureOptions = {}): Promise<SmtpCapture> {
  const smtp = await startSmtpCapture(options);
  later(() => smtp.close());
  return smtp;
}

/** A Sesame, an SMTP server capturing what it receives, and the worker's log lines: where most tests here start. */
async function deliverySetup(clock?: TestClock, smtpOptions: SmtpCaptureOptions = {}) {
  const sesame = await sesameWith(clock);
  const smtp = await smtpServer(smtpOptions);
  return { sesame, smtp, logs: captureLogs() };
}

function smtpTransport(port: number): MailTransport {
  const transport = createSmtpTransport({ url: `smtp://127.0.0.1:${port}`, from: 'Acme <no-reply@acme.test>', connectionTimeoutMs: 2_000 });
  later(() => transport.close());
  return transport;
}

function worker(sesame: TestSesame, transport: MailTransport, logs: CapturedLogs, extra: Partial<OutboxWorkerOptions> = {}) {
  return createOutboxWorker({ store: sesame.store, sealer: sesame.sealer, transport, logger: logs, ownerId: 'worker-a', ...extra });
}

function expectNoSecretsLogged(logs: CapturedLogs, mails: readonly CapturedMail[]): void {
  const secrets = secretsIn(mails.map((mail) => mail.text ?? ''));
  expect(secrets.length).toBeGreaterThan(0);
  const text = logs.text();
  for (const secret of secrets) expect(text).not.toContain(secret);
  expect(text).not.toContain('link_token');
}

describe('outbox worker', () => {
  it('keeps at most `concurrency` transport sends in flight, each once, its attempt recorded first', async () => {
    const sesame = await sesameWith();
    const logs = captureLogs();
    const total = 12;
    const requestOf = new Map<string, string>();
    for (let i = 0; i < total; i += 1) requestOf.set(`user${i}@example.com`, await sesame.send(`user${i}@example.com`));
    let inFlight = 0;
    let maxInFlight = 0;
    const order: string[] = [];
    const attemptRecorded: boolean[] = [];
    const transport: MailTransport = {
      kind: 'smtp',
      async send(email) {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        order.push(email.to);
        // The attempt is already on the timeline when the transport is called.
        const events = await sesame.store.deliveryTimeline(requestOf.get(email.to)!);
        attemptRecorded.push(events.some((event) => event.kind === 'attempt'));
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight -= 1;
        return { status: 'sent', reply: '250 OK' };
      },
      verify: () => Promise.resolve({ ok: true, detail: 'test' }),
      close: () => Promise.resolve(),
    };
    const report = await worker(sesame, transport, logs, { batchSize: total, concurrency: 3 }).runOnce();
    expect(report).toMatchObject({ claimed: total, sent: total });
    expect(maxInFlight).toBe(3);
    expect(attemptRecorded).toEqual(new Array<boolean>(total).fill(true));
    expect([...order].sort()).toEqual([...requestOf.keys()].sort());
    expect(await sesame.store.outboxDepth()).toBe(0);
  });

  it('LINK, OTP and LINK_OTP emails carry only what they should', async () => {
    const { sesame, smtp, logs } = await deliverySetup();
    const expected = { 'link@example.com': 'LINK', 'otp@example.com': 'OTP', 'both@example.com': 'LINK_OTP' } as const;
    for (const [address, type] of Object.entries(expected)) {
      sesame.setType(type);
      await sesame.send(address);
    }
    await worker(sesame, smtpTransport(smtp.port), logs).runOnce();
    const mails = await smtp.waitForCount(3);
    for (const mail of mails) {
      const type = expected[mail.envelopeTo[0] as keyof typeof expected];
      const text = mail.text ?? '';
      const html = mail.html || '';
      const { otp, linkToken } = credentialsIn(text);
      expect(otp !== null, `${type} code in text`).toBe(type !== 'LINK');
      expect(linkToken !== null, `${type} link in text`).toBe(type !== 'OTP');
      expect(html.includes('link_token='), `${type} link in html`).toBe(type !== 'OTP');
      expect(/\bcode\b/i.test(html), `${type} code wording in html`).toBe(type !== 'LINK');
      expect(/monospace/.test(html), `${type} code block in html`).toBe(type !== 'LINK');
      if (otp) expect(html).toContain(`>${otp}</div>`);
    }
    expectNoSecretsLogged(logs, mails);
  });

  it('escapes template variables: <script> arrives as text', async () => {
    const sesame = await sesameWith();
    const smtp = await smtpServer();
    await sesame.store.putSetting(BRAND_SETTING_KEY, JSON.stringify({ appName: 'Acme', accentColor: '#0f766e' }), Date.now());
    await sesame.store.putSetting(
      TEMPLATES_SETTING_KEY,
      JSON.stringify({
        SIGNIN: {
          subject: 'Welcome to {{team}} on {{app_name}}',
          html: '<p>Team: {{team}}</p><p>{{otp}}</p>',
          text: 'Team: {{team}} code: {{otp}}',
        },
      }),
      Date.now(),
    );
    await sesame.send('jane@example.com', { templateVariables: { team: '<script>alert("x")</script>' } });
    const logs = captureLogs();
    await worker(sesame, smtpTransport(smtp.port), logs, { content: settingsContentSource(sesame.store) }).runOnce();
    const [mail] = await smtp.waitForCount(1);
    expect(mail!.subject).toBe('Welcome to <script>alert("x")</script> on Acme');
    expect(mail!.html).toContain('<p>Team: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>');
    expect(mail!.html).not.toContain('<script>');
    expect(mail!.text).toContain('Team: <script>alert("x")</script>');
  });

  it('SMTP down at send time, up 30 s later: the message arrives once', async () => {
    const clock = new TestClock();
    const sesame = await sesameWith(clock);
    const port = await freePort();
    const logs = captureLogs();
    const outbox = worker(sesame, smtpTransport(port), logs, { clock, random: () => 0 });
    const id = await sesame.send('jane@example.com');

    expect(await outbox.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
    clock.advance(9_999);
    expect(await outbox.runOnce()).toMatchObject({ claimed: 0 }); // not due before 10 s
    clock.advance(1);
    expect(await outbox.runOnce()).toMatchObject({ claimed: 1, retried: 1 }); // still down; next in 20 s
    clock.advance(20_000);
    const smtp = await smtpServer({ port }); // 30 s after the send
    expect(await outbox.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
    clock.advance(3_600_000);
    expect(await outbox.runOnce()).toMatchObject({ claimed: 0 });
    expect(await smtp.waitForCount(1)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(smtp.mails).toHaveLength(1);

    const timeline = await sesame.store.deliveryTimeline(id);
    expect(timeline.map((event) => event.kind)).toEqual([
      'queued',
      'attempt',
      'retry_scheduled',
      'attempt',
      'retry_scheduled',
      'attempt',
      'sent',
    ]);
    expect(timeline[2]!.detail).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/);
    expect(timeline.at(-1)).toMatchObject({ attempt: 3, detail: expect.stringMatching(/^250 /) });
    expect(await sesame.store.outboxDepth()).toBe(0);
    expectNoSecretsLogged(logs, smtp.mails);
  });

  it('a permanent 550 marks the message failed after one attempt, with the reply on the timeline', async () => {
    const clock = new TestClock();
    const { sesame, smtp, logs } = await deliverySetup(clock, { rejectRecipient: { code: 550, message: '5.1.1 No such mailbox' } });
    const outbox = worker(sesame, smtpTransport(smtp.port), logs, { clock });
    const id = await sesame.send('nobody@example.com');
    expect(await outbox.runOnce()).toMatchObject({ claimed: 1, failed: 1 });
    clock.advance(86_400_000);
    expect(await outbox.runOnce()).toMatchObject({ claimed: 0 });
    const timeline = await sesame.store.deliveryTimeline(id);
    expect(timeline.map((event) => event.kind)).toEqual(['queued', 'attempt', 'failed']);
    expect(timeline.at(-1)).toMatchObject({ attempt: 1, detail: expect.stringMatching(/^550 5\.1\.1 No such mailbox/) });
    expect(await sesame.store.outboxDepth()).toBe(0);
    expect(logs.text()).toContain('550 5.1.1 No such mailbox');
  });

  it('does not send a code whose auth request has expired, and gives up when a retry would come too late', async () => {
    const clock = new TestClock();
    const sesame = await sesameWith(clock);
    const port = await freePort();
    const logs = captureLogs();
    const outbox = worker(sesame, smtpTransport(port), logs, { clock, random: () => 0, retry: { initialDelayMs: 50_000 } });
    const expired = await sesame.send('late@example.com', { expiresIn: 60 });
    clock.advance(60_000);
    expect(await outbox.runOnce()).toMatchObject({ claimed: 1, failed: 1 });
    expect((await sesame.store.deliveryTimeline(expired)).map((event) => [event.kind, event.detail])).toEqual([
      ['queued', null],
      ['failed', 'not sent: the auth request expired before delivery'],
    ]);

    const soon = await sesame.send('soon@example.com', { expiresIn: 60 });
    expect(await outbox.runOnce()).toMatchObject({ claimed: 1, retried: 1 }); // retry at +50 s, before expiry
    clock.advance(50_000);
    expect(await outbox.runOnce()).toMatchObject({ claimed: 1, failed: 1 }); // next retry (+100 s) is past expiry
    expect((await sesame.store.deliveryTimeline(soon)).at(-1)?.detail).toMatch(/^gave up: the auth request expires before another attempt/);
  });

  it('aborts a send that would outlive its lease and retries it later', async () => {
    const clock = new TestClock();
    // A server that stalls after the data.
    const { sesame, smtp, logs } = await deliverySetup(clock, { replyDelayMs: 3_000 });
    const outbox = worker(sesame, smtpTransport(smtp.port), logs, { clock, leaseMs: 1_000, sendBudgetMs: 300, random: () => 0 });
    const id = await sesame.send('stalled@example.com');
    const started = Date.now();
    expect(await outbox.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await sesame.store.deliveryTimeline(id)).at(-1)).toMatchObject({
      kind: 'retry_scheduled',
      detail: expect.stringMatching(/abort/i),
    });
  });

  it('sends that start together share one budget signal; it still ends within the budget, and later sends get a new one', async () => {
    const sesame = await sesameWith();
    const signals: AbortSignal[] = [];
    const recording: MailTransport = {
      kind: 'smtp',
      send(_email, options) {
        if (options?.signal) signals.push(options.signal);
        return Promise.resolve({ status: 'sent', reply: '250 ok' });
      },
      verify: () => Promise.resolve({ ok: true, detail: 'recording' }),
      close: () => Promise.resolve(),
    };
    for (let i = 0; i < 3; i += 1) await sesame.send(`budget${i}@example.com`);
    // A 900 ms budget: signals are shared for at most 90 ms.
    const outbox = worker(sesame, recording, captureLogs(), { leaseMs: 2_000, sendBudgetMs: 900 });
    expect(await outbox.runOnce()).toMatchObject({ sent: 3 });
    expect(signals).toHaveLength(3);
    expect(new Set(signals).size).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 950));
    expect(signals[0]!.aborted).toBe(true);
    await sesame.send('budget-later@example.com');
    expect(await outbox.runOnce()).toMatchObject({ sent: 1 });
    expect(signals[3]).not.toBe(signals[0]);
    expect(signals[3]!.aborted).toBe(false);
  });

  it('two workers on one database deliver 200 messages exactly once each', async () => {
    const sesame = await sesameWith();
    const second = await openTestSesame({ dir: sesame.dir }); // a second connection to the same file
    later(() => second.close());
    const smtp = await smtpServer({ replyDelayMs: 1 });
    const total = 200;
    for (let i = 0; i < total; i += 1) await sesame.send(`user${i}@example.com`);

    const logs = captureLogs();
    const transport = smtpTransport(smtp.port);
    const workers = [
      worker(sesame, transport, logs, { ownerId: 'worker-a', batchSize: 10 }),
      createOutboxWorker({
        store: second.store,
        sealer: second.sealer,
        transport: smtpTransport(smtp.port),
        logger: logs,
        ownerId: 'worker-b',
        batchSize: 10,
      }),
    ];
    const sentBy = await Promise.all(
      workers.map(async (outbox) => {
        let sent = 0;
        for (let round = 0; round < 100; round += 1) {
          const report = await outbox.runOnce();
          sent += report.sent;
          if (report.claimed === 0 && (await sesame.store.outboxDepth()) === 0) break;
        }
        return sent;
      }),
    );
    await smtp.waitForCount(total, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const recipients = smtp.mails.map((mail) => mail.envelopeTo[0]);
    expect(recipients).toHaveLength(total);
    expect(new Set(recipients).size).toBe(total);
    expect(sentBy[0]! + sentBy[1]!).toBe(total);
    expect(sentBy[0]).toBeGreaterThan(0);
    expect(sentBy[1]).toBeGreaterThan(0);
    expect(await sesame.store.outboxDepth()).toBe(0);
    expectNoSecretsLogged(logs, smtp.mails);
  });

  it('start() picks up queued rows at once, nudge() delivers within milliseconds, stop() waits for the batch', async () => {
    const { sesame, smtp, logs } = await deliverySetup();
    await sesame.send('queued-before-start@example.com');
    const outbox = worker(sesame, smtpTransport(smtp.port), logs, { pollIntervalMs: 60_000 });
    outbox.start();
    later(() => outbox.stop());
    await smtp.waitForCount(1, 5_000);

    await sesame.send('nudged@example.com');
    const sentAt = Date.now();
    outbox.nudge();
    await smtp.waitForCount(2, 5_000);
    expect(Date.now() - sentAt).toBeLessThan(1_000); // the poll interval is a minute
    await outbox.stop();
    expect(await sesame.store.outboxDepth()).toBe(0);
    expectNoSecretsLogged(logs, smtp.mails);
  });

  it('takes emails straight from the engine (no claim, no unsealing), up to maxAdopted; stop() delivers those waiting', async () => {
    const { sesame, smtp, logs } = await deliverySetup();
    let opened = 0;
    const countingSealer: PayloadSealer = {
      seal: (associatedData, plaintext) => sesame.sealer.seal(associatedData, plaintext),
      open: (associatedData, sealed) => {
        opened += 1;
        return sesame.sealer.open(associatedData, sealed);
      },
    };
    const outbox = worker(sesame, smtpTransport(smtp.port), logs, { sealer: countingSealer, pollIntervalMs: 60_000, maxAdopted: 3 });
    later(() => outbox.stop());
    const engine = sesame.handingOverTo(outbox.handoff);
    const send = async (email: string) => (await engine.send({ email, magiclinkAuthUri: REDIRECT }, CALLER)).authRequestId;

    // Not running: nothing is leased, the email waits for a claim.
    expect(outbox.handoff.lease(Date.now())).toBeNull();
    await send('before-start@example.com');
    outbox.start();
    await smtp.waitForCount(1, 5_000);
    expect(opened).toBe(1);

    const handed = [await send('a@example.com'), await send('b@example.com'), await send('c@example.com')];
    // Three waiting is the most: the next is left unleased for a claim.
    expect(outbox.handoff.lease(Date.now())).toBeNull();
    const unleased = await send('d@example.com');
    // No nudge and a one-minute poll: only stop() sends the three handed over, and claims nothing.
    await outbox.stop();
    expect(
      smtp.mails
        .map((mail) => mail.envelopeTo[0])
        .slice(1)
        .sort(),
    ).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
    expect(opened).toBe(1);
    for (const id of handed)
      expect((await sesame.store.deliveryTimeline(id)).map((event) => event.kind)).toEqual(['queued', 'attempt', 'sent']);
    expect((await sesame.store.deliveryTimeline(unleased)).map((event) => event.kind)).toEqual(['queued']);
    expect(await sesame.store.outboxDepth()).toBe(1);
    expect(outbox.handoff.lease(Date.now())).toBeNull();
    // The codes that went out are the ones the engine issued: they verify.
    const [, first] = smtp.mails;
    const { otp } = credentialsIn(first!.text ?? '');
    const id = handed[['a@example.com', 'b@example.com', 'c@example.com'].indexOf(first!.envelopeTo[0]!)]!;
    await expect(engine.verify({ code: otp, authRequestId: id }, CALLER)).resolves.toMatchObject({ authRequestId: id });
    expectNoSecretsLogged(logs, smtp.mails);
  });

  it('never sends an email a resend superseded while it waited, claimed or handed over', async () => {
    const { sesame, smtp, logs } = await deliverySetup();
    const outbox = worker(sesame, smtpTransport(smtp.port), logs, { pollIntervalMs: 60_000 });
    later(() => outbox.stop());
    outbox.start();
    const engine = sesame.handingOverTo(outbox.handoff);
    const { authRequestId: id } = await engine.send({ email: 'ada@example.com', magiclinkAuthUri: REDIRECT }, CALLER);
    // Handed over and waiting (no nudge): the resend supersedes it before its batch.
    await engine.resend({ authRequestId: id }, CALLER);
    await outbox.stop();
    expect(smtp.mails).toHaveLength(1);
    const { otp } = credentialsIn(smtp.mails[0]!.text ?? '');
    await expect(engine.verify({ code: otp, authRequestId: id }, CALLER)).resolves.toMatchObject({ authRequestId: id });
    const timeline = await sesame.store.deliveryTimeline(id);
    const [first] = timeline;
    expect(timeline.map((event) => `${event.outboxId === first!.outboxId ? 'old' : 'new'}:${event.kind}`)).toEqual([
      'old:queued',
      'old:superseded',
      'new:queued',
      'new:attempt',
      'new:sent',
    ]);
    expect(logs.text()).toContain('superseded by a resend');
  });
});
