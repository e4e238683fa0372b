import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, REDIRECT, stopPostgres, type Harness } from './helpers.js';
import { START_FLOOR_MS, sealPending } from '../src/admin/session.js';
import { cliMain } from '../src/index.js';
import { AdminBrowser, addAdmin, errorCode, freshAdminEachTest, signIn, startSignIn } from './admin-helpers.js';

let h: Harness;
afterAll(stopPostgres);

/** A read and a write on every part of the admin API that needs a session. */
function sessionRequests(): [string, { method?: string; json?: unknown }][] {
  return [
    ['/admin/api/session', {}],
    ['/admin/api/policy', {}],
    ['/admin/api/clients', {}],
    ['/admin/api/audit', {}],
    ['/admin/api/activity', {}],
    ['/admin/api/templates', {}],
    ['/admin/api/brand', {}],
    ['/admin/api/clients', { json: { name: 'made by a replayed cookie' } }],
  ];
}

const ADMIN = 'root@example.com';

describe.each(BACKENDS)('%s', (backend) => {
  freshAdminEachTest(backend, ADMIN, (fixture) => ({ h } = fixture));

  it('setup says whether admins exist and whether the dev inbox is on', async () => {
    const browser = new AdminBrowser(h);
    expect(await browser.json('/admin/api/setup')).toEqual({ admins_exist: true, dev_inbox: true });
  });

  it('signs an admin in by the code from the real email, then GET session answers with a CSRF token', async () => {
    const browser = new AdminBrowser(h);
    const started = await startSignIn(browser, 'Root@Example.com');
    expect(started).toEqual({ status: 'check_inbox', expires_in: 300 });
    const pending = browser.setCookies.find((line) => line.startsWith('sesame_admin_pending='))!;
    expect(pending).toMatch(/HttpOnly/);
    expect(pending).toMatch(/SameSite=Strict/);
    expect(pending).toMatch(/Path=\/admin/);
    const mail = await h.latestMail(ADMIN);
    expect(mail.text).toContain('http://127.0.0.1:8080/admin/verify?link_token=');
    const verified = await browser.json<{ email: string; csrf_token: string }>('/admin/api/session/verify', { json: { code: mail.code } });
    expect(verified).toEqual({ email: ADMIN, csrf_token: await browser.csrf() });
    const session = browser.setCookies.find((line) => line.startsWith('sesame_admin='))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(session).toMatch(/Path=\/admin/);
    expect(session).toMatch(/Max-Age=28800/);
    expect(session).not.toMatch(/Secure/);
    expect(browser.cookies.has('sesame_admin_pending')).toBe(false);
    expect(await browser.json('/admin/api/session')).toEqual({ email: ADMIN, csrf_token: await browser.csrf() });
  });

  it('signs an admin in by the link from the real email, only in the browser that started', async () => {
    const browser = new AdminBrowser(h);
    await startSignIn(browser, ADMIN);
    const mail = await h.latestMail(ADMIN);
    const other = new AdminBrowser(h);
    const elsewhere = await other.fetch('/admin/api/session/verify', { json: { link_token: mail.linkToken } });
    expect(elsewhere.status).toBe(400);
    expect(await errorCode(elsewhere)).toBe('SAME_BROWSER_REQUIRED');
    expect(await browser.json('/admin/api/session/verify', { json: { link_token: mail.linkToken } })).toMatchObject({ email: ADMIN });
    expect((await browser.fetch('/admin/api/session')).status).toBe(200);
    // Used once.
    const again = await browser.fetch('/admin/api/session/verify', { json: { link_token: mail.linkToken } });
    expect(again.status).toBe(400);
  });

  it('answers a non-admin exactly like an admin, sends nothing, and never makes a session', async () => {
    const admin = new AdminBrowser(h);
    const stranger = new AdminBrowser(h);
    await admin.csrf();
    await stranger.csrf();
    const timed = async (browser: AdminBrowser, email: string) => {
      const began = performance.now();
      const res = await browser.fetch('/admin/api/session/start', { json: { email } });
      return { res, ms: performance.now() - began };
    };
    const { res: a, ms: adminMs } = await timed(admin, ADMIN);
    const { res: s, ms: strangerMs } = await timed(stranger, 'mallory@example.com');
    // Both wait out the same floor, so the time taken does not say who is an admin.
    expect(adminMs).toBeGreaterThanOrEqual(START_FLOOR_MS - 1);
    expect(strangerMs).toBeGreaterThanOrEqual(START_FLOOR_MS - 1);
    expect(s.status).toBe(a.status);
    expect(s.status).toBe(202);
    expect(await s.json()).toEqual(await a.json());
    const shape = (browser: AdminBrowser) =>
      browser.setCookies
        .filter((line) => line.startsWith('sesame_admin_pending='))
        .map((line) => line.replace(/^sesame_admin_pending=[A-Za-z0-9_-]+/, 'sesame_admin_pending=X'));
    expect(shape(stranger)).toEqual(shape(admin));
    expect(admin.cookies.get('sesame_admin_pending')!.length).toBe(stranger.cookies.get('sesame_admin_pending')!.length);

    await h.worker.runOnce();
    const inbox = await h.store.listDevInbox({ limit: 50 });
    expect(inbox.map((m) => m.to)).toEqual([ADMIN]);
    expect((await h.store.listAuthRequests({ limit: 10, now: h.clock.now(), emailKey: 'mallory@example.com' })).items).toEqual([]);
    const devInbox = (await (await h.request('/admin/api/dev-inbox')).json()) as { messages: { to: string }[] };
    expect(devInbox.messages.map((m) => m.to)).toEqual([ADMIN]);

    // Guessing codes gets the same answer an admin's wrong code gets, and never a session.
    const adminWrong = await admin.fetch('/admin/api/session/verify', { json: { code: '000000' } });
    for (const guess of ['000000', '123456', '999999', '111111', '222222', '333333']) {
      const res = await stranger.fetch('/admin/api/session/verify', { json: { code: guess } });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        error: { code: 'INVALID_CREDENTIAL', message: ((await adminWrong.clone().json()) as { error: { message: string } }).error.message },
      });
    }
    expect(stranger.cookies.has('sesame_admin')).toBe(false);
    expect((await stranger.fetch('/admin/api/session')).status).toBe(401);
  });

  it('a code of an auth request some API client created (even for an admin’s address) makes no session', async () => {
    const sent = await h.api('send', { email: ADMIN, magiclink_auth_uri: REDIRECT });
    const { auth_request_id } = (await sent.json()) as { auth_request_id: string };
    const mail = await h.latestMail(ADMIN);
    const browser = new AdminBrowser(h);
    await browser.csrf();
    browser.cookies.set('sesame_admin_pending', sealPending(h.sesame.keys.adminPending, auth_request_id));
    const res = await browser.fetch('/admin/api/session/verify', { json: { code: mail.code } });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('INVALID_CREDENTIAL');
    expect(browser.cookies.has('sesame_admin')).toBe(false);
    // The app's request is untouched: its own verify still works.
    expect((await h.api('verify', { code: mail.code, auth_request_id })).status).toBe(200);
  });

  it('answers 202 to an admin over the send limit, sends nothing more, and keeps the browser on its earlier email', async () => {
    const browser = new AdminBrowser(h);
    const values: string[] = [];
    for (let i = 0; i < 3; i++) {
      expect(await startSignIn(browser, ADMIN)).toEqual({ status: 'check_inbox', expires_in: 300 });
      values.push(browser.cookies.get('sesame_admin_pending')!);
      // Deliver each email at its own instant, so "the latest" is well defined.
      await h.worker.runOnce();
      h.clock.advance(1);
    }
    // Every start sets a new opaque value, limited or not.
    expect(new Set(values).size).toBe(3);
    await h.worker.runOnce();
    expect((await h.store.listDevInbox({ limit: 50 })).filter((m) => m.to === ADMIN)).toHaveLength(2);
    const mail = await h.latestMail(ADMIN);
    expect(await browser.json('/admin/api/session/verify', { json: { code: mail.code } })).toMatchObject({ email: ADMIN });
  });

  it('refuses a malformed verify body alike with or without a real pending request', async () => {
    for (const email of [ADMIN, 'mallory@example.com']) {
      const browser = new AdminBrowser(h);
      await startSignIn(browser, email);
      const res = await browser.fetch('/admin/api/session/verify', { json: { code: '123456', link_token: 'abc' } });
      expect(res.status, email).toBe(400);
      expect(await errorCode(res)).toBe('INVALID_ARGUMENT');
      const tampered = await browser.fetch('/admin/api/session/verify', {
        json: { code: '123456' },
        headers: { cookie: browser.cookieHeader().replace(/sesame_admin_pending=[^;]+/, `sesame_admin_pending=${'A'.repeat(67)}`) },
      });
      expect(tampered.status).toBe(400);
      expect(await errorCode(tampered)).toBe('INVALID_CREDENTIAL');
    }
    const none = new AdminBrowser(h);
    const res = await none.fetch('/admin/api/session/verify', { json: { code: '123456' } });
    expect(await errorCode(res)).toBe('SAME_BROWSER_REQUIRED');
  });

  it('signing out ends the session on the server: the cookie replayed afterwards gets 401 on every route; other sessions go on', async () => {
    const browser = new AdminBrowser(h);
    await signIn(h, browser, ADMIN);
    const other = new AdminBrowser(h);
    await signIn(h, other, ADMIN);
    const stolen = browser.cookies.get('sesame_admin')!;
    const requests = sessionRequests();
    for (const [path, request] of requests) expect((await browser.fetch(path, request)).status, `before sign-out: ${path}`).not.toBe(401);
    expect((await browser.fetch('/admin/api/session/logout', { method: 'POST' })).status).toBe(204);
    // The copy an attacker kept, sent as it was.
    browser.cookies.set('sesame_admin', stolen);
    for (const [path, request] of requests) {
      const res = await browser.fetch(path, request);
      expect(res.status, `replayed after sign-out: ${request.method ?? 'GET'} ${path}`).toBe(401);
      expect(await errorCode(res)).toBe('UNAUTHENTICATED');
    }
    expect((await browser.fetch('/admin/api/session/logout', { method: 'POST' })).status).toBe(401);
    expect((await other.fetch('/admin/api/session')).status).toBe(200);
  });

  it('signing in again in the same browser ends the session it held', async () => {
    const browser = new AdminBrowser(h);
    await signIn(h, browser, ADMIN);
    const earlier = browser.cookies.get('sesame_admin')!;
    await signIn(h, browser, ADMIN);
    expect(browser.cookies.get('sesame_admin')).not.toBe(earlier);
    expect((await browser.fetch('/admin/api/session')).status).toBe(200);
    browser.cookies.set('sesame_admin', earlier);
    expect((await browser.fetch('/admin/api/session')).status).toBe(401);
  });

  it('`sesame admins remove EMAIL` ends every session of that admin at once, and only theirs', async () => {
    const second = 'second@example.com';
    await addAdmin(h, second);
    const browsers = [new AdminBrowser(h), new AdminBrowser(h)];
    for (const browser of browsers) await signIn(h, browser, ADMIN);
    const bystander = new AdminBrowser(h);
    await signIn(h, bystander, second);
    for (const browser of browsers) expect((await browser.fetch('/admin/api/session')).status).toBe(200);

    const dataDir = mkdtempSync(join(tmpdir(), 'sesame-admins-'));
    try {
      let stdout = '';
      const env = { SESAME_DATABASE_URL: h.databaseUrl, SESAME_DATA_DIR: dataDir };
      expect(
        await cliMain(['admins', 'remove', 'Root@Example.com', '--json'], { stdout: (t) => (stdout += t), stderr: () => undefined, env }),
      ).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ email: 'Root@Example.com', removed: true });
      expect(await cliMain(['admins', 'remove', ADMIN], { stdout: () => undefined, stderr: () => undefined, env })).toBe(1);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    for (const browser of browsers) {
      for (const [path, request] of sessionRequests())
        expect((await browser.fetch(path, request)).status, `${request.method ?? 'GET'} ${path}`).toBe(401);
    }
    expect((await bystander.fetch('/admin/api/session')).status).toBe(200);
    // Added back, the old cookies stay dead: a new sign-in makes a new session.
    await addAdmin(h, ADMIN);
    expect((await browsers[0]!.fetch('/admin/api/session')).status).toBe(401);
  });

  it('a cookie that names no session the server keeps is refused, whatever its shape', async () => {
    const browser = new AdminBrowser(h);
    await signIn(h, browser, ADMIN);
    const real = browser.cookies.get('sesame_admin')!;
    const now = Math.floor(h.clock.now() / 1000);
    // A well-signed token of the earlier stateless design: only the server's record counts now.
    const signed = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('http://127.0.0.1:8080')
      .setAudience('sesame-admin')
      .setSubject(ADMIN)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .setJti('forged')
      .sign(h.sesame.keys.adminSession);
    const flip = (value: string) => `${value.slice(0, -1)}${value.endsWith('A') ? 'B' : 'A'}`;
    const forged = [signed, flip(real), real.slice(1), `${real}A`, real.toLowerCase(), 'A'.repeat(43), '', `${real}%3B`, 'x'.repeat(5000)];
    for (const value of forged) {
      const stranger = new AdminBrowser(h);
      await stranger.csrf();
      stranger.cookies.set('sesame_admin', value);
      expect((await stranger.fetch('/admin/api/session')).status, value.slice(0, 60)).toBe(401);
    }
    // The session expires on the server after 8 hours, whatever the browser keeps.
    h.clock.advance(8 * 60 * 60 * 1000 + 1);
    expect((await browser.fetch('/admin/api/session')).status).toBe(401);
  });

  it('logout clears the session cookie', async () => {
    const browser = new AdminBrowser(h);
    await signIn(h, browser, ADMIN);
    const res = await browser.fetch('/admin/api/session/logout', { method: 'POST' });
    expect(res.status).toBe(204);
    expect(browser.cookies.has('sesame_admin')).toBe(false);
    expect((await browser.fetch('/admin/api/session')).status).toBe(401);
  });
});
