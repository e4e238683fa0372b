/**
 * The admin dashboard end to end: Debian's Chromium driven by
 * playwright-core against a real `sesame start` child serving the built dashboard at /admin, a
 * real SMTP server catching the mail (and greylisting one address once), and a REST client made
 * with `sesame clients create --json`. Nothing is mocked. The greylisted send starts first and is
 * checked last, while the worker's ~10 s retry runs alongside the other tests.
 *
 * Screenshots of every page go to docs/screenshots/admin-*.png with ADMIN_SCREENSHOTS=1
 * (`npm run screenshots -w @sesame/admin-ui`), to a temporary directory otherwise.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  REPO_ROOT,
  requestAccessToken,
  startSmtpCapture,
  waitUntil,
  type SmtpCapture,
} from '@sesame/testkit';
import { GREYLIST_REPLY, send, startSesame, stopSesame, type Sesame } from './harness.js';

const run = randomBytes(3).toString('hex');
const address = (name: string): string => `${name}-${run}@example.test`;
const ADMIN = address('admin');
const STRANGER = address('stranger');
const FLAKY = address('flaky');

const KEEP_SHOTS = process.env.ADMIN_SCREENSHOTS === '1';
const SHOTS_DIR = KEEP_SHOTS ? join(REPO_ROOT, 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'admin-shots-'));
mkdirSync(SHOTS_DIR, { recursive: true });

let mail: SmtpCapture;
let sesame: Sesame | undefined;
let devSesame: Sesame | undefined;
let browser: Browser | undefined;
let admin: Page;
let redirectUri = '';
let restClient: { client_id: string; client_secret: string };
let elsewhere: Server | undefined;
const contexts: BrowserContext[] = [];

/** Every CSP violation and uncaught error any dashboard page reported (checked at the end). */
const pageProblems: string[] = [];

async function newPage(base: string): Promise<Page> {
  const context = await browser!.newContext({ baseURL: base, viewport: { width: 1280, height: 860 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) pageProblems.push(message.text());
  });
  page.on('pageerror', (error) => pageProblems.push(String(error)));
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  // No caret or hover noise in the pictures.
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(SHOTS_DIR, `admin-${name}.png`), fullPage: true, animations: 'disabled', caret: 'hide' });
}

async function restToken(): Promise<string> {
  const answer = await requestAccessToken(sesame!.url, restClient);
  expect(answer.status).toBe(200);
  return answer.token!;
}

/** The admin's cookies as a Cookie header, to replay them from outside the browser. */
async function cookieHeader(page: Page): Promise<string> {
  const cookies = await page.context().cookies();
  return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
}

async function requestSignIn(page: Page, email: string): Promise<void> {
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
}

