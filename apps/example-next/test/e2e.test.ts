/**
 * The reference app end to end: Debian's Chromium driven by
 * playwright-core against `next build` + `next start`, a real `sesame start` process, and a
 * real SMTP server catching the mail. Nothing is mocked; the expired case waits out a real
 * 60-second expiry while the other tests run.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitUntil, type SmtpCapture } from '@sesame/testkit';
import { APP_DIR, BUILD_CANARIES, startAppExpectingExit, startStack, type SesameInstance, type Stack } from './harness.js';

const EXPIRES_IN = 60;
const RESEND_COOLDOWN = 3;
const SESSION_SECRET = randomBytes(32).toString('base64url');

let stack: Stack | undefined;
let mail: SmtpCapture;
let sesame: SesameInstance | undefined;
let base = '';

const run = randomBytes(4).toString('hex');
const address = (name: string): string => `${name}-${run}@example.test`;

async function newPage(extraHTTPHeaders?: Record<string, string>): Promise<{ context: BrowserContext; page: Page }> {
  return stack!.newPage(extraHTTPHeaders ? { extraHTTPHeaders } : {});
}

/** The login form, submitted the way a user does it (this is the Server Action path). */
async function requestEmail(page: Page, email: string, path = '/login'): Promise<void> {
  if (path !== '') await page.goto(path);
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
}

async function signedInEmail(page: Page): Promise<string> {
  return (await page.getByTestId('signed-in-email').textContent()) ?? '';
}

/** Submits the code form and waits for the verify route's answer (sent with fetch: a wrong code does not reload). */
async function enterCode(page: Page, code: string): Promise<void> {
  await page.getByLabel('One-time code').fill(code);
  const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/auth/verify' && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Sign in with code' }).click();
  await answered;
}

/** The page's own error box (Next's route announcer also has role=alert, in a shadow root). */
async function errorText(page: Page): Promise<string | null> {
  return page.locator('p.alert-error').textContent();
}

function sessionCookie(cookies: Awaited<ReturnType<BrowserContext['cookies']>>) {
  return cookies.find((c) => c.name === 'sesame_session');
}

/** Started first, checked last: a real auth request that really expires meanwhile. */
const expiring: { page?: Page; linkPage?: Page; sentAt?: number; link?: string; code?: string } = {};

