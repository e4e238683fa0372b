/**
 * The app written the way Scalekit's passwordless guide writes it (the official SDK, its own
 * routes and session), pointed at a real `sesame start` by its environment alone, driven in
 * Debian's Chromium: a magic link opened in the same browser, sign-out, a one-time code typed
 * on the login page, the resend cooldown, a wrong code. One `next build`, one Sesame, one browser.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  REPO_ROOT,
  createApiClientWithCli,
  freePort,
  isolatedSesameEnv,
  startProcess,
  startSesameProcess,
  startSmtpCapture,
  waitUntil,
  type RunningProcess,
  type SesameProcess,
  type SmtpCapture,
} from '@sesame/testkit';

const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const NEXT_BIN = join(REPO_ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
const BUILD_TIMEOUT_MS = 300_000;

const run = randomBytes(4).toString('hex');
const address = (name: string): string => `${name}-${run}@example.test`;

let mail: SmtpCapture | undefined;
let sesame: SesameProcess | undefined;
let dataDir: string | undefined;
let app: RunningProcess | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
let base = '';
const startedAt = Date.now();

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, entry) => Math.max(newest, newestMtime(join(path, entry))), stat.mtimeMs);
}

/** `next build`, unless `.next` is newer than the app's sources: one build serves later runs. */
async function ensureBuilt(): Promise<void> {
  const buildId = join(APP_DIR, '.next', 'BUILD_ID');
  const inputs = ['src', 'package.json', 'tsconfig.json'].map((p) => join(APP_DIR, p));
  if (existsSync(buildId) && inputs.every((p) => newestMtime(p) < statSync(buildId).mtimeMs)) return;
  // No Scalekit variables at build time: they are read when the server runs.
  const build = startProcess(process.execPath, [NEXT_BIN, 'build'], {
    cwd: APP_DIR,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
    keepOutputChars: 20_000,
  });
  const timer = setTimeout(() => void build.kill(), BUILD_TIMEOUT_MS);
  const code = await build.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`next build failed (${code}):\n${build.output}`);
}

/** `next start` with only what the guide's `.env.local` holds, Sesame standing in for Scalekit. */
async function startApp(port: number, env: Record<string, string>): Promise<RunningProcess> {
  const started = startProcess(process.execPath, [NEXT_BIN, 'start', '--hostname', '127.0.0.1', '--port', String(port)], {
    cwd: APP_DIR,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1', ...env },
    keepOutputChars: 20_000,
  });
  await waitUntil(
    'the app to answer',
    async () => {
      if (!started.running()) throw new Error(`next start exited (${started.child.exitCode}):\n${started.output}`);
      const response = await fetch(`${base}/login`, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return response.status === 200;
    },
    60_000,
    200,
  );
  return started;
}

async function requestEmail(email: string): Promise<void> {
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Continue with email' }).click();
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
}

async function sessionEmail(): Promise<unknown> {
  const response = await page.request.get(`${base}/api/auth/session`);
  return ((await response.json()) as { email: unknown }).email;
}

/** A six-digit code that is not `code`. */
function wrongCode(code: string): string {
  return code
    .split('')
    .map((digit) => String((Number(digit) + 1) % 10))
    .join('');
}

describe('the Scalekit guide app against Sesame, in Chromium', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    const appPort = await freePort();
    base = `http://127.0.0.1:${appPort}`;
    mail = await startSmtpCapture({ waitTimeoutMs: 15_000 });
    const isolated = isolatedSesameEnv('sesame-guide-app-', { SESAME_SMTP_URL: mail.url });
    dataDir = isolated.dataDir;
    // The build and Sesame's start overlap: they do not depend on each other.
    const [client] = await Promise.all([
      // The verify URL is registered as the client's redirect URI: the README's first way.
      createApiClientWithCli({ env: isolated.env, name: 'guide-app', redirectUri: `${base}/api/auth/verify` }),
      ensureBuilt(),
    ]);
    sesame = await startSesameProcess({ env: isolated.env, keepOutputChars: 20_000 });
    app = await startApp(appPort, {
      SCALEKIT_ENVIRONMENT_URL: sesame.url,
      SCALEKIT_CLIENT_ID: client.client_id,
      SCALEKIT_CLIENT_SECRET: client.client_secret,
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      APP_URL: base,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
  }, BUILD_TIMEOUT_MS + 120_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await app?.stop();
    await sesame?.stop();
    await mail?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    console.log(`guide app e2e: ${((Date.now() - startedAt) / 1000).toFixed(1)} s wall time`);
  }, 30_000);

  it('sends a visitor of /dashboard to the login page, then signs in by the emailed magic link', async () => {
    await page.goto(`${base}/dashboard`);
    expect(page.url()).toBe(`${base}/login?next=%2Fdashboard`);
    const email = address('link');
    await requestEmail(email);

    const message = await mail!.waitForMail(email);
    expect(message.link).toMatch(new RegExp(`^${base}/api/auth/verify\\?link_token=[\\w-]+$`));
    await page.goto(message.link!);
    expect(page.url()).toBe(`${base}/dashboard`);
    await expect.poll(() => page.getByTestId('session-email').textContent()).toBe(email);
    expect(await sessionEmail()).toBe(email);

    const cookie = (await context!.cookies()).find((c) => c.name === 'session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: true, path: '/' });
    // The pending sign-in is gone with its use.
    expect((await context!.cookies()).map((c) => c.name)).not.toContain('auth_request_id');
  });

  it('signs out: the session cookie is cleared and /dashboard asks for a sign-in again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/login`);
    expect((await context!.cookies()).map((c) => c.name)).not.toContain('session');
    expect(await sessionEmail()).toBeNull();
    await page.goto(`${base}/dashboard`);
    expect(page.url()).toBe(`${base}/login?next=%2Fdashboard`);
  });

  it('counts the resend cooldown down, refuses a wrong code, and signs in by the code typed in', async () => {
    // Only the page's clock is faked (and held still), so the 30-second cooldown is not waited out.
    await page.clock.install();
    await page.goto(`${base}/login`);
    await page.clock.pauseAt(Date.now() + 1_000);
    const email = address('code');
    await requestEmail(email);
    await mail!.waitForMail(email);

    const cooling = page.getByRole('button', { name: /^Resend email in \d+s$/ });
    await expect.poll(() => cooling.textContent()).toBe('Resend email in 30s');
    expect(await cooling.isDisabled()).toBe(true);
    await page.clock.fastForward(10_000);
    await expect.poll(() => cooling.textContent()).toBe('Resend email in 20s');
    await page.clock.fastForward(20_000);
    const resend = page.getByRole('button', { name: 'Resend email', exact: true });
    await expect.poll(() => resend.isEnabled()).toBe(true);

    await resend.click();
    const resent = await mail!.waitForMail(email, 2);
    await expect.poll(() => cooling.textContent()).toBe('Resend email in 30s');
    expect(await cooling.isDisabled()).toBe(true);

    await page.getByLabel('One-time code').fill(wrongCode(resent.code!));
    await page.getByRole('button', { name: 'Verify code' }).click();
    await expect.poll(() => page.locator('p.error').textContent()).toBe('That code is incorrect or has expired.');
    expect(page.url()).toBe(`${base}/login`);
    expect(await sessionEmail()).toBeNull();

    await page.getByLabel('One-time code').fill(resent.code!);
    await page.getByRole('button', { name: 'Verify code' }).click();
    await page.waitForURL(`${base}/dashboard`);
    await expect.poll(() => page.getByTestId('session-email').textContent()).toBe(email);
    expect(await sessionEmail()).toBe(email);
  });
});
