/**
 * examples/scalekit-sdk/passwordless-calls.mjs — the passwordless calls through Scalekit's SDK —
 * runs green against a real `sesame dev` (dev inbox, development client), exactly as the
 * example's README says to run it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@sesame/testkit';
import { afterAll, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const run = promisify(execFile);
let child: ChildProcess | undefined;
let dir: string | undefined;

afterAll(() => {
  if (child?.pid !== undefined && child.exitCode === null) child.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('the Scalekit SDK example runs against sesame dev', async () => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-example-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', PORT: String(port), SESAME_LOG_LEVEL: 'warn' };
  delete env.SESAME_SMTP_URL;
  child = spawn(process.execPath, [join(ROOT, 'bin/sesame.js'), 'dev'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((ready, fail) => {
    let stderr = '';
    const timer = setTimeout(() => fail(new Error(`no start banner: ${stderr}`)), 30_000);
    child!.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('SCALEKIT_CLIENT_SECRET=')) {
        clearTimeout(timer);
        ready();
      }
    });
    child!.once('exit', () => fail(new Error(`exited early: ${stderr}`)));
  });
  const { stdout } = await run(process.execPath, [join(ROOT, 'examples/scalekit-sdk/passwordless-calls.mjs'), 'ada@example.com'], {
    cwd: dir,
    env: { ...process.env, SCALEKIT_ENVIRONMENT_URL: `http://127.0.0.1:${port}` },
    timeout: 60_000,
  });
  expect(stdout).toMatch(/^sent: [0-9A-HJKMNP-TV-Z]{10}[A-Za-z0-9_-]{22} expires in 300 s$/m);
  expect(stdout).toContain('verified by code: ada.code@example.com (state from-the-example)');
  expect(stdout).toContain('verified by link: ada.link@example.com');
  expect(stdout).toContain('verified after resend: ada.resend@example.com');
});