// Generous per-test limit: the suite shares two cores with every other suite of `npm test`.
describe('example-next in Chromium against Sesame', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    stack = await startStack({
      SESSION_SECRET,
      SIGN_IN_EXPIRES_IN: String(EXPIRES_IN),
      RESEND_COOLDOWN_SECONDS: String(RESEND_COOLDOWN),
      // Every test comes from 127.0.0.1: the per-IP throttle is unit-tested in the kit instead.
      THROTTLE_SEND_PER_MINUTE: '1000',
      THROTTLE_VERIFY_PER_MINUTE: '1000',
    });
    ({ mail, sesame, base } = stack);
  }, 900_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it('7 (start): begins two sign-ins that will expire while the other tests run', async () => {
    for (const key of ['page', 'linkPage'] as const) {
      const { page } = await newPage();
      const email = address(`expiring-${key}`);
      await requestEmail(page, email);
      const message = await mail.waitForMail(email);
      expiring[key] = page;
      expiring.sentAt ??= Date.now();
      if (key === 'page') expiring.code = message.code;
      else expiring.link = message.link;
    }
    expect(expiring.code).toMatch(/^\d{6}$/);
    expect(expiring.link).toContain('link_token=');
  });

  it('1: a link opened in the same browser lands on /dashboard with the email shown', async () => {
    const { page } = await newPage();
    const email = address('link');
    await requestEmail(page, email);
    const message = await mail.waitForMail(email);
    expect(message.link).toBe(`${base}/api/auth/verify?link_token=${new URL(message.link!).searchParams.get('link_token')}`);
    await page.goto(message.link!);
    await page.waitForURL(`${base}/dashboard`);
    expect(await signedInEmail(page)).toBe(email);
  });

  it('2: /dashboard?x=1 signed out goes to /login?next=… and back to /dashboard?x=1 after sign-in', async () => {
    const { page } = await newPage();
    await page.goto('/dashboard?x=1');
    await page.waitForURL((url) => url.pathname === '/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/dashboard?x=1');
    const email = address('next');
    await requestEmail(page, email, '');
    await page.goto((await mail.waitForMail(email)).link!);
    await page.waitForURL(`${base}/dashboard?x=1`);
    expect(await signedInEmail(page)).toBe(email);

    // Only same-origin relative values are honoured: an absolute URL falls back to /dashboard.
    const other = await newPage();
    await other.page.goto(`/login?next=${encodeURIComponent('https://evil.example/steal')}`);
    const evil = address('evil-next');
    await requestEmail(other.page, evil, '');
    await other.page.goto((await mail.waitForMail(evil)).link!);
    await other.page.waitForURL(`${base}/dashboard`);
  });

  it('3: a link opened in another browser shows a confirmation page, does not sign in there, and still works in the original one', async () => {
    const original = await newPage();
    const email = address('other-device');
    await requestEmail(original.page, email);
    const { link } = await mail.waitForMail(email);

    const second = await newPage();
    await second.page.goto(link!);
    await second.page.getByRole('heading', { name: 'Continue signing in' }).waitFor();
    expect(sessionCookie(await second.context.cookies())).toBeUndefined();
    await second.page.getByRole('button', { name: 'Continue signing in' }).click();
    await second.page.waitForURL((url) => url.pathname === '/login');
    await expect
      .poll(() => errorText(second.page))
      .toBe('Open the link in the browser where you started signing in, or enter the code there.');
    expect(sessionCookie(await second.context.cookies())).toBeUndefined();
    await second.page.goto('/dashboard');
    await second.page.waitForURL((url) => url.pathname === '/login');

    // The token was not burned: the original browser still signs in with it.
    await original.page.goto(link!);
    await original.page.waitForURL(`${base}/dashboard`);
    expect(await signedInEmail(original.page)).toBe(email);
  });

  it('4: a plain HTTP GET of the link (a mail scanner) does not consume it', async () => {
    const { page } = await newPage();
    const email = address('scanner');
    await requestEmail(page, email);
    const { link } = await mail.waitForMail(email);
    for (const method of ['GET', 'HEAD', 'GET'] as const) {
      const response = await fetch(link!, { method, redirect: 'manual' });
      expect(response.status).toBe(200);
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(response.headers.get('cache-control')).toBe('no-store');
      if (method === 'GET') expect(await response.text()).toContain('Continue signing in');
      else await response.body?.cancel();
    }
    await page.goto(link!);
    await page.waitForURL(`${base}/dashboard`);
    expect(await signedInEmail(page)).toBe(email);
  });

  it('5: the code signs in; a wrong code shows a message; the sixth wrong one says too many attempts', async () => {
    const good = await newPage();
    const email = address('otp');
    await requestEmail(good.page, email);
    await enterCode(good.page, (await mail.waitForMail(email)).code!);
    await good.page.waitForURL(`${base}/dashboard`);
    expect(await signedInEmail(good.page)).toBe(email);

    const bad = await newPage();
    const victim = address('otp-wrong');
    await requestEmail(bad.page, victim);
    const { code } = await mail.waitForMail(victim);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let attempt = 1; attempt <= 5; attempt++) {
      await enterCode(bad.page, wrong);
      await expect.poll(() => errorText(bad.page)).toBe('That code or link is not valid.');
      // Still on the code step: the user can try again without starting over.
      await bad.page.getByLabel('One-time code').waitFor();
    }
    await enterCode(bad.page, wrong);
    await expect.poll(() => errorText(bad.page)).toBe('Too many attempts. Please request a new code later.');
    // The request is locked, so the page offers a fresh start: the email form.
    await bad.page.getByLabel('Email address').waitFor();
  });

  it('6: resend is disabled with a countdown; afterwards the new code works and the old one does not', async () => {
    const { page } = await newPage();
    const email = address('resend');
    await requestEmail(page, email);
    const first = await mail.waitForMail(email);
    const resend = page.getByRole('button', { name: /^Resend email/ });
    expect(await resend.isDisabled()).toBe(true);
    const before = await resend.textContent();
    expect(before).toMatch(/^Resend email in \d+ s$/);
    await expect.poll(() => resend.textContent(), { timeout: 5_000 }).not.toBe(before);
    await expect.poll(() => resend.isEnabled(), { timeout: (RESEND_COOLDOWN + 3) * 1000 }).toBe(true);
    await resend.click();
    await page.getByText('A new email is on its way.').waitFor();
    expect(await resend.isDisabled()).toBe(true);
    const second = await mail.waitForMail(email, 2);
    expect(second.code).not.toBe(first.code);

    await enterCode(page, first.code!);
    await expect.poll(() => errorText(page)).toBe('That code or link is not valid.');
    await enterCode(page, second.code!);
    await page.waitForURL(`${base}/dashboard`);
    expect(await signedInEmail(page)).toBe(email);
  });

  it('8: logout clears the session and /dashboard redirects to login again', async () => {
    const { context, page } = await newPage();
    const email = address('logout');
    await requestEmail(page, email);
    await page.goto((await mail.waitForMail(email)).link!);
    await page.waitForURL(`${base}/dashboard`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    await page.getByText('You have been signed out.').waitFor();
    expect(sessionCookie(await context.cookies())).toBeUndefined();
    await page.goto('/dashboard');
    await page.waitForURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/dashboard');
  });

  it('9: the Server Action sends the email as well as the route handler does', async () => {
    // The login form posts a Server Action (a POST to the page with a Next-Action header).
    const viaAction = await newPage();
    const actionEmail = address('action');
    const actionRequest = viaAction.page.waitForRequest((r) => r.method() === 'POST' && r.headers()['next-action'] !== undefined);
    await requestEmail(viaAction.page, actionEmail);
    expect(new URL((await actionRequest).url()).pathname).toBe('/login');
    const fromAction = await mail.waitForMail(actionEmail);

    // The route handler, called as a script in the page would call it.
    const viaRoute = await newPage();
    await viaRoute.page.goto('/login');
    const routeEmail = address('route');
    const answer = await viaRoute.page.evaluate(async (email) => {
      const response = await fetch('/api/auth/send-passwordless', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    }, routeEmail);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ok: true, email: routeEmail });
    const fromRoute = await mail.waitForMail(routeEmail);

    for (const [message, email] of [
      [fromAction, actionEmail],
      [fromRoute, routeEmail],
    ] as const) {
      expect(message.subject).toBe(fromAction.subject);
      expect(message.code).toMatch(/^\d{6}$/);
      expect(message.link?.startsWith(`${base}/api/auth/verify?link_token=`)).toBe(true);
      expect(message.text).toContain(email);
    }
    // Both set this browser's auth-request cookie: each link signs in where it was asked for.
    await viaRoute.page.goto(fromRoute.link!);
    await viaRoute.page.waitForURL(`${base}/dashboard`);
    await viaAction.page.goto(fromAction.link!);
    await viaAction.page.waitForURL(`${base}/dashboard`);
  });

  it('10: the session cookie is HttpOnly and SameSite=Lax; tampering with it signs the user out', async () => {
    const { context, page } = await newPage();
    const email = address('cookie');
    await requestEmail(page, email);
    await enterCode(page, (await mail.waitForMail(email)).code!);
    await page.waitForURL(`${base}/dashboard`);
    const cookie = sessionCookie(await context.cookies());
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: true, path: '/' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('sesame_session');

    const [header, payload, signature] = cookie!.value.split('.');
    const forged = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
    forged.email = 'admin@example.test';
    forged.sub = 'admin@example.test';
    const tampered = `${header!}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature!}`;
    await context.addCookies([{ ...cookie!, value: tampered }]);
    await page.goto('/dashboard');
    await page.waitForURL((url) => url.pathname === '/login');
    const session = await page.evaluate(async () => (await fetch('/api/auth/session')).json() as Promise<Record<string, unknown>>);
    expect(session).toEqual({ authenticated: false });
    expect(sessionCookie(await context.cookies())).toBeUndefined();
  });

  it('11: hostile X-Forwarded-Host, Forwarded, X-Forwarded-Proto and X-Forwarded-For on every request change nothing', async () => {
    const hostile = {
      'X-Forwarded-Host': 'evil.example',
      Forwarded: 'for=203.0.113.66;host=evil.example;proto=https',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Port': '443',
      'X-Forwarded-For': '203.0.113.66, 198.51.100.23',
    };
    const { page } = await newPage(hostile);
    const seen: Array<{ what: string; headers: Record<string, string> }> = [];
    page.on('request', (request) => {
      // Pages, Server Action posts and fetches to the app: the requests the kit reads.
      if (!['document', 'fetch', 'xhr'].includes(request.resourceType())) return;
      seen.push({ what: `${request.method()} ${request.url()}`, headers: request.headers() });
    });

    // Middleware: the login redirect stays on the app.
    await page.goto('/dashboard?x=1');
    await page.waitForURL((url) => url.pathname === '/login');
    expect(new URL(page.url()).origin).toBe(base);
    expect(new URL(page.url()).searchParams.get('next')).toBe('/dashboard?x=1');

    // The Server Action's email points at the configured app URL, and the link signs in here.
    const email = address('hostile-headers');
    await requestEmail(page, email, '');
    const { link } = await mail.waitForMail(email);
    expect(link?.startsWith(`${base}/api/auth/verify?link_token=`), link).toBe(true);
    await page.goto(link!);
    await page.waitForURL(`${base}/dashboard?x=1`);
    expect(await signedInEmail(page)).toBe(email);

    // Signed in, the login page sends every `next` that could leave the app to the default.
    for (const next of [
      '/.//evil.example',
      '/%2e//evil.example',
      '/a/..//evil.example',
      '/\\evil.example',
      '//evil.example',
      '/\t/evil.example',
      'https://evil.example/',
    ]) {
      await page.goto(`/login?next=${encodeURIComponent(next)}`);
      await page.waitForURL((url) => url.pathname === '/dashboard');
      expect(new URL(page.url()).origin, next).toBe(base);
    }

    // The route handler (JSON) with a hostile `next`: the link is the app's, verify lands on the app.
    const other = await newPage(hostile);
    await other.page.goto('/login');
    const routeEmail = address('hostile-route');
    const answer = await other.page.evaluate(
      async (body) => {
        const response = await fetch('/api/auth/send-passwordless', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return response.status;
      },
      { email: routeEmail, next: '/a/..//evil.example' },
    );
    expect(answer).toBe(200);
    const routeLink = (await mail.waitForMail(routeEmail)).link;
    expect(routeLink?.startsWith(`${base}/api/auth/verify?link_token=`), routeLink).toBe(true);
    await other.page.goto(routeLink!);
    await other.page.waitForURL(`${base}/dashboard`);

    // By code, after the Server Action carried a hostile `next` from the login URL.
    const byCode = await newPage(hostile);
    await byCode.page.goto(`/login?next=${encodeURIComponent('/%2e//evil.example')}`);
    const codeEmail = address('hostile-code');
    await requestEmail(byCode.page, codeEmail, '');
    await enterCode(byCode.page, (await mail.waitForMail(codeEmail)).code!);
    await byCode.page.waitForURL(`${base}/dashboard`);
    expect(await signedInEmail(byCode.page)).toBe(codeEmail);

    // The headers really were on the wire.
    expect(seen.length).toBeGreaterThan(3);
    const without = seen
      .filter((r) => r.headers['x-forwarded-host'] !== 'evil.example' || r.headers.forwarded === undefined)
      .map((r) => r.what);
    expect(without).toEqual([]);
  });

  it('refuses to start in production without APP_URL, and says so', async () => {
    const { code, output } = await startAppExpectingExit({
      port: await freePort(),
      env: {
        SESAME_URL: sesame!.url,
        SESAME_CLIENT_ID: sesame!.clientId,
        SESAME_CLIENT_SECRET: sesame!.clientSecret,
        SESSION_SECRET,
        APP_URL: '',
      },
      timeoutMs: 60_000,
    });
    expect(code, output).not.toBe(0);
    expect(output).toContain('APP_URL is not set');
  });

  it('keeps every secret out of the browser: built client chunks and the scripts the page loads', async () => {
    const staticDir = join(APP_DIR, '.next', 'static');
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else files.push(path);
      }
    };
    walk(staticDir);
    expect(files.some((f) => f.endsWith('.js'))).toBe(true);
    const secrets = [sesame!.clientSecret, SESSION_SECRET, ...Object.values(BUILD_CANARIES)];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const secret of secrets) expect(text.includes(secret), `${secret.slice(0, 6)}… in ${file}`).toBe(false);
    }

    const { page } = await newPage();
    const scripts: string[] = [];
    page.on('response', (response) => {
      if (response.request().resourceType() === 'script') scripts.push(response.url());
    });
    await page.goto('/login');
    await page.getByLabel('Email address').waitFor();
    expect(scripts.length).toBeGreaterThan(0);
    const bodies = [await page.content(), ...(await Promise.all(scripts.map(async (url) => (await fetch(url)).text())))];
    for (const body of bodies) for (const secret of secrets) expect(body.includes(secret)).toBe(false);
  });

  it(
    '7 (finish): an expired link or code shows the "expired" message with a way to start again',
    async () => {
      const wait = expiring.sentAt! + (EXPIRES_IN + 2) * 1000 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));

      const byCode = expiring.page!;
      await enterCode(byCode, expiring.code!);
      await waitUntil(
        'the expired message',
        async () => ((await errorText(byCode)) === 'This sign-in code or link has expired. Please request a new one.' ? true : undefined),
        10_000,
      );
      expect(new URL(byCode.url()).pathname).toBe('/login');

      const byLink = expiring.linkPage!;
      await byLink.goto(expiring.link!);
      // The message is shown once: the page then takes ?error= out of the address.
      await byLink.waitForURL((url) => url.pathname === '/login');
      await expect.poll(() => errorText(byLink)).toBe('This sign-in code or link has expired. Please request a new one.');
      // The way to start again is right there: the email form, which sends a fresh email.
      const email = address('expiring-linkPage');
      await requestEmail(byLink, email, '');
      await mail.waitForMail(email, 2);
    },
    (EXPIRES_IN + 40) * 1000,
  );
});
