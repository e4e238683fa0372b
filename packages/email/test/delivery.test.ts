import { describe, expect, it } from 'vitest';
import { createOutboxWorker, createSmtpTransport, type MailTransport } from '../src/index.js';
import { captureLogs } from './helpers/logs.js';
import { CALLER, credentialsIn, openTestSesame, REDIRECT, type TestSesame } from './helpers/sesame.js';
import { startSmtpCapture, type SmtpCapture } from '@sesame/testkit';
import { cleanupAfterEach } from './helpers/cleanup.js';

const cleanup = cleanupAfterEach();

async function setup(): Promise<{ sesame: TestSesame; smtp: SmtpCapture; transport: MailTransport }> {
  const sesame = await openTestSesame();
  cleanup.push(() => sesame.close());
  const smtp = await startSmtpCapture({ keepRaw: true });
  cleanup.push(() => smtp.close());
  const transport = createSmtpTransport({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'Acme <no-reply@acme.test>' });
  cleanup.push(() => transport.close());
  return { sesame, smtp, transport };
}

describe('outbox delivery over SMTP', () => {
  it('a send produces one message with the right recipient, subject, a working code and link, text and HTML', async () => {
    const { sesame, smtp, transport } = await setup();
    const logs = captureLogs();
    const worker = createOutboxWorker({ store: sesame.store, sealer: sesame.sealer, transport, logger: logs, ownerId: 'w1' });

    const first = await sesame.send('Jane.Doe@example.com');
    const second = await sesame.send('john@example.com');
    expect(await worker.runOnce()).toMatchObject({ claimed: 2, sent: 2 });
    const mails = await smtp.waitForCount(2);
    expect(mails).toHaveLength(2);

    const mail = mails.find((received) => received.envelopeTo[0] === 'Jane.Doe@example.com');
    const other = mails.find((received) => received.envelopeTo[0] === 'john@example.com');
    expect(mail!.envelopeTo).toEqual(['Jane.Doe@example.com']);
    expect(mail!.to && 'text' in mail!.to ? mail!.to.text : '').toBe('Jane.Doe@example.com');
    expect(mail!.subject).toBe('Sign in to Sesame');
    expect(mail!.raw).toMatch(/multipart\/alternative/);
    const fromText = credentialsIn(mail!.text ?? '');
    expect(fromText.otp).toMatch(/^\d{6}$/);
    expect(fromText.link?.startsWith(`${REDIRECT}?link_token=`)).toBe(true);
    const html = mail!.html || '';
    expect(html).toContain(fromText.otp!);
    expect(html).toContain(`href="${fromText.link!}"`);

    // The code works for the first request; the link of the second works too.
    await expect(sesame.engine.verify({ code: fromText.otp, authRequestId: first }, CALLER)).resolves.toMatchObject({
      email: 'Jane.Doe@example.com',
    });
    const secondCreds = credentialsIn(other!.text ?? '');
    await expect(sesame.engine.verify({ linkToken: secondCreds.linkToken, authRequestId: second }, CALLER)).resolves.toMatchObject({
      authRequestId: second,
    });

    const timeline = await sesame.store.deliveryTimeline(first);
    expect(timeline.map((event) => event.kind)).toEqual(['queued', 'attempt', 'sent']);
    expect(timeline.at(-1)?.detail).toMatch(/^250 /);

    for (const secret of [fromText.otp!, fromText.linkToken!, secondCreds.otp!, secondCreds.linkToken!])
      expect(logs.text()).not.toContain(secret);
    expect(logs.lines.length).toBeGreaterThan(0);
  });
});
