import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, type SesameApp } from '../src/index.js';
import { BACKENDS, stopPostgres, type Harness } from './helpers.js';
import { AdminBrowser, ORIGIN, errorCode, freshAdminEachTest, signIn } from './admin-helpers.js';

let h: Harness;
afterAll(stopPostgres);

const ADMIN = 'root@example.com';
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: http: data:; " +
  "frame-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Every route behind a session: method, path, a body that would be accepted. */
const PROTECTED: readonly [string, string, unknown?][] = [
  ['GET', '/admin/api/session'],
  ['POST', '/admin/api/session/logout'],
  ['GET', '/admin/api/policy'],
  ['PUT', '/admin/api/policy', {}],
  ['GET', '/admin/api/audit'],
  ['GET', '/admin/api/templates'],
  ['PUT', '/admin/api/templates/SIGNIN', { subject: 's', html: '{{otp}}', text: '{{otp}}' }],
  ['DELETE', '/admin/api/templates/SIGNIN'],
  ['POST', '/admin/api/templates/preview', { template: 'SIGNIN', subject: 's', html: '{{otp}}', text: '{{otp}}' }],
  ['POST', '/admin/api/templates/test-email', { template: 'SIGNIN' }],
  ['GET', '/admin/api/brand'],
  ['PUT', '/admin/api/brand', { app_name: 'X' }],
  ['DELETE', '/admin/api/brand'],
  ['GET', '/admin/api/clients'],
  ['POST', '/admin/api/clients', { name: 'x' }],
  ['POST', '/admin/api/clients/skc_x/rotate'],
  ['POST', '/admin/api/clients/skc_x/revoke'],
  ['GET', '/admin/api/activity'],
  ['GET', '/admin/api/no-such-route'],
];

/** Every state-changing route, open ones included. */
const STATE_CHANGING: readonly [string, string, unknown?][] = [
  ['POST', '/admin/api/session/start', { email: ADMIN }],
  ['POST', '/admin/api/session/verify', { code: '123456' }],
  ...PROTECTED.filter(([method]) => method !== 'GET'),
];

/**
 * The app on the harness's store without the dev inbox, served at `publicUrl`, with the dashboard built in
 * `adminUiDist` (null: none; absent: the admin UI package of this repository).
 */
