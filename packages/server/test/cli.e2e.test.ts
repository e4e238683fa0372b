/**
 * The real thing end to end: `sesame clients create --json` and `sesame start` as child
 * processes (the root `bin` launcher), a real SMTP server on 127.0.0.1 receiving the mail,
 * parsed with mailparser. Token → send → mail → verify by code → verify again → send limit.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startSmtpCapture, type SmtpCapture } from '@sesame/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'bin/sesame.js');
const run = promisify(execFile);

let dataDir: string;
let smtp: SmtpCapture;
let child: ChildProcess | undefined;

beforeAll(async () => {
  // The launcher runs the built server; make sure it is current (fast when nothing changed).
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'packages/server'], { cwd: ROOT });
  dataDir = mkdtempSync(join(tmpdir(), 'sesame-e2e-'));
  smtp = await startSmtpCapture();
});

afterAll(async () => {
  if (child?.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
  await smtp.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('sesame CLI end to end', () => {
  it('creates a client, starts, delivers over SMTP, verifies once, and limits sends', async () => {
    const env = {
      ...process.env,
      NODE_ENV: 'development',
      SESAME_DATA_DIR: dataDir,
      SESAME_SMTP_URL: smtp.url,
      SESAME_MAIL_FROM: 'Acme <no-reply@acme.test>',
      SESAME_LOG_LEVEL: 'info',
    };

    const created = await run(
      process.execPath,
      [BIN, 'clients', 'create', '--name', 'e2e', '--redirect-uri', 'https://app.example.com/auth/*', '--json'],
      {
        cwd: dataDir,
        env,
      },
    );
    const lines = created.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const client = JSON.parse(lines[0]!) as { client_id: string; client_secret: string };
    expect(Object.keys(client).sort()).toEqual(['client_id', 'client_secret']);

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [BIN, 'start'], {
      cwd: dataDir,
      env: { ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((done) => child!.once('exit', (code) => done(code)));
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`no start banner: ${stderr}`)), 20_000);
      child!.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('Sesame is listening')) {
          clearTimeout(timer);
          ready();
        }
      });
      child!.once('exit', () => fail(new Error(`exited early: ${stderr}`)));
    });
    expect(stderr).not.toContain('Dev inbox');

    const tokenRes = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret }),
    });
    expect(tokenRes.status).toBe(200);
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    const api = (action: string, body: unknown) =>
      fetch(`${base}/api/v1/passwordless/email/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });

    const email = 'e2e.user@example.com';
    const sendRes = await api('send', { email, magiclink_auth_uri: 'https://app.example.com/auth/verify', state: 'st-1' });
    expect(sendRes.status).toBe(200);
    const sent = (await sendRes.json()) as { auth_request_id: string };

    const mail = await smtp.waitForMail(email, 1);
    expect(mail.subject).toBeTruthy();
    expect(mail.from?.text).toContain('no-reply@acme.test');
    expect(mail.html).toBeTruthy();
    const code = /\b(\d{6})\b/.exec(mail.text ?? '')?.[1];
    expect(code).toMatch(/^\d{6}$/);
    expect(mail.text).toMatch(/https:\/\/app\.example\.com\/auth\/verify\?link_token=[A-Za-z0-9_-]{43}/);

    const verified = await api('verify', { code, auth_request_id: sent.auth_request_id });
    expect(verified.status).toBe(200);
    expect(await verified.json()).toEqual({ email, state: 'st-1', template: 'SIGNIN', passwordless_type: 'LINK_OTP' });

    const again = await api('verify', { code, auth_request_id: sent.auth_request_id });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('ALREADY_USED');

    const second = await api('send', { email, magiclink_auth_uri: 'https://app.example.com/auth/verify' });
    expect(second.status).toBe(200);
    const third = await api('send', { email, magiclink_auth_uri: 'https://app.example.com/auth/verify' });
    expect(third.status).toBe(429);
    const retryAfter = Number(third.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const limited = (await third.json()) as { error: { code: string; request_id: string } };
    expect(limited.error.code).toBe('SEND_LIMIT_EXCEEDED');
    expect(limited.error.request_id).toBe(third.headers.get('x-request-id'));
    await smtp.waitForMail(email, 2);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/sesame_email_deliveries_total\{outcome="sent"\} 2/);

    // Graceful stop of our own child, by PID.
    process.kill(child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('"msg":"stopped"');
    for (const secret of [client.client_secret, token, code!]) expect(stdout + stderr).not.toContain(secret);
  });
});
