/**
 * The login screens on a phone: Debian's Chromium at 320, 375 and 1280 px against the production
 * build, a real `sesame start` and a real SMTP server, with a long address (a 64-character local
 * part and a long domain). It also writes the screenshots in docs/screenshots.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type SmtpCapture } from '@sesame/testkit';
import { startStack, type Stack } from './harness.js';

const SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots');
const WIDTHS = [320, 375, 1280] as const;
const SHOT_WIDTHS: ReadonlySet<number> = new Set([375, 1280]);
const TIME_ZONE = 'Asia/Kolkata';
const VERIFY_PER_MINUTE = 20;
const CODE_WRONG = 'That code or link is not valid.';
const RATE_LIMITED = 'Too many requests from your network. Please wait a moment.';

let stack: Stack | undefined;
let mail: SmtpCapture;
let base = '';

const run = randomBytes(4).toString('hex');
const DOMAIN = 'a-rather-long-organisation-name-for-wrapping.example-mail.test';
/** A 64-character local part (the most an address may have); the fixed one keeps screenshots stable. */
function longAddress(tag: string): string {
  const start = `${tag}.${run}.`;
  return `${start}${'x'.repeat(64 - start.length)}@${DOMAIN}`;
}
const SHOWN_ADDRESS = `${'firstname.middlename.lastname.department.team.'.padEnd(64, 'x')}@${DOMAIN}`;

async function newPage(options: BrowserContextOptions = {}): Promise<{ context: BrowserContext; page: Page }> {
  return stack!.newPage({ viewport: { width: 375, height: 740 }, locale: 'en-US', colorScheme: 'light', ...options });
}

/** Asserts at every width that the page does not scroll sideways; shoots the 375 and 1280 px views. */
async function checkWidths(page: Page, step: string, shot?: string): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width < 1000 ? 740 : 800 });
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    expect(scrollWidth, `${step} at ${width} px`).toBeLessThanOrEqual(innerWidth);
    if (shot !== undefined && SHOT_WIDTHS.has(width)) {
      await page.screenshot({ path: join(SCREENSHOTS, `${shot}-${width}.png`), animations: 'disabled', caret: 'hide' });
    }
  }
  await page.setViewportSize({ width: 375, height: 740 });
}

async function requestEmail(page: Page, email: string): Promise<void> {
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
}

/** Submits the code form and waits for the verify route's answer (a fetch: no page load). */
async function enterCode(page: Page, code: string): Promise<number> {
  await page.getByLabel('One-time code').fill(code);
  const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/auth/verify' && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Sign in with code' }).click();
  return (await answered).status();
}

const alertText = (page: Page): Promise<string | null> => page.locator('p.alert-error').textContent();
const codeInvalid = (page: Page): Promise<string | null> => page.getByLabel('One-time code').getAttribute('aria-invalid');
const focusedId = (page: Page): Promise<string> => page.evaluate(() => document.activeElement?.id ?? '');