// Generous per-test limit: in `npm test` this suite shares two cores with every other suite.
describe('admin dashboard in Chromium against sesame start', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    mail = await startSmtpCapture({ waitTimeoutMs: 15_000 });
    redirectUri = 'http://127.0.0.1:3999/auth/verify';
    // The instance without SMTP (the last test's) starts alongside: set-up time is shared.
    // Settled, not all: whatever did start is kept, so afterAll stops it even when one part failed.
    const [main, dev, chromiumStarted] = await Promise.allSettled([
      startSesame({ smtpUrl: mail.url, redirectUri }),
      startSesame({ redirectUri }),
      chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 }),
    ]);
    if (main.status === 'fulfilled') sesame = main.value;
    if (dev.status === 'fulfilled') devSesame = dev.value;
    if (chromiumStarted.status === 'fulfilled') browser = chromiumStarted.value;
    for (const started of [main, dev, chromiumStarted]) if (started.status === 'rejected') throw started.reason;
    if (!sesame) throw new Error('sesame did not start');
    const [created] = await Promise.all([
      sesame.cli(['clients', 'create', '--name', 'e2e-rest', '--redirect-uri', redirectUri, '--json']),
      sesame.cli(['admins', 'add', ADMIN]),
    ]);
    restClient = JSON.parse(created) as typeof restClient;
  }, 120_000);

  // On a failure, say what each open page showed: a browser test's timeout alone tells little.
  beforeEach(() => {
    onTestFailed(async () => {
      for (const context of contexts) {
        for (const page of context.pages()) {
          const text = await page
            .locator('body')
            .innerText({ timeout: 2_000 })
            .catch((error: unknown) => `(no text: ${String(error)})`);
          process.stderr.write(`--- ${page.url()}\n${text.slice(0, 1_500)}\n`);
        }
      }
      process.stderr.write(`--- sesame output:\n${sesame?.output.slice(-3_000) ?? ''}\n`);
    });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await stopSesame(sesame);
    await stopSesame(devSesame);
    await new Promise<void>((done) => (elsewhere ? elsewhere.close(() => done()) : done()));
    await mail.close();
    if (!KEEP_SHOTS) rmSync(SHOTS_DIR, { recursive: true, force: true });
  }, 30_000);

  it('starts a send whose first SMTP attempt is refused (checked last, in the activity list)', async () => {
    mail.failFirstAttempt(FLAKY, GREYLIST_REPLY);
    const sent = await send(sesame!.url, await restToken(), { email: FLAKY, template: 'SIGNIN', magiclink_auth_uri: redirectUri });
    expect(sent.status).toBe(200);
    await waitUntil('the first attempt to be refused', () => (mail.refused.some((r) => r.to === FLAKY) ? true : undefined), 10_000, 50);
    expect(mail.mailsTo(FLAKY).length).toBe(0);
  });

  it('answers 401 to /admin/api without a session, and says how to add the first admin', async () => {
    for (const path of ['/admin/api/session', '/admin/api/policy', '/admin/api/clients', '/admin/api/activity', '/admin/api/audit']) {
      const response = await fetch(`${sesame!.url}${path}`);
      expect(response.status, path).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code, path).toBe('UNAUTHENTICATED');
    }
    // The instance without SMTP has no admin yet: its sign-in page says how to add one.
    const page = await newPage(devSesame!.url);
    await page.goto('/admin');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByText('npx sesame admins add you@example.com').waitFor();
    await shot(page, 'setup');
  });

  it('a non-admin gets the same "check your inbox" answer, but no email and no access', async () => {
    const page = await newPage(sesame!.url);
    await page.goto('/admin/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByText('npx sesame admins add').count()).toBe(0);
    await requestSignIn(page, STRANGER);
    await shot(page, 'check-inbox');
    // A code guessed for the stranger's pending sign-in gets nowhere either.
    await page.getByLabel('One-time code').fill('123456');
    await page.getByRole('button', { name: 'Sign in with code' }).click();
    await page.getByRole('alert').waitFor();
    const session = await page.request.get('/admin/api/session');
    expect(session.status()).toBe(401);

    // The admin, asking after the stranger, gets an email; the stranger by then has none.
    admin = await newPage(sesame!.url);
    await admin.goto('/admin/');
    await shot(admin, 'signin');
    await requestSignIn(admin, ADMIN);
    await mail.waitForMail(ADMIN, 1);
    expect(mail.mailsTo(STRANGER).length).toBe(0);
  });

  it('signs the admin in by the emailed link: GET only shows "Continue sign-in", the POST signs in', async () => {
    const message = await mail.waitForMail(ADMIN, 1);
    expect(message.link).toBeDefined();
    const link = new URL(message.link!);
    expect(`${link.origin}${link.pathname}`).toBe(`${sesame!.url}/admin/verify`);

    // A mail scanner following the link (GET, no cookies) consumes nothing.
    const scanned = await fetch(link, { redirect: 'manual' });
    expect(scanned.status).toBe(200);
    expect(scanned.headers.get('content-security-policy')).toContain("script-src 'self'");
    await scanned.body?.cancel();

    await admin.goto(message.link!);
    const proceed = admin.getByRole('button', { name: 'Continue sign-in' });
    await proceed.waitFor();
    await shot(admin, 'verify');
    expect((await admin.request.get('/admin/api/session')).status()).toBe(401);
    await proceed.click();
    await admin.getByRole('heading', { name: 'Policy', level: 1 }).waitFor();
    await expect.poll(() => admin.getByTestId('admin-email').innerText()).toBe(ADMIN);
    expect(new URL(admin.url()).search).toBe('');
    expect((await admin.request.get('/admin/api/session')).status()).toBe(200);
  });

  it('refuses a cross-site POST without the CSRF token (403), with the session cookie attached', async () => {
    const cookie = await cookieHeader(admin);
    const before = ((await (await admin.request.get('/admin/api/clients')).json()) as { clients: unknown[] }).clients.length;

    // 1. A form on another origin posting to the admin API, in the admin's own browser.
    elsewhere = createServer((_req, res) =>
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'),
    );
    await new Promise<void>((done) => elsewhere!.listen(0, '127.0.0.1', done));
    const port = (elsewhere.address() as { port: number }).port;
    const attacker = await admin.context().newPage();
    await attacker.goto(`http://localhost:${port}/`);
    const answered = attacker.waitForResponse((r) => r.url() === `${sesame!.url}/admin/api/clients`);
    await attacker.evaluate((target) => {
      const form = document.createElement('form');
      form.method = 'POST';
      form.action = target;
      form.enctype = 'text/plain';
      const input = document.createElement('input');
      input.name = '{"name":"evil","x":"';
      input.value = '"}';
      form.append(input);
      document.body.append(form);
      form.submit();
    }, `${sesame!.url}/admin/api/clients`);
    expect([401, 403]).toContain((await answered).status());
    await attacker.close();

    // 2. The same from a script with the cookies replayed: no token → 403 CSRF_REJECTED.
    const post = (headers: Record<string, string>) =>
      fetch(`${sesame!.url}/admin/api/clients`, {
        method: 'POST',
        headers: { Cookie: cookie, 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ name: 'evil' }),
      });
    for (const headers of [{ Origin: `http://localhost:${port}` }, {}] as Record<string, string>[]) {
      const refused = await post(headers);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('CSRF_REJECTED');
    }
    // A token with a foreign Origin is refused too; the same token from the right origin works.
    const token = ((await (await admin.request.get('/admin/api/session')).json()) as { csrf_token: string }).csrf_token;
    const foreign = await post({ 'X-CSRF-Token': token, Origin: `http://localhost:${port}` });
    expect(foreign.status).toBe(403);
    await foreign.body?.cancel();
    const after = ((await (await admin.request.get('/admin/api/clients')).json()) as { clients: unknown[] }).clients.length;
    expect(after).toBe(before);
    const preview = await fetch(`${sesame!.url}/admin/api/templates/preview`, {
      method: 'POST',
      headers: { Cookie: cookie, 'Content-Type': 'application/json', 'X-CSRF-Token': token, Origin: sesame!.url },
      body: JSON.stringify({
        template: 'SIGNIN',
        subject: 'ok {{app_name}}',
        html: '<p>{{otp}}</p><a href="{{link}}">Sign in</a>',
        text: '{{otp}} {{link}}',
      }),
    });
    expect(preview.status).toBe(200);
    await preview.body?.cancel();
  });

  it('policy: a bad value is shown on its field; expiry 120 s and OTP then govern the next REST send', async () => {
    await admin.getByRole('link', { name: 'Policy' }).click();
    const expiry = admin.getByLabel('Expiry (seconds)');
    await expiry.fill('5');
    await admin.getByRole('button', { name: 'Save policy' }).click();
    await expect.poll(() => expiry.getAttribute('aria-invalid')).toBe('true');
    const fieldError = admin.locator('.field-invalid .field-error');
    await expect.poll(() => fieldError.count()).toBe(1);
    await expect.poll(() => fieldError.innerText()).not.toBe('');

    await expiry.fill('120');
    await admin.getByLabel('Passwordless type').selectOption('OTP');
    await admin.getByRole('button', { name: 'Save policy' }).click();
    await admin.getByText('Policy saved.').waitFor();
    await expect.poll(() => expiry.getAttribute('aria-invalid')).not.toBe('true');
    // The change history shows it.
    await admin
      .getByRole('region', { name: 'Change history' })
      .or(admin.locator('[aria-labelledby="audit-title"]'))
      .getByText('120')
      .first()
      .waitFor();
    await shot(admin, 'policy');

    const email = address('otp');
    const sent = await send(sesame!.url, await restToken(), { email, template: 'SIGNIN', magiclink_auth_uri: redirectUri });
    expect(sent.status).toBe(200);
    expect(sent.body.expires_in).toBe(120);
    expect(sent.body.passwordless_type).toBe('OTP');
    const message = await mail.waitForMail(email);
    expect(message.code).toMatch(/^[A-Za-z0-9]{6,8}$/);
    expect(message.text).not.toContain('link_token');
    expect(message.html).not.toContain('link_token');
  });

  it('templates: the preview shows an edit, a real send carries it, an unknown variable is refused clearly', async () => {
    await admin.getByRole('link', { name: 'Templates & branding' }).click();
    const subject = admin.getByLabel('Subject');
    await subject.waitFor();
    const html = admin.getByLabel('HTML body');
    const text = admin.getByLabel('Text body');
    await admin.getByTestId('preview-subject').waitFor();
    await shot(admin, 'templates');
    await subject.fill(`E2E subject ${run} for {{app_name}}`);
    await html.fill(`<h1>E2E heading ${run}</h1>${await html.inputValue()}`);
    await text.fill(`E2E text ${run}\n${await text.inputValue()}`);

    await expect.poll(() => admin.getByTestId('preview-subject').innerText()).toMatch(new RegExp(`^E2E subject ${run} for \\S`));
    const frame = admin.locator('iframe[title="HTML preview"]');
    await expect.poll(() => frame.getAttribute('sandbox')).toBe('');
    await expect
      .poll(() => admin.frameLocator('iframe[title="HTML preview"]').locator('h1').first().innerText())
      .toMatch(`E2E heading ${run}`);
    await expect.poll(() => admin.frameLocator('iframe[title="HTML preview"]').locator('body').innerText()).toContain('123456');

    await admin.getByRole('button', { name: 'Save template' }).click();
    await admin.getByText('SIGNIN template saved.').waitFor();

    const email = address('template');
    const sent = await send(sesame!.url, await restToken(), { email, template: 'SIGNIN', magiclink_auth_uri: redirectUri });
    expect(sent.status).toBe(200);
    const message = await mail.waitForMail(email);
    expect(message.subject).toMatch(new RegExp(`^E2E subject ${run} for \\S`));
    expect(message.html).toContain(`E2E heading ${run}`);
    expect(message.text).toContain(`E2E text ${run}`);

    // The test email goes to the signed-in admin with the saved template.
    await admin.getByRole('button', { name: 'Send a test email to me' }).click();
    await admin.getByText('A test email with the saved SIGNIN template is on its way').waitFor();
    expect((await mail.waitForMail(ADMIN, 2)).subject).toContain(`E2E subject ${run}`);

    // Branding: a new app name shows in the preview at once, and in the next email.
    await admin.getByLabel('App name').fill(`Acme ${run}`);
    await admin.getByRole('button', { name: 'Save branding' }).click();
    await admin.getByText('Branding saved.').waitFor();
    await expect.poll(() => admin.getByTestId('preview-subject').innerText()).toBe(`E2E subject ${run} for Acme ${run}`);
    const branded = address('branded');
    expect(
      (await send(sesame!.url, await restToken(), { email: branded, template: 'SIGNIN', magiclink_auth_uri: redirectUri })).status,
    ).toBe(200);
    expect((await mail.waitForMail(branded)).subject).toBe(`E2E subject ${run} for Acme ${run}`);

    // An unknown variable: the preview says so, and saving is refused with the field and the name.
    await html.fill(`<p>Hello {{nmae}}</p>${await html.inputValue()}`);
    await expect.poll(() => admin.getByTestId('preview-error').innerText()).toContain('{{nmae}}');
    await admin.getByRole('button', { name: 'Save template' }).click();
    // Two alerts say it: the preview's, and the refused save's (above the editor).
    const refusal = admin.getByRole('alert').filter({ hasText: 'This template is not valid' });
    await expect.poll(() => refusal.count()).toBe(2);
    const saveRefusal = admin.locator('.card > .alert-error');
    await expect.poll(() => saveRefusal.innerText()).toContain('html: unknown variable {{nmae}}');
    await expect.poll(() => html.getAttribute('aria-invalid')).toBe('true');
    await html.evaluate((element) => (element.scrollTop = 0));
    await shot(admin, 'templates-invalid');
    // Nothing was saved: the next email still has the good template.
    const again = address('template-again');
    expect((await send(sesame!.url, await restToken(), { email: again, template: 'SIGNIN', magiclink_auth_uri: redirectUri })).status).toBe(
      200,
    );
    expect((await mail.waitForMail(again)).html).not.toContain('nmae');
  });

  it('clients: created in the UI (secret shown once) it gets a token; rotated, the old secret and token fail; a send limit is set; revoked, 401', async () => {
    await admin.getByRole('link', { name: 'API clients' }).click();
    await admin.getByLabel('Client name').fill(`ui-client-${run}`);
    await admin.getByRole('button', { name: 'Create client' }).click();
    const secretBox = admin.getByRole('textbox', { name: 'Client secret' });
    await secretBox.waitFor();
    const clientId = await admin.getByRole('textbox', { name: 'Client ID' }).inputValue();
    const secret = await secretBox.inputValue();
    expect(secret.length).toBeGreaterThan(16);
    // "Copy" puts it on the clipboard.
    await admin.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: sesame!.url });
    await admin.getByRole('button', { name: 'Copy' }).nth(1).click();
    await admin.getByText('Copied to the clipboard.').waitFor();
    expect(await admin.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await shot(admin, 'clients');

    const first = await requestAccessToken(sesame!.url, { client_id: clientId, client_secret: secret });
    expect(first.status).toBe(200);
    const sent = await send(sesame!.url, first.token!, {
      email: address('ui-client'),
      template: 'SIGNIN',
      magiclink_auth_uri: redirectUri,
    });
    expect(sent.status).toBe(200);

    const row = admin.locator(`tr[data-client-id="${clientId}"]`);
    await admin.getByRole('button', { name: 'I have copied it' }).click();
    await expect.poll(() => secretBox.count()).toBe(0);
    // Rotate: a confirm dialog, then a new secret shown once; the old one stops working.
    await row.getByRole('button', { name: /Rotate secret/ }).click();
    await admin.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
    await secretBox.waitFor();
    const rotated = await secretBox.inputValue();
    expect(rotated).not.toBe(secret);
    expect((await requestAccessToken(sesame!.url, { client_id: clientId, client_secret: secret })).status).toBe(401);
    // The token issued before the rotation stops at once too.
    expect(
      (await send(sesame!.url, first.token!, { email: address('pre-rotation'), template: 'SIGNIN', magiclink_auth_uri: redirectUri }))
        .status,
    ).toBe(401);
    const second = await requestAccessToken(sesame!.url, { client_id: clientId, client_secret: rotated });
    expect(second.status).toBe(200);

    // Revoke: confirmed in a dialog; the token from before stops working at once.
    await admin.getByRole('button', { name: 'I have copied it' }).click();
    await admin.reload();
    await expect.poll(() => row.getByText('never').count()).toBe(0);
    // Send limit: a value out of range is refused in the dialog; a good one is saved and shown.
    await expect.poll(() => row.innerText()).toContain('default (1,000/min)');
    await row.getByRole('button', { name: /Send limit/ }).click();
    const limitDialog = admin.getByRole('dialog');
    await limitDialog.getByLabel('Sends a minute').fill('0');
    await limitDialog.getByRole('button', { name: 'Save limit' }).click();
    await limitDialog.getByText(/whole number from 1/).waitFor();
    await limitDialog.getByLabel('Sends a minute').fill('7');
    await limitDialog.getByRole('button', { name: 'Save limit' }).click();
    await row.getByText('7/min').waitFor();
    const listed = (await (await admin.request.get('/admin/api/clients')).json()) as {
      clients: { id: string; sends_per_minute: number | null }[];
    };
    expect(listed.clients.find((c) => c.id === clientId)?.sends_per_minute).toBe(7);
    await row.getByRole('button', { name: /Revoke/ }).click();
    const dialog = admin.getByRole('dialog');
    await expect.poll(() => dialog.innerText()).toContain('cannot be undone');
    await dialog.getByRole('button', { name: 'Revoke client' }).click();
    await row.getByText('revoked').waitFor();
    const refused = await send(sesame!.url, second.token!, {
      email: address('revoked'),
      template: 'SIGNIN',
      magiclink_auth_uri: redirectUri,
    });
    expect(refused.status).toBe(401);
    expect((await requestAccessToken(sesame!.url, { client_id: clientId, client_secret: rotated })).status).toBe(401);
  });

  it('activity: the greylisted send shows its failed attempt with the SMTP reply, then sent', async () => {
    await mail.waitForMail(FLAKY, 1, 30_000);
    await admin.getByRole('link', { name: 'Activity' }).click();
    await admin.getByLabel('Email address').fill(FLAKY);
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    const rows = admin.locator('table[aria-label="Auth requests"] tbody tr[data-ref]');
    await expect.poll(() => rows.count()).toBe(1);
    await expect.poll(() => rows.first().innerText()).toContain('f***@example.test');
    await expect.poll(() => rows.first().locator('.pill').last().innerText()).toMatch('sent');
    await rows
      .first()
      .getByRole('button', { name: /Timeline of/ })
      .click();
    const timeline = admin.getByRole('list', { name: /Delivery timeline/ });
    await expect.poll(() => timeline.innerText()).toContain('451');
    await expect.poll(() => timeline.innerText()).toContain(GREYLIST_REPLY);
    await expect.poll(() => timeline.locator('li').last().innerText()).toContain('Sent');

    // By status: the admin's own sign-in is the one verified request of this instance.
    await admin.getByLabel('Email address').fill('');
    await admin.getByLabel('Status').selectOption('verified');
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    await expect.poll(() => rows.first().innerText()).toContain('a***@example.test');
    expect(await rows.first().locator('.pill').first().innerText()).toBe('verified');

    // Unfiltered, newest first, with the other requests of this run.
    await admin.getByLabel('Status').selectOption('');
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    await rows.nth(1).waitFor();
    await rows
      .filter({ hasText: 'f***@example.test' })
      .first()
      .getByRole('button', { name: /Timeline of/ })
      .click();
    await shot(admin, 'activity');
  });

  it('signs out: back to the sign-in page, and the API answers 401', async () => {
    await admin.getByRole('button', { name: 'Sign out' }).click();
    await admin.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect((await admin.request.get('/admin/api/session')).status()).toBe(401);
    expect((await admin.request.get('/admin/api/policy')).status()).toBe(401);
  });

  it('without SMTP, keyboard only: the admin signs in with the code from the dev inbox, which the dashboard shows', async () => {
    const dev = devSesame!;
    const setup = (await (await fetch(`${dev.url}/admin/api/setup`)).json()) as { admins_exist: boolean; dev_inbox: boolean };
    expect(setup).toEqual({ admins_exist: false, dev_inbox: true });
    await dev.cli(['admins', 'add', ADMIN]);
    const page = await newPage(dev.url);
    await page.goto('/admin/');
    // No mouse from here on: the email field has focus, Enter submits, Tab moves.
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('type'))).toBe('email');
    await page.keyboard.type(ADMIN);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    const inbox = await waitUntil(
      'the sign-in email in the dev inbox',
      async () => {
        const answer = (await (await fetch(`${dev.url}/admin/api/dev-inbox`)).json()) as { messages: { to: string; text: string }[] };
        return answer.messages.find((m) => m.to.includes(ADMIN));
      },
      15_000,
    );
    const code = /code:\s*([A-Za-z0-9]{4,12})/.exec(inbox.text)?.[1];
    expect(code).toBeDefined();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('autocomplete'))).toBe('one-time-code');
    await page.keyboard.type(code!);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Policy', level: 1 }).waitFor();
    // Tab through the header to the Dev inbox link; each stop shows a focus ring.
    let reached = false;
    for (let i = 0; i < 12 && !reached; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const element = document.activeElement as HTMLElement | null;
        return { text: element?.textContent ?? '', outline: element ? getComputedStyle(element).outlineStyle : 'none' };
      });
      expect(focused.outline, `focus ring on "${focused.text}"`).not.toBe('none');
      reached = focused.text === 'Dev inbox';
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Dev inbox' }).waitFor();
    await expect.poll(() => page.locator('article').count()).toBe(1);
    await expect.poll(() => page.locator('article').innerText()).toContain(ADMIN);
    await shot(page, 'dev-inbox');
  });

  it('no page of the dashboard broke its CSP or threw', () => {
    expect(pageProblems).toEqual([]);
  });
});
