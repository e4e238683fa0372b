/**
 * The real parts the browser tests drive, all on 127.0.0.1 with free ports: a `sesame start`
 * child process (with an API client made by `sesame clients create`) and `next start` serving
 * the reference app's production build; the SMTP capture and the process plumbing come from
 * @sesame/testkit. Every process is stopped by PID; every wait is bounded.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  REPO_ROOT,
  createApiClientWithCli,
  freePort,
  isolatedSesameEnv,
  nextBuildWarnings,
  startSmtpCapture,
  startProcess,
  startSesameProcess,
  waitUntil,
  withDirectoryLock,
  type RunningProcess,
  type SesameProcess,
  type SmtpCapture,
} from '@sesame/testkit';

export const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const NEXT_BIN = join(REPO_ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');

// ---------------------------------------------------------------------------------------------
// Processes

export interface Started extends RunningProcess {
  readonly url: string;
}

export interface SesameInstance extends SesameProcess {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly dataDir: string;
}

export async function startSesame(options: { smtpUrl: string; redirectUri: string }): Promise<SesameInstance> {
  const { dataDir, env } = isolatedSesameEnv('sesame-e2e-', {
    SESAME_SMTP_URL: options.smtpUrl,
    SESAME_ALLOWED_REDIRECT_URIS: options.redirectUri,
  });
  const client = await createApiClientWithCli({ env, name: 'example-next', redirectUri: options.redirectUri });
  const sesame = await startSesameProcess({ env, keepOutputChars: 20_000 });
  return Object.assign(sesame, { clientId: client.client_id, clientSecret: client.client_secret, dataDir });
}

function spawnApp(port: number, env: Record<string, string>): RunningProcess {
  return startProcess(process.execPath, [NEXT_BIN, 'start', '--hostname', '127.0.0.1', '--port', String(port)], {
    cwd: APP_DIR,
    // APP_URL (required in production) defaults to the address the app listens on.
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      APP_URL: `http://127.0.0.1:${port}`,
      ...env,
    },
    // Bounded: a chatty process must not grow the test's memory without limit.
    keepOutputChars: 20_000,
  });
}

export async function startApp(options: { port: number; env: Record<string, string> }): Promise<Started> {
  const started = spawnApp(options.port, options.env);
  const url = `http://127.0.0.1:${options.port}`;
  await waitUntil(
    `${url}/login to answer`,
    async () => {
      if (!started.running()) throw new Error(`process exited with ${started.child.exitCode}:\n${started.output}`);
      const response = await fetch(`${url}/login`, { redirect: 'manual', signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return response.status < 500;
    },
    60_000,
    200,
  );
  return Object.assign(started, { url });
}

/** `next start` expected to refuse to start: its exit code and output (stopped after the timeout). */
export async function startAppExpectingExit(options: {
  port: number;
  env: Record<string, string>;
  timeoutMs: number;
}): Promise<{ code: number | null; output: string }> {
  const started = spawnApp(options.port, options.env);
  const timer = setTimeout(() => void started.stop(), options.timeoutMs);
  const code = await started.exited;
  clearTimeout(timer);
  return { code, output: started.output };
}

// ---------------------------------------------------------------------------------------------
// The whole stack of a browser test file

export interface Stack {
  readonly mail: SmtpCapture;
  readonly sesame: SesameInstance;
  readonly app: Started;
  readonly browser: Browser;
  /** The app's URL, `http://127.0.0.1:PORT`. */
  readonly base: string;
  /** The app's own SQLite file (users, revoked sessions), in a temporary folder of this stack. */
  readonly usersDatabase: string;
  /** A fresh browser context (its own cookies) on the app, closed by `stop`. */
  newPage(options?: BrowserContextOptions): Promise<{ context: BrowserContext; page: Page }>;
  stop(): Promise<void>;
}

/**
 * The built app (`next start`) wired to a fresh `sesame start` and an SMTP capture, and a
 * Chromium: what every browser test file of the app starts with. `env` is the app's extra
 * environment (the Sesame variables and `USERS_DATABASE` are filled in).
 */
