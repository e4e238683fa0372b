/**
 * The real thing end to end: `sesame clients create --json` and `sesame start` as child
 * processes (the root `bin` launcher), a real SMTP server on 127.0.0.1 receiving the mail,
 * parsed with mailparser. Token → send → mail → verify by code → verify again → send limit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildServerPackage,
  killStartedProcesses,
  runSesameCli,
  startSesameProcess,
  startSmtpCapture,
  type SmtpCapture,
} from '@sesame/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dataDir: string;
let smtp: SmtpCapture;

beforeAll(async () => {
  // The launcher runs the built server; make sure it is current (fast when nothing changed).
  await buildServerPackage();
  dataDir = mkdtempSync(join(tmpdir(), 'sesame-e2e-'));
  smtp = await startSmtpCapture();
});

afterAll(async () => {
  await killStartedProcesses();
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

    const created = await runSesameCli(
      ['clients', 'create', '--name', 'e2e', '--redirect-uri', 'https://app.example.com/auth/*', '--json'],
      {
        cwd: dataDir,
        env,
      },
    );
    const lines = created.trim().split('\n');
    expect(lines).toHaveLength(1);
    const client = JSON.parse(lines[0]!) as { client_id: string; client_secret: string };
    expect(Object.keys(client).sort()).toEqual(['client_id', 'client_secret']);

    const sesame = await startSesameProcess({ env, cwd: dataDir, readyTimeoutMs: 20_000 });
    const base = sesame.url;
    expect(sesame.stderr).not.toContain('Dev inbox');

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
    expect(await sesame.stop(30_000)).toBe(0);
    expect(sesame.stdout).toContain('"msg":"stopped"');
    for (const secret of [client.client_secret, token, code!]) expect(sesame.stdout + sesame.stderr).not.toContain(secret);
  });
});
