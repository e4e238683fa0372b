import { describe, expect, it } from 'vitest';
import { classifySmtpError, createSmtpTransport, type MailTransport, type OutgoingEmail } from '../src/index.js';
import { freePort, startSmtpCapture, type SmtpCapture } from '@sesame/testkit';
import { cleanupAfterEach } from './helpers/cleanup.js';

const email: OutgoingEmail = {
  outboxId: 'o1',
  to: 'jane@example.com',
  fromName: null,
  fallbackFromName: 'Acme',
  subject: 'Hello',
  text: 'plain body',
  html: '<p>html body</p>',
};

const cleanup = cleanupAfterEach();

function track(server: SmtpCapture): SmtpCapture {
  cleanup.push(() => server.close());
  return server;
}
function trackTransport(transport: MailTransport): MailTransport {
  cleanup.push(() => transport.close());
  return transport;
}

describe('SMTP transport', () => {
  it('delivers multipart mail and returns the server reply', async () => {
    const smtp = track(await startSmtpCapture({ keepRaw: true }));
    const transport = trackTransport(createSmtpTransport({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'no-reply@acme.test' }));
    const result = await transport.send(email);
    expect(result.status).toBe('sent');
    expect(result.reply).toMatch(/^250 /);
    const [mail] = await smtp.waitForCount(1);
    expect(mail!.from?.text).toBe('"Acme" <no-reply@acme.test>');
    expect(mail!.envelopeTo).toEqual(['jane@example.com']);
    expect(mail!.text?.trim()).toBe('plain body');
    expect(mail!.html).toBe('<p>html body</p>');
    expect(mail!.raw).toMatch(/multipart\/alternative/);
  });

  it('authenticates with credentials from the URL (percent-encoded) over smtps://, without leaking them', async () => {
    const smtp = track(await startSmtpCapture({ secure: true, auth: { user: 'mailer', pass: 'p@ss:w/rd' } }));
    const url = `smtps://mailer:${encodeURIComponent('p@ss:w/rd')}@127.0.0.1:${smtp.port}?tls.rejectUnauthorized=false`;
    const transport = trackTransport(createSmtpTransport({ url, from: 'Acme Mail <no-reply@acme.test>' }));
    expect(await transport.send({ ...email, fallbackFromName: 'Ignored' })).toMatchObject({ status: 'sent' });
    const [mail] = await smtp.waitForCount(1);
    expect(mail!.from?.text).toBe('"Acme Mail" <no-reply@acme.test>');

    const wrong = trackTransport(createSmtpTransport({ url: url.replace('mailer:', 'mailer2:'), from: 'no-reply@acme.test' }));
    const refused = await wrong.send(email);
    // A bad login is the operator's to fix: retry, do not fail the user's email for good.
    expect(refused.status).toBe('transient');
    expect(refused.reply).toMatch(/535/);
    expect(refused.reply).not.toContain('p@ss');
  });

  it('upgrades with STARTTLS when the server offers it', async () => {
    const smtp = track(await startSmtpCapture({ starttls: true, auth: { user: 'mailer', pass: 'secret-pass' } }));
    const url = `smtp://mailer:secret-pass@127.0.0.1:${smtp.port}?tls.rejectUnauthorized=false&requireTLS=true`;
    expect(await trackTransport(createSmtpTransport({ url, from: 'no-reply@acme.test' })).send(email)).toMatchObject({ status: 'sent' });
    const [mail] = await smtp.waitForCount(1);
    expect(mail!.secure).toBe(true);
  });

  it('classifies 550 as permanent and 451 as transient', async () => {
    const rejecting = track(await startSmtpCapture({ rejectRecipient: { code: 550, message: 'No such user here' } }));
    const permanent = await trackTransport(createSmtpTransport({ url: `smtp://127.0.0.1:${rejecting.port}`, from: 'a@acme.test' })).send(
      email,
    );
    expect(permanent).toEqual({ status: 'permanent', reply: expect.stringMatching(/^550 No such user here/) });

    const greylisting = track(await startSmtpCapture({ rejectRecipient: { code: 451, message: 'Try again later' } }));
    const transient = await trackTransport(createSmtpTransport({ url: `smtp://127.0.0.1:${greylisting.port}`, from: 'a@acme.test' })).send(
      email,
    );
    expect(transient).toEqual({ status: 'transient', reply: expect.stringMatching(/^451 Try again later/) });
  });

  it('treats a refused connection as transient', async () => {
    const port = await freePort();
    const result = await trackTransport(createSmtpTransport({ url: `smtp://127.0.0.1:${port}`, from: 'a@acme.test' })).send(email);
    expect(result.status).toBe('transient');
    expect(result.reply).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/);
  });

  it('refuses unusable configuration with a clear message', () => {
    expect(() => createSmtpTransport({ url: 'http://x', from: 'a@b.c' })).toThrow(/smtp:\/\/ or smtps:\/\//);
    expect(() => createSmtpTransport({ url: 'smtp://127.0.0.1:25', from: 'not an address' })).toThrow(/SESAME_MAIL_FROM/);
  });

  it('classifies errors without an SMTP reply as transient', () => {
    expect(classifySmtpError(Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT' }))).toEqual({
      status: 'transient',
      reply: 'ETIMEDOUT: Greeting never received',
    });
    expect(classifySmtpError({ responseCode: 503, response: '503 Bad sequence' }).status).toBe('transient');
    expect(classifySmtpError({ responseCode: 554, response: '554 Rejected' }).status).toBe('permanent');
  });
});