export async function startStack(env: Record<string, string>): Promise<Stack> {
  await ensureAppBuilt();
  const dataDir = mkdtempSync(join(tmpdir(), 'example-app-'));
  const usersDatabase = env.USERS_DATABASE ?? join(dataDir, 'users.db');
  const mail = await startSmtpCapture({ waitTimeoutMs: 15_000 });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const sesame = await startSesame({ smtpUrl: mail.url, redirectUri: `${base}/api/auth/verify` });
  const app = await startApp({
    port,
    env: {
      SESAME_URL: sesame.url,
      SESAME_CLIENT_ID: sesame.clientId,
      SESAME_CLIENT_SECRET: sesame.clientSecret,
      USERS_DATABASE: usersDatabase,
      ...env,
    },
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
  const contexts: BrowserContext[] = [];
  return {
    mail,
    sesame,
    app,
    browser,
    base,
    usersDatabase,
    async newPage(options = {}) {
      const context = await browser.newContext({ baseURL: base, ...options });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      return { context, page };
    },
    async stop() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await app.stop();
      await sesame.stop();
      await mail.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Build

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === '.next' || entry === 'test') continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/**
 * Secret-looking values present in the environment while `next build` runs. A client bundle
 * that captured server env at build time (a `NEXT_PUBLIC_` rename, `env` in next.config)
 * would contain them; the tests grep `.next/static` for them.
 */
export const BUILD_CANARIES = {
  SESAME_CLIENT_SECRET: 'canary-client-secret-7c4e1f09b2d8a356',
  SESSION_SECRET: 'canary-session-secret-e93b7a1d40c6f285-at-least-32-chars',
} as const;

/** What the last `next build` printed, kept next to the build. */
const BUILD_OUTPUT = join(APP_DIR, '.next', 'build-output.txt');

function buildIsFresh(): boolean {
  const buildId = join(APP_DIR, '.next', 'BUILD_ID');
  const marker = join(APP_DIR, '.next', 'built-with-canaries');
  const inputs = [
    join(APP_DIR, 'src'),
    join(APP_DIR, 'next.config.mjs'),
    join(APP_DIR, 'package.json'),
    join(REPO_ROOT, 'packages', 'nextjs', 'dist'),
    join(REPO_ROOT, 'packages', 'client', 'dist'),
  ];
  // The marker must be newer than the build: a build made elsewhere (npm start) had no canaries.
  if (!existsSync(buildId) || !existsSync(marker) || !existsSync(BUILD_OUTPUT)) return false;
  if (statSync(marker).mtimeMs < statSync(buildId).mtimeMs) return false;
  const built = statSync(buildId).mtimeMs;
  return inputs.every((p) => !existsSync(p) || newestMtime(p) < built);
}

/**
 * Runs `next build` unless `.next` is newer than every input (app sources, the kit's and the
 * client's built output): one build serves every later run and every test file, which wait
 * for each other on a lock rather than build into the same folder at once.
 */
export async function ensureAppBuilt(): Promise<void> {
  if (buildIsFresh()) return;
  await withDirectoryLock(join(APP_DIR, '.next-build.lock'), 600_000, async () => {
    if (buildIsFresh()) return;
    await buildApp();
  });
}

/** The warnings and deprecations of the last build's output. */
export function buildWarnings(): string[] {
  return nextBuildWarnings(readFileSync(BUILD_OUTPUT, 'utf8'));
}

async function buildApp(): Promise<void> {
  const marker = join(APP_DIR, '.next', 'built-with-canaries');
  // Asynchronous on purpose: a minute-long spawnSync would starve the test runner's own messages.
  const started = startProcess(process.execPath, [NEXT_BIN, 'build'], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      SESAME_URL: 'http://127.0.0.1:9',
      SESAME_CLIENT_ID: 'canary-client-id',
      ...BUILD_CANARIES,
    },
    keepOutputChars: 20_000,
  });
  const timer = setTimeout(() => void started.kill(), 600_000);
  const code = await started.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`next build failed (${code}):\n${started.output}`);
  writeFileSync(BUILD_OUTPUT, started.output);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
}
