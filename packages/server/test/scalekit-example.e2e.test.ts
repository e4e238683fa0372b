/**
 * examples/scalekit-sdk/passwordless-calls.mjs — the passwordless calls through Scalekit's SDK —
 * runs green against a real `sesame dev` (dev inbox, development client), exactly as the
 * example's README says to run it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, startSesameProcess, type SesameProcess } from '@sesame/testkit';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
let child: SesameProcess | undefined;
let dir: string | undefined;

afterAll(async () => {
  await child?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('the Scalekit SDK example runs against sesame dev', async () => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-example-'));
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', SESAME_LOG_LEVEL: 'warn' };
  delete env.SESAME_SMTP_URL;
  child = await startSesameProcess({ env, cwd: dir, command: 'dev', readyText: 'SCALEKIT_CLIENT_SECRET=' });
  const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'examples/scalekit-sdk/passwordless-calls.mjs'), 'ada@example.com'], {
    cwd: dir,
    env: { ...process.env, SCALEKIT_ENVIRONMENT_URL: child.url },
    timeout: 60_000,
  });
  expect(stdout).toMatch(/^sent: [0-9A-HJKMNP-TV-Z]{10}[A-Za-z0-9_-]{22} expires in 300 s$/m);
  expect(stdout).toContain('verified by code: ada.code@example.com (state from-the-example)');
  expect(stdout).toContain('verified by link: ada.link@example.com');
  expect(stdout).toContain('verified after resend: ada.resend@example.com');
});
