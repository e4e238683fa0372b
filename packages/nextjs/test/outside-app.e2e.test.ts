/**
 * The kit as a team adopts it: the three packages packed, an app written from this package's
 * README (only the files it gives) in a temporary folder outside the repository, installed with
 * Next.js from the registry, built and started, on Next.js 16 and on Next.js 15.5; `sesame` from
 * the packed server; real SMTP capture; real Chromium. Nothing is mocked.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  freePort,
  killStartedProcesses,
  makeOutsideDir,
  nextBuildWarnings,
  packSesame,
  startSmtpCapture,
  type PackedSesame,
  type SmtpCapture,
} from '@sesame/testkit';
import {
  buildApp,
  installServer,
  readmeAppFor,
  startApp,
  startOutsideSesame,
  timed,
  timings,
  writeAndInstall,
  writeEnvLocal,
  type NextVersion,
  type OutsideSesame,
  type PreparedApp,
  type StartedApp,
} from './outside-app.js';

const removeDir = (dir: string): void => rmSync(dir, { recursive: true, force: true });

/** Next.js 15.5 first: its webpack build is the longest step, so it starts as soon as it can. */
const VERSIONS: readonly NextVersion[] = [
  { label: 'Next.js 15.5', major: 15, spec: 'next@~15.5.0' },
  { label: 'Next.js 16', major: 16, spec: 'next@~16.5.0' },
];

const run = randomBytes(4).toString('hex');
const started = performance.now();
let packed: PackedSesame;
let mail: SmtpCapture | undefined;
let sesame: OutsideSesame | undefined;
/** Every folder this file made; removed at the end (each app's holds a few hundred MB). */
const outsideDirs: string[] = [];
let browser: Browser | undefined;
const ports = new Map<number, number>();
/**
 * Each version's app, installed and built while the server starts and the earlier version is
 * tested: the builds are what take the time, so they start as early as they can.
 */
const prepared = new Map<number, Promise<PreparedApp>>();

function prepare(version: NextVersion, previousBuild: Promise<unknown>): Promise<PreparedApp> {
  const dir = makeOutsideDir(`sesame-outside-next${version.major}-`);
  outsideDirs.push(dir);
  const install = timed(`install next ${version.major}`, () => writeAndInstall(dir, version, packed));
  // One build at a time: two at once would only split the same two cores.
  const app = Promise.all([install, previousBuild.catch(() => undefined)]).then(async ([installed]) => {
    const buildOutput = await timed(`build next ${version.major}`, () => buildApp(installed.dir));
    return { ...installed, buildOutput };
  });
  // Awaited by the version's own tests; a failure is reported there, not as unhandled.
  app.catch(() => undefined);
  return app;
}

async function newPage(base: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser!.newContext({ baseURL: base });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return { context, page };
}

/** The README's login form, as a user fills it. */
async function requestEmail(page: Page, email: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
}

async function expectSignedIn(page: Page, base: string, email: string): Promise<void> {
  await page.waitForURL(`${base}/dashboard`);
  await expect.poll(() => page.locator('main').textContent()).toContain(`Signed in as ${email}`);
  const me = await page.request.get('/api/me');
  expect(me.status()).toBe(200);
  expect(await me.json()).toEqual({ email });
}