function appOn(publicUrl: string, adminUiDist?: string | null): SesameApp['app'] {
  const dashboard = adminUiDist === undefined ? {} : { adminUiDist };
  return createApp({ store: h.store, secret: randomBytes(32), production: false, publicUrl, devInbox: false, clock: h.clock, ...dashboard })
    .app;
}

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe.each(BACKENDS)('%s', (backend) => {
  freshAdminEachTest(backend, ADMIN, (fixture) => ({ h } = fixture));

  it('answers 401 UNAUTHENTICATED on every /admin/api route without a session (CSRF token valid)', async () => {
    const browser = new AdminBrowser(h);
    for (const [method, path, json] of PROTECTED) {
      const res = await browser.fetch(path, { method, ...(json === undefined ? {} : { json }) });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(await errorCode(res)).toBe('UNAUTHENTICATED');
    }
    // The open ones.
    expect((await browser.fetch('/admin/api/setup')).status).toBe(200);
    expect((await browser.fetch('/admin/api/csrf')).status).toBe(200);
    expect((await browser.fetch('/admin/api/dev-inbox')).status).toBe(200);
    expect((await h.request('/dev/inbox')).status).toBe(200);
  });

  it('refuses every state-changing route without, or with a wrong, CSRF token, or from another origin: 403 CSRF_REJECTED', async () => {
    const browser = new AdminBrowser(h);
    await signIn(h, browser, ADMIN);
    const good = await browser.csrf();
    const forged = Buffer.from(randomBytes(32)).toString('base64url');
    for (const [method, path, json] of STATE_CHANGING) {
      const body = json === undefined ? {} : { json };
      for (const [label, request] of [
        ['no token', { csrf: false }],
        ['wrong token', { csrf: forged }],
        ['token of another cookie', { csrf: good.slice(0, -2) + (good.endsWith('AA') ? 'BB' : 'AA') }],
        ['cross-site origin', { headers: { origin: 'https://evil.example.net' } }],
        ['null origin', { headers: { origin: 'null' } }],
      ] as const) {
        const res = await browser.fetch(path, { method, ...body, ...request });
        expect(res.status, `${method} ${path} ${label}`).toBe(403);
        expect(await errorCode(res)).toBe('CSRF_REJECTED');
      }
    }
    // Without the cookie the token means nothing.
    const cookieless = await h.request('/admin/api/session/start', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': good },
      body: JSON.stringify({ email: ADMIN }),
    });
    expect(cookieless.status).toBe(403);
    // Nothing changed, and the session still works; the same origin is accepted.
    expect((await browser.json<{ is_default: boolean }>('/admin/api/brand')).is_default).toBe(true);
    expect((await browser.json<{ entries: unknown[] }>('/admin/api/audit')).entries).toEqual([]);
    const sameOrigin = await browser.fetch('/admin/api/brand', { method: 'PUT', json: { app_name: 'Acme' }, headers: { origin: ORIGIN } });
    expect(sameOrigin.status).toBe(200);
  });

  it('sets the security headers on /admin and /admin/api, errors included', async () => {
    const browser = new AdminBrowser(h);
    for (const path of ['/admin', '/admin/', '/admin/verify', '/admin/api/csrf', '/admin/api/session', '/admin/api/nope']) {
      const res = await browser.fetch(path);
      expect(res.headers.get('content-security-policy'), path).toBe(CSP);
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      if (path.startsWith('/admin/api')) expect(res.headers.get('cache-control'), path).toBe('no-store');
    }
    const csrfCookie = browser.setCookies.find((line) => line.startsWith('sesame_csrf='))!;
    expect(csrfCookie).toMatch(/HttpOnly/);
    expect(csrfCookie).toMatch(/SameSite=Strict/);
    expect(csrfCookie).toMatch(/Path=\/admin/);
    const refused = await browser.fetch('/admin/api/policy', { method: 'PUT', json: {}, csrf: false });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-security-policy')).toBe(CSP);
  });

  it('refuses forged, expired, alg-none and foreign session cookies', async () => {
    const browser = new AdminBrowser(h);
    const now = Math.floor(h.clock.now() / 1000);
    const claims = { iss: ORIGIN, aud: 'sesame-admin', sub: ADMIN, iat: now, exp: now + 3600 };
    const otherKey = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ORIGIN)
      .setAudience('sesame-admin')
      .setSubject(ADMIN)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(randomBytes(32));
    const algNone = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    const accessToken = await h.token();
    for (const [label, cookie] of [
      ['signed with another key', otherKey],
      ['alg none', algNone],
      ['an API access token', accessToken],
      ['garbage', 'not-a-jwt'],
    ] as const) {
      browser.cookies.set('sesame_admin', cookie);
      const res = await browser.fetch('/admin/api/policy');
      expect(res.status, label).toBe(401);
    }
    browser.cookies.delete('sesame_admin');

    await signIn(h, browser, ADMIN);
    const real = browser.cookies.get('sesame_admin')!;
    expect((await browser.fetch('/admin/api/policy')).status).toBe(200);
    // A tampered payload (another admin's address) breaks the signature.
    const [header, , signature] = real.split('.');
    browser.cookies.set('sesame_admin', `${header}.${b64({ ...claims, sub: 'other@example.com' })}.${signature}`);
    expect((await browser.fetch('/admin/api/policy')).status).toBe(401);
    browser.cookies.set('sesame_admin', real);
    h.clock.advance(8 * 3600 * 1000 - 1000);
    expect((await browser.fetch('/admin/api/policy')).status).toBe(200);
    h.clock.advance(2000);
    const expired = await browser.fetch('/admin/api/policy');
    expect(expired.status).toBe(401);
    expect(await errorCode(expired)).toBe('UNAUTHENTICATED');
  });

  it('serves the built dashboard: assets with long cache and their types, index.html for client routes, never the API', async () => {
    const dist = mkdtempSync(join(tmpdir(), 'sesame-admin-dist-'));
    try {
      mkdirSync(join(dist, 'assets'));
      writeFileSync(
        join(dist, 'index.html'),
        '<!doctype html><title>Sesame admin</title><script type="module" src="/admin/assets/app-abc123.js"></script>',
      );
      writeFileSync(join(dist, 'assets', 'app-abc123.js'), 'console.log("app")');
      writeFileSync(join(dist, 'assets', 'app-abc123.css'), 'body{}');
      writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
      writeFileSync(join(tmpdir(), 'sesame-outside.txt'), 'secret');
      const app = appOn(ORIGIN, dist);
      const get = (path: string) => Promise.resolve(app.request(path));

      for (const path of ['/admin', '/admin/', '/admin/verify?link_token=abc', '/admin/policy/edit']) {
        const res = await get(path);
        expect(res.status, path).toBe(200);
        expect(res.headers.get('content-type'), path).toBe('text/html; charset=utf-8');
        expect(res.headers.get('cache-control'), path).toBe('no-cache');
        expect(await res.text()).toContain('<title>Sesame admin</title>');
      }
      const js = await get('/admin/assets/app-abc123.js');
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(await js.text()).toBe('console.log("app")');
      expect((await get('/admin/assets/app-abc123.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
      const svg = await get('/admin/favicon.svg');
      expect(svg.headers.get('content-type')).toBe('image/svg+xml');
      expect(svg.headers.get('cache-control')).toBe('no-cache');
      expect((await get('/admin/assets/missing-123.js')).status).toBe(404);
      for (const path of [
        '/admin/..%2f..%2fsesame-outside.txt',
        '/admin/%2e%2e/%2e%2e/sesame-outside.txt',
        '/admin/assets/..%2f..%2f..%2fsesame-outside.txt',
      ]) {
        const res = await get(path);
        expect(await res.text(), path).not.toContain('secret');
      }
      const api = await get('/admin/api/unknown');
      expect(api.status).toBe(401);
      expect(api.headers.get('content-type')).toContain('application/json');
    } finally {
      rmSync(dist, { recursive: true, force: true });
      rmSync(join(tmpdir(), 'sesame-outside.txt'), { force: true });
    }
  });

  it('marks every admin cookie Secure when the public URL is https', async () => {
    const app = appOn('https://sesame.example.com', null);
    const csrf = await app.request('/admin/api/csrf');
    const csrfCookie = csrf.headers.getSetCookie()[0]!;
    expect(csrfCookie).toMatch(/; Secure/);
    const { csrf_token } = (await csrf.json()) as { csrf_token: string };
    const startFrom = (origin: string) =>
      Promise.resolve(
        app.request('/admin/api/session/start', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf_token, cookie: csrfCookie.split(';')[0]!, origin },
          body: JSON.stringify({ email: ADMIN }),
        }),
      );
    const start = await startFrom('https://sesame.example.com');
    expect(start.status).toBe(202);
    expect(start.headers.getSetCookie().find((line) => line.startsWith('sesame_admin_pending='))).toMatch(/; Secure/);
    // The http origin of the same host is another origin.
    const plain = await startFrom('http://sesame.example.com');
    expect(plain.status).toBe(403);
  });

  it('without a built dashboard /admin says how to build it', async () => {
    const app = appOn(ORIGIN, null);
    const res = await app.request('/admin');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('npm run build');
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    // The admin UI package of this repository resolves (its dist/ is built by `npm run build`).
    const real = appOn(ORIGIN);
    expect((await real.request('/admin/verify')).status).toBe(200);
  });
});
