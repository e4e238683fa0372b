/**
 * `npm run screenshots`: regenerates docs/screenshots/*.png from the real thing (the app's
 * production build, a `sesame start` process, real SMTP, Debian's Chromium). Every process it
 * starts is stopped by PID at the end, also on failure.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, REPO_ROOT, freePort, startSmtpCapture } from '@sesame/testkit';
import { ensureAppBuilt, startApp, startSesame, type Started } from './harness.js';

const OUT_DIR = join(REPO_ROOT, 'docs', 'screenshots');
const EMAIL = 'ada@example.com';

async function shoot(page: Page, name: string): Promise<void> {
  // Settle focus rings and the countdown so the image shows the page as a user first sees it.
  await page.waitForLoadState('networkidle');
  const path = join(OUT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  process.stderr.write(`screenshots: wrote ${path}\n`);
}

async function main(): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  await ensureAppBuilt();
  const mail = await startSmtpCapture({ waitTimeoutMs: 15_000 });
  let sesame: Started | undefined;
  let app: Started | undefined;
  let browser: Browser | undefined;
  try {
    const appPort = await freePort();
    const base = `http://127.0.0.1:${appPort}`;
    const started = await startSesame({ smtpUrl: mail.url, redirectUri: `${base}/api/auth/verify` });
    sesame = started;
    app = await startApp({
      port: appPort,
      env: {
        SESAME_URL: started.url,
        SESAME_CLIENT_ID: started.clientId,
        SESAME_CLIENT_SECRET: started.clientSecret,
        SESSION_SECRET: 'screenshots-only-session-secret-0123456789',
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    const options = { baseURL: base, viewport: { width: 960, height: 720 }, colorScheme: 'light' as const };

    const original = await (await browser.newContext(options)).newPage();
    await original.goto('/login');
    await shoot(original, 'login');

    await original.getByLabel('Email address').fill(EMAIL);
    await original.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await original.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    await shoot(original, 'check-inbox');

    const { link } = await mail.waitForMail(EMAIL);
    const elsewhere = await (await browser.newContext(options)).newPage();
    await elsewhere.goto(link!);
    await elsewhere.getByRole('button', { name: 'Continue signing in' }).waitFor();
    await shoot(elsewhere, 'confirmation');

    await elsewhere.getByRole('button', { name: 'Continue signing in' }).click();
    await elsewhere.waitForURL((url) => url.pathname === '/login');
    await shoot(elsewhere, 'other-browser');

    await original.goto(link!);
    await original.waitForURL(`${base}/dashboard`);
    await shoot(original, 'dashboard');
  } finally {
    await browser?.close().catch(() => undefined);
    await app?.stop();
    await sesame?.stop();
    await mail.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`screenshots: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
