import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { secretsIn } from './helpers/logs.js';
import { openTestSesame } from './helpers/sesame.js';
import { startProcess, startSmtpCapture, waitForOutput, type RunningProcess } from '@sesame/testkit';
import { cleanupAfterEach } from './helpers/cleanup.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..');
const childScript = join(here, 'fixtures', 'worker-child.mjs');

const cleanup = cleanupAfterEach();

async function startChild(dbFile: string, port: number, ownerId: string): Promise<RunningProcess> {
  const child = startProcess(process.execPath, [childScript, dbFile, String(port), ownerId], { cwd: packageDir, env: process.env });
  cleanup.push(() => child.kill());
  await waitForOutput(child, 'ready\n', 10_000, 'the worker child');
  return child;
}

// The child runs the compiled packages (dist): `npm test` builds every package before vitest
// starts. Rebuilding here would rewrite dist files that other test files are loading.
describe('crash recovery', () => {
  it('kill -9 mid-batch: after a restart every message is delivered; only the in-flight one may repeat', async () => {
    const sesame = await openTestSesame();
    cleanup.push(() => sesame.close());
    const smtp = await startSmtpCapture({ replyDelayMs: 150 });
    cleanup.push(() => smtp.close());
    const total = 20;
    for (let i = 0; i < total; i += 1) await sesame.send(`user${i}@example.com`);

    const first = await startChild(sesame.dbFile, smtp.port, 'crashing-worker');
    // Kill while the 5th message (the last of the first batch) is in flight: its data reached the
    // server, whose reply is held back by the delay, so the worker never learns it was accepted.
    await smtp.waitForCount(4, 15_000);
    for (let i = 0; i < 200 && smtp.dataStarted() < 5; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(smtp.dataStarted()).toBe(5);
    await first.kill('SIGKILL');
    expect(first.child.signalCode).toBe('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300)); // the held-back message lands at the server
    const beforeRestart = smtp.mails.length;
    expect(beforeRestart).toBeLessThan(total);
    expect(await sesame.store.outboxDepth()).toBeGreaterThan(0);

    const second = await startChild(sesame.dbFile, smtp.port, 'restarted-worker');
    const deadline = Date.now() + 30_000;
    while ((await sesame.store.outboxDepth()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await sesame.store.outboxDepth()).toBe(0);
    await second.kill('SIGTERM');

    const counts = new Map<string, number>();
    for (const mail of smtp.mails) counts.set(mail.envelopeTo[0]!, (counts.get(mail.envelopeTo[0]!) ?? 0) + 1);
    expect(counts.size).toBe(total); // none lost
    const duplicates = [...counts.values()].reduce((sum, count) => sum + count - 1, 0);
    // The child sends one message at a time: at most the one in flight at the kill repeats.
    expect(duplicates).toBeLessThanOrEqual(1);

    const logs = first.output + second.output;
    expect(logs).toContain('email sent');
    const secrets = secretsIn(smtp.mails.map((mail) => mail.text ?? ''));
    expect(secrets.length).toBeGreaterThanOrEqual(total * 2);
    for (const secret of secrets) expect(logs).not.toContain(secret);
  });
});