describe('an app written from the README, outside the repository', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    packed = await timed('pack', () => packSesame());
    let previousBuild: Promise<unknown> = Promise.resolve();
    for (const version of VERSIONS) {
      ports.set(version.major, await freePort());
      previousBuild = prepared.set(version.major, prepare(version, previousBuild)).get(version.major)!;
    }
    const serverDir = makeOutsideDir('sesame-outside-server-');
    outsideDirs.push(serverDir);
    await timed('install server', () => installServer(serverDir, packed));
    mail = await startSmtpCapture({ waitTimeoutMs: 20_000 });
    sesame = await timed('start sesame', () =>
      startOutsideSesame(serverDir, {
        smtpUrl: mail!.url,
        redirectUris: [...ports.values()].map((port) => `http://127.0.0.1:${port}/api/auth/verify`),
      }),
    );
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
  }, 600_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await sesame?.stop();
    await mail?.close();
    // A build still running (a failed setup) would keep writing into a folder being removed.
    await killStartedProcesses();
    for (const dir of [...outsideDirs, sesame?.dataDir]) if (dir !== undefined) removeDir(dir);
    const summary = Object.entries(timings).map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`);
    console.info(`outside-app timings: ${summary.join(', ')}; total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }, 120_000);

  it('the README gives the proxy to Next.js 16 and the middleware to Next.js 15.5, and both the same routes', () => {
    const [next15, next16] = VERSIONS.map((version) => readmeAppFor(version));
    expect(next16!.files.has('src/proxy.ts')).toBe(true);
    expect(next16!.files.has('src/middleware.ts')).toBe(false);
    expect(next16!.files.get('next.config.ts')).toContain('skipProxyUrlNormalize: true');
    expect(next15!.files.has('src/middleware.ts')).toBe(true);
    expect(next15!.files.has('src/proxy.ts')).toBe(false);
    expect(next15!.files.get('next.config.ts')).toContain('skipMiddlewareUrlNormalize: true');
    for (const route of ['send-passwordless', 'resend-passwordless', 'verify', 'session', 'logout', 'cancel']) {
      expect(next16!.files.has(`src/app/api/auth/${route}/route.ts`)).toBe(true);
    }
  });

  for (const version of VERSIONS) {
    describe(version.label, () => {
      let app: StartedApp | undefined;
      let base = '';
      let built: PreparedApp | undefined;
      const contexts: BrowserContext[] = [];
      const page = async (): Promise<Page> => {
        const opened = await newPage(base);
        contexts.push(opened.context);
        return opened.page;
      };
      const address = (name: string): string => `${name}-${version.major}-${run}@example.test`;

      beforeAll(async () => {
        built = await prepared.get(version.major)!;
        writeEnvLocal(built.dir, readmeAppFor(version).envKeys, {
          SESAME_URL: sesame!.url,
          SESAME_CLIENT_ID: sesame!.clientId,
          SESAME_CLIENT_SECRET: sesame!.clientSecret,
          SESSION_SECRET: randomBytes(32).toString('base64url'),
          APP_URL: `http://127.0.0.1:${ports.get(version.major)}`,
        });
        app = await timed(`start next ${version.major}`, () => startApp(built!.dir, ports.get(version.major)!));
        base = app.url;
        // Bounded by the install (4 min) and the builds (7 min each) it waits for.
      }, 900_000);

      afterAll(async () => {
        for (const context of contexts) await context.close().catch(() => undefined);
        await app?.stop();
      }, 30_000);

      it('installs next beside the kit without a peer conflict, and builds without a warning', () => {
        expect(built!.npmOutput).not.toMatch(/ERESOLVE|peer dep/i);
        expect(nextBuildWarnings(built!.buildOutput)).toEqual([]);
      });

      it('sends a signed-out visitor of the protected page to the login page', async () => {
        const signedOut = await page();
        await signedOut.goto('/dashboard');
        await signedOut.waitForURL((url) => url.pathname === '/login');
        expect(new URL(signedOut.url()).searchParams.get('next')).toBe('/dashboard');
        await signedOut.getByRole('heading', { name: 'Sign in' }).waitFor();
        const me = await signedOut.request.get('/api/me');
        expect(me.status()).toBe(401);
      });

      it('signs in by the link in the same browser, then signs out', async () => {
        const user = await page();
        const email = address('link');
        await requestEmail(user, email);
        await user.goto((await mail!.waitForMail(email)).link!);
        await expectSignedIn(user, base, email);

        await user.getByRole('button', { name: 'Sign out' }).click();
        await user.waitForURL((url) => url.pathname === '/login' && url.searchParams.get('signed_out') === '1');
        await user.getByText('You have been signed out.').waitFor();
        expect((await user.request.get('/api/me')).status()).toBe(401);
        await user.goto('/dashboard');
        await user.waitForURL((url) => url.pathname === '/login');
      });

      it('starts again with a different email, then signs in by the code', async () => {
        const user = await page();
        await requestEmail(user, address('typo'));
        await user.getByRole('button', { name: 'Use a different email' }).click();
        await user.getByRole('heading', { name: 'Sign in' }).waitFor();
        await user.reload();
        await user.getByRole('heading', { name: 'Sign in' }).waitFor();

        const email = address('code');
        await requestEmail(user, email);
        const { code } = await mail!.waitForMail(email);
        expect(code).toMatch(/^\d{6}$/);
        await user.getByLabel('One-time code').fill(code!);
        await user.getByRole('button', { name: 'Sign in with code' }).click();
        await expectSignedIn(user, base, email);
      });
    });
  }
});