describe('example-next login on phone-sized screens', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    stack = await startStack({
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      RESEND_COOLDOWN_SECONDS: '30',
      THROTTLE_SEND_PER_MINUTE: '1000',
      // Room for every sign-in here; the last test runs into it on purpose.
      THROTTLE_VERIFY_PER_MINUTE: String(VERIFY_PER_MINUTE),
    });
    ({ mail, base } = stack);
  }, 900_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it('fits 320, 375 and 1280 px with a long address; a wrong code keeps focus in the field; times are local', async () => {
    const { page } = await newPage({ timezoneId: TIME_ZONE });
    await page.goto('/login');
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    expect(await alertText(page)).toBe('Enter your email address.');
    expect(await page.getByLabel('Email address').getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Email address').fill(SHOWN_ADDRESS);
    await checkWidths(page, 'email step', 'login');

    await requestEmail(page, SHOWN_ADDRESS);
    await checkWidths(page, 'inbox step');
    const { code, link } = await mail.waitForMail(SHOWN_ADDRESS);
    expect(code).toMatch(/^\d{6}$/);

    await page.getByRole('button', { name: 'Sign in with code' }).click();
    expect(await alertText(page)).toBe('Enter the 6-digit code from the email.');

    // A marker in the page's memory: a reload would erase it.
    await page.evaluate(() => Object.assign(window, { stillHere: true }));
    const wrong = code === '000000' ? '111111' : '000000';
    expect(await enterCode(page, wrong)).toBe(400);
    await expect.poll(() => alertText(page)).toBe(CODE_WRONG);
    expect(await page.evaluate(() => (window as { stillHere?: boolean }).stillHere)).toBe(true);
    expect(await focusedId(page)).toBe('code');
    // The wrong code is selected: typing the next one replaces it.
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).selectionEnd)).toBe(wrong.length);
    expect(await codeInvalid(page)).toBe('true');
    expect(new URL(page.url()).search).toBe('');
    await checkWidths(page, 'code error', 'check-inbox-code-error');

    // The kit's confirmation page, for the link opened in another browser.
    const elsewhere = await newPage();
    await elsewhere.page.goto(link!);
    await elsewhere.page.getByRole('button', { name: 'Continue signing in' }).waitFor();
    await checkWidths(elsewhere.page, 'confirmation page', 'confirmation');

    expect(await enterCode(page, code!)).toBe(200);
    await page.waitForURL(`${base}/dashboard`);
    expect(await page.getByTestId('signed-in-email').textContent()).toBe(SHOWN_ADDRESS);
    const avatar = await page.locator('.avatar').boundingBox();
    expect(avatar!.width).toBeCloseTo(avatar!.height, 0);
    await expect.poll(() => page.getByTestId('local-time').first().textContent()).toContain('GMT+5:30');
    const times = await page
      .getByTestId('local-time')
      .evaluateAll((nodes) => nodes.map((node) => ({ iso: node.getAttribute('datetime') ?? '', text: node.textContent })));
    expect(times.length).toBeGreaterThan(0);
    for (const { iso, text } of times) {
      expect(iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const local = new Intl.DateTimeFormat('en-US', {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        timeZoneName: 'short',
        timeZone: TIME_ZONE,
      }).format(new Date(iso));
      expect(text).toBe(local);
    }
    await checkWidths(page, 'dashboard', 'dashboard');
  });

  it('signs in by code without JavaScript: a wrong code reloads with the message, the right one signs in', async () => {
    const { page } = await newPage({ javaScriptEnabled: false });
    const email = longAddress('nojs');
    await page.goto('/login');
    await requestEmail(page, email);
    const { code } = await mail.waitForMail(email);
    await page.getByLabel('One-time code').fill(code === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Sign in with code' }).click();
    await page.waitForURL((url) => url.searchParams.get('error') === 'INVALID_CREDENTIAL');
    expect(await alertText(page)).toBe(CODE_WRONG);
    expect(await codeInvalid(page)).toBe('true');
    await page.getByLabel('One-time code').fill(code!);
    await page.getByRole('button', { name: 'Sign in with code' }).click();
    await page.waitForURL(`${base}/dashboard`);
    expect(await page.getByTestId('signed-in-email').textContent()).toBe(email);
  });

  it('"Use a different email" survives a reload', async () => {
    const { page } = await newPage();
    await page.goto('/login');
    await requestEmail(page, longAddress('cancel'));
    const cancelled = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/auth/cancel');
    await page.getByRole('button', { name: 'Use a different email' }).click();
    expect((await cancelled).status()).toBe(200);
    await page.getByLabel('Email address').waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Check your inbox' }).count()).toBe(0);
  });

  it('moves the waiting tab on by itself when the link is opened in another tab', async () => {
    const { context, page } = await newPage();
    await page.goto('/login?next=/dashboard%3Ffrom%3Dtab');
    const email = longAddress('tab');
    await requestEmail(page, email);
    const { link } = await mail.waitForMail(email);
    const other = await context.newPage();
    await other.goto(link!);
    await other.waitForURL(`${base}/dashboard?from=tab`);
    // The user comes back to the first tab; nothing there is clicked.
    await page.bringToFront();
    await page.waitForURL(`${base}/dashboard?from=tab`, { timeout: 10_000 });
    expect(await page.getByTestId('signed-in-email').textContent()).toBe(email);
  });

  it('a rate limit is not the code field’s fault: the message shows, the field is not marked invalid', async () => {
    const { page } = await newPage();
    await page.goto('/login');
    const email = longAddress('limit');
    await requestEmail(page, email);
    const { code } = await mail.waitForMail(email);
    await enterCode(page, code === '000000' ? '111111' : '000000');
    await expect.poll(() => alertText(page)).toBe(CODE_WRONG);
    expect(await codeInvalid(page)).toBe('true');

    // Use up this minute's verify allowance from another browser (the same address to the app).
    const elsewhere = await newPage();
    await elsewhere.page.goto('/login');
    const statuses = await elsewhere.page.evaluate(async (limit) => {
      const seen: number[] = [];
      for (let i = 0; i <= limit; i++) {
        const response = await fetch('/api/auth/verify', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        seen.push(response.status);
        if (response.status === 429) break;
      }
      return seen;
    }, VERIFY_PER_MINUTE);
    expect(statuses.at(-1)).toBe(429);

    expect(await enterCode(page, '111111')).toBe(429);
    await expect.poll(() => alertText(page)).toContain(RATE_LIMITED);
    expect(await codeInvalid(page)).toBe('false');
    expect(await focusedId(page)).toBe('code');
  });
});
