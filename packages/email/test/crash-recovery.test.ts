import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { secretsIn } from './helpers/logs.js';
import { openTestSesame } from './helpers/sesame.js';
import { startSmtpServer } from './helpers/smtp-server.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..');
const childScript = join(here, 'fixtures', 'worker-child.mjs');

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Child {
  readonly process: ChildProcess;
  readonly output: string[];
  exited: Promise<void>;
}

async function startChild(dbFile: string, port: number, ownerId: string): Promise<Child> {
  const child = spawn(process.execPath, [childScript, dbFile, String(port), ownerId], {
    cwd: packageDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => output.push(chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not start: ${output.join('')}`)), 10_000);
    child.stdout.on('data', (chunk: string) => {
      output.push(chunk);
      if (output.join('').includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code ?? 'signal'}): ${output.join('')}`)));
  });
  return { process: child, output, exited };
}

// The child runs the compiled packages (dist): `npm test` builds every package before vitest
// starts. Rebuilding here would rewrite dist files that other test files are loading.
describe('crash recovery', () => {
  it('kill -9 mid-batch: after a restart every message is delivered; only the in-flight one may repeat', async () => {
    const sesame = await openTestSesame();
    cleanup.push(() => sesame.close());
    const smtp = await startSmtpServer({ delayMs: 150 });
    cleanup.push(() => smtp.close());
    const total = 20;
    for (let i = 0; i < total; i += 1) await sesame.send(`user${i}@example.com`);

    const first = await startChild(sesame.dbFile, smtp.port, 'crashing-worker');
    // Kill while the 5th message (the last of the first batch) is in flight: its data reached the
    // server, whose reply is held back by the delay, so the worker never learns it was accepted.
    await smtp.waitFor(4, 15_000);
    for (let i = 0; i < 200 && smtp.dataStarted() < 5; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(smtp.dataStarted()).toBe(5);
    first.process.kill('SIGKILL');
    await first.exited;
    expect(first.process.signalCode).toBe('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300)); // the held-back message lands at the server
    const beforeRestart = smtp.received.length;
    expect(beforeRestart).toBeLessThan(total);
    expect(await sesame.store.outboxDepth()).toBeGreaterThan(0);

    const second = await startChild(sesame.dbFile, smtp.port, 'restarted-worker');
    const deadline = Date.now() + 30_000;
    while ((await sesame.store.outboxDepth()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await sesame.store.outboxDepth()).toBe(0);
    second.process.kill('SIGTERM');
    await second.exited;

    const counts = new Map<string, number>();
    for (const mail of smtp.received) counts.set(mail.envelopeTo[0]!, (counts.get(mail.envelopeTo[0]!) ?? 0) + 1);
    expect(counts.size).toBe(total); // none lost
    const duplicates = [...counts.values()].reduce((sum, count) => sum + count - 1, 0);
    // The child sends one message at a time: at most the one in flight at the kill repeats.
    expect(duplicates).toBeLessThanOrEqual(1);

    const logs = [...first.output, ...second.output].join('');
    expect(logs).toContain('email sent');
    const secrets = secretsIn(smtp.received.map((mail) => mail.parsed.text ?? ''));
    expect(secrets.length).toBeGreaterThanOrEqual(total * 2);
    for (const secret of secrets) expect(logs).not.toContain(secret);
  });
});
