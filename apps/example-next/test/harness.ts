/**
 * The real parts the browser tests drive, all on 127.0.0.1 with free ports: an SMTP server that
 * keeps every message (parsed with mailparser), a `sesame start` child process delivering to
 * it, and `next start` serving the reference app's production build. Every process is started
 * here, remembered by PID and stopped by PID; every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = join(APP_DIR, '..', '..');
const NEXT_BIN = join(REPO_DIR, 'node_modules', 'next', 'dist', 'bin', 'next');
const SESAME_BIN = join(REPO_DIR, 'bin', 'sesame.js');

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? ` (last error: ${lastError.message})` : ''}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Mail

export interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly link: string | undefined;
  readonly code: string | undefined;
  readonly receivedAt: number;
}

export interface MailCatcher {
  readonly port: number;
  readonly mails: Mail[];
  /** The n-th (0-based) message to `to`, waiting for it to arrive. */
  nth(to: string, index: number, timeoutMs?: number): Promise<Mail>;
  count(to: string): number;
  close(): Promise<void>;
}

export async function startMailCatcher(): Promise<MailCatcher> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
      simpleParser(stream)
        .then((parsed) => {
          const text = parsed.text ?? '';
          const html = typeof parsed.html === 'string' ? parsed.html : '';
          for (const to of recipients) {
            mails.push({
              to,
              subject: parsed.subject ?? '',
              text,
              html,
              link: /(https?:\/\/\S*[?&]link_token=[\w-]+)/.exec(text)?.[1],
              code: /code:\s*([A-Za-z0-9]{4,12})/.exec(text)?.[1],
              receivedAt: Date.now(),
            });
          }
          callback();
        })
        .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const of = (to: string): Mail[] => mails.filter((m) => m.to === to.toLowerCase());
  return {
    port,
    mails,
    nth: (to, index, timeoutMs = 15_000) => waitUntil(`email #${index + 1} to ${to}`, () => of(to)[index], timeoutMs, 50),
    count: (to) => of(to).length,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------------
// Processes

export interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
}

function spawnLogged(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer): void => {
    // Bounded: a chatty process must not grow the test's memory without limit.
    log = (log + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { child, output: () => log };
}

/** SIGTERM by PID, SIGKILL if it has not exited within the grace period. */
export async function stopProcess(child: ChildProcess | undefined, graceMs = 5_000): Promise<void> {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

async function waitForHttp(url: string, started: { child: ChildProcess; output: () => string }, timeoutMs: number): Promise<void> {
  await waitUntil(
    `${url} to answer`,
    async () => {
      if (started.child.exitCode !== null) throw new Error(`process exited with ${started.child.exitCode}:\n${started.output()}`);
      const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return response.status < 500 ? true : undefined;
    },
    timeoutMs,
    200,
  );
}

export interface SesameInstance extends Started {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly dataDir: string;
}

export async function startSesame(options: { smtpPort: number; redirectUri: string }): Promise<SesameInstance> {
  if (!existsSync(join(REPO_DIR, 'packages', 'server', 'dist', 'cli.js'))) {
    throw new Error('packages/server is not built: run `npm run build` at the repository root first.');
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'sesame-e2e-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    SESAME_DATA_DIR: dataDir,
    SESAME_DATABASE_URL: `file:${join(dataDir, 'sesame.db')}`,
    SESAME_SECRET: randomBytes(32).toString('base64url'),
    SESAME_SMTP_URL: `smtp://127.0.0.1:${options.smtpPort}`,
    SESAME_ALLOWED_REDIRECT_URIS: options.redirectUri,
    SESAME_LOG_LEVEL: 'warn',
  };
  const created = spawnSync(
    process.execPath,
    [SESAME_BIN, 'clients', 'create', '--name', 'example-next', '--redirect-uri', options.redirectUri, '--json'],
    {
      cwd: REPO_DIR,
      env,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  if (created.status !== 0) throw new Error(`sesame clients create failed (${created.status}): ${created.stderr}`);
  const client = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
  const started = spawnLogged(process.execPath, [SESAME_BIN, 'start'], { cwd: REPO_DIR, env });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, started, 30_000);
  return { ...started, url, clientId: client.client_id, clientSecret: client.client_secret, dataDir };
}

function spawnApp(port: number, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  return spawnLogged(process.execPath, [NEXT_BIN, 'start', '--hostname', '127.0.0.1', '--port', String(port)], {
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
  });
}

export async function startApp(options: { port: number; env: Record<string, string> }): Promise<Started> {
  const started = spawnApp(options.port, options.env);
  const url = `http://127.0.0.1:${options.port}`;
  await waitForHttp(`${url}/login`, started, 60_000);
  return { ...started, url };
}

/** `next start` expected to refuse to start: its exit code and output (killed after the timeout). */
export async function startAppExpectingExit(options: {
  port: number;
  env: Record<string, string>;
  timeoutMs: number;
}): Promise<{ code: number | null; output: string }> {
  const started = spawnApp(options.port, options.env);
  const exited = new Promise<number | null>((resolve) => started.child.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => void stopProcess(started.child), options.timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return { code, output: started.output() };
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
 * Runs `next build` unless `.next` is newer than every input (app sources, the kit's and the
 * client's built output): one build serves every later run, so the suite stays lean.
 */
/**
 * Secret-looking values present in the environment while `next build` runs. A client bundle
 * that captured server env at build time (a `NEXT_PUBLIC_` rename, `env` in next.config)
 * would contain them; the tests grep `.next/static` for them.
 */
export const BUILD_CANARIES = {
  SESAME_CLIENT_SECRET: 'canary-client-secret-7c4e1f09b2d8a356',
  SESSION_SECRET: 'canary-session-secret-e93b7a1d40c6f285-at-least-32-chars',
} as const;

export async function ensureAppBuilt(): Promise<void> {
  const buildId = join(APP_DIR, '.next', 'BUILD_ID');
  const marker = join(APP_DIR, '.next', 'built-with-canaries');
  const inputs = [
    join(APP_DIR, 'src'),
    join(APP_DIR, 'next.config.mjs'),
    join(APP_DIR, 'package.json'),
    join(REPO_DIR, 'packages', 'nextjs', 'dist'),
    join(REPO_DIR, 'packages', 'client', 'dist'),
  ];
  // The marker must be newer than the build: a build made elsewhere (npm start) had no canaries.
  if (existsSync(buildId) && existsSync(marker) && statSync(marker).mtimeMs >= statSync(buildId).mtimeMs) {
    const built = statSync(buildId).mtimeMs;
    if (inputs.every((p) => !existsSync(p) || newestMtime(p) < built)) return;
  }
  // Asynchronous on purpose: a minute-long spawnSync would starve the test runner's own messages.
  const started = spawnLogged(process.execPath, [NEXT_BIN, 'build'], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      SESAME_URL: 'http://127.0.0.1:9',
      SESAME_CLIENT_ID: 'canary-client-id',
      ...BUILD_CANARIES,
    },
  });
  const timer = setTimeout(() => {
    if (started.child.pid !== undefined && started.child.exitCode === null) process.kill(started.child.pid, 'SIGKILL');
  }, 600_000);
  const code = await new Promise<number | null>((resolve) => started.child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`next build failed (${code}):\n${started.output()}`);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
}
