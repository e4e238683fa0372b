import { describe, expect, it } from 'vitest';
import { createMailTransport, createOutboxWorker, devInboxStartupMessage } from '../src/index.js';
import { captureLogs, secretsIn } from './helpers/logs.js';
import { CALLER, credentialsIn, openTestSesame, type TestSesame } from './helpers/sesame.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const cleanup = cleanupAfterEach();

async function sesame(): Promise<TestSesame> {
  const opened = await openTestSesame();
  cleanup.push(() => opened.close());
  return opened;
}

describe('dev inbox', () => {
  it('without an SMTP URL, says so at start-up and stores mail readable newest first', async () => {
    const { store, sealer, send, engine } = await sesame();
    const logs = captureLogs();
    const transport = createMailTransport({ env: { SESAME_MAIL_FROM: 'Acme <no-reply@acme.test>' }, store, logger: logs });
    expect(transport.kind).toBe('dev-inbox');
    expect(logs.lines[0]).toContain(devInboxStartupMessage());
    expect(devInboxStartupMessage('http://127.0.0.1:8080/')).toBe(
      'SESAME_SMTP_URL is not set: emails are not delivered, they go to the dev inbox (http://127.0.0.1:8080/dev/inbox, JSON at http://127.0.0.1:8080/admin/api/dev-inbox).',
    );

    const worker = createOutboxWorker({ store, sealer, transport, logger: logs, ownerId: 'dev' });
    const firstId = await send('first@example.com');
    await worker.runOnce();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await send('second@example.com');
    await worker.runOnce();

    const inbox = await store.listDevInbox({ limit: 10 });
    expect(inbox.map((message) => message.to)).toEqual(['second@example.com', 'first@example.com']);
    const first = await store.getDevInboxMessage(inbox[1]!.id);
    expect(first).toMatchObject({ from: '"Acme" <no-reply@acme.test>', subject: 'Sign in to Sesame' });
    expect(first!.outboxId).not.toBeNull();
    expect(first!.html).toContain('<!DOCTYPE html>');
    const { otp } = credentialsIn(first!.text);
    await expect(engine.verify({ code: otp, authRequestId: firstId }, CALLER)).resolves.toMatchObject({ email: 'first@example.com' });

    const timeline = await store.deliveryTimeline(firstId);
    expect(timeline.at(-1)).toMatchObject({ kind: 'sent', detail: expect.stringMatching(/^stored in the dev inbox as /) });
    for (const secret of secretsIn(inbox.map((message) => message.text))) expect(logs.text()).not.toContain(secret);
  });

  it('with an SMTP URL, requires SESAME_MAIL_FROM and never logs the credentials', async () => {
    const { store } = await sesame();
    const logs = captureLogs();
    expect(() => createMailTransport({ env: { SESAME_SMTP_URL: 'smtp://127.0.0.1:2525' }, store, logger: logs })).toThrow(
      /SESAME_MAIL_FROM/,
    );
    const transport = createMailTransport({
      env: { SESAME_SMTP_URL: 'smtps://mailer:hunter2-secret@smtp.example.com:465', SESAME_MAIL_FROM: 'no-reply@acme.test' },
      store,
      logger: logs,
    });
    cleanup.push(() => transport.close());
    expect(transport.kind).toBe('smtp');
    expect(logs.text()).toContain('smtps://smtp.example.com:465');
    expect(logs.text()).not.toContain('hunter2');
    expect(logs.text()).not.toContain('mailer');
  });
});
