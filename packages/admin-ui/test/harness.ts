/**
 * The real parts the dashboard's browser test drives, all on 127.0.0.1 with free ports: an SMTP
 * server that can answer 4xx to the first attempt for chosen addresses (then accepts, keeping
 * every message, parsed with mailparser), `sesame` CLI calls and `sesame start` children, and
 * Debian's Chromium. Every process is started here and stopped by its PID; every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@sesame/testkit';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = join(PACKAGE_DIR, '..', '..');
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
}

export interface Mailbox {
  readonly url: string;
  /** Every DATA refused so far (address and the reply sent). */
  readonly refused: { to: string; reply: string }[];
  count(to: string): number;
  /** The n-th (1-based) message to `to`, waiting (bounded) for it. */
  mail(to: string, n?: number, timeoutMs?: number): Promise<Mail>;
  /** Answer `451` to the first delivery attempt for `to`, then accept. */
  failFirstAttempt(to: string): void;
  close(): Promise<void>;
}

export const GREYLIST_REPLY = 'Greylisted by the e2e SMTP server, try again later';

export async function startMailbox(): Promise<Mailbox> {
  const mails: Mail[] = [];
  const refused: { to: string; reply: string }[] = [];
  const failOnce = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
      simpleParser(stream)
        .then((parsed) => {
          const flaky = recipients.find((to) => failOnce.has(to));
          if (flaky !== undefined) {
            failOnce.delete(flaky);
            refused.push({ to: flaky, reply: `451 ${GREYLIST_REPLY}` });
            callback(Object.assign(new Error(GREYLIST_REPLY), { responseCode: 451 }));
            return;
          }
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
            });
          }
          callback();
        })
        .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.server.address() as AddressInfo).port;
  const of = (to: string): Mail[] => mails.filter((m) => m.to === to.toLowerCase());
  return {
    url: `smtp://127.0.0.1:${port}`,
    refused,
    count: (to) => of(to).length,
    mail: (to, n = 1, timeoutMs = 15_000) => waitUntil(`email #${n} to ${to}`, () => of(to)[n - 1], timeoutMs, 50),
    failFirstAttempt: (to) => failOnce.add(to.toLowerCase()),
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

// ---------------------------------------------------------------------------------------------
// Sesame

export interface Sesame {
  readonly url: string;
  readonly child: ChildProcess;
  readonly dataDir: string;
  readonly output: () => string;
  /** Runs `sesame …` against this instance's database; resolves to stdout. */
  cli(args: string[]): Promise<string>;
}

export async function startSesame(options: { smtpUrl?: string; redirectUri: string }): Promise<Sesame> {
  if (!existsSync(join(REPO_DIR, 'packages', 'server', 'dist', 'cli.js'))) {
    throw new Error('packages/server is not built: run `npm run build` at the repository root first.');
  }
  if (!existsSync(join(PACKAGE_DIR, 'dist', 'index.html'))) {
    throw new Error('packages/admin-ui is not built: run `npm run build` at the repository root first.');
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'sesame-admin-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    SESAME_PUBLIC_URL: url,
    SESAME_DATA_DIR: dataDir,
    SESAME_DATABASE_URL: `file:${join(dataDir, 'sesame.db')}`,
    SESAME_SECRET: randomBytes(32).toString('base64url'),
    SESAME_ALLOWED_REDIRECT_URIS: options.redirectUri,
    SESAME_LOG_LEVEL: 'warn',
    ...(options.smtpUrl !== undefined ? { SESAME_SMTP_URL: options.smtpUrl } : {}),
  };
  // Asynchronous, so two instances' set-up can overlap and the test runner keeps its messages.
  const cli = (args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      const run = spawn(process.execPath, [SESAME_BIN, ...args], { cwd: REPO_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      run.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      run.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const timer = setTimeout(() => run.kill('SIGKILL'), 30_000);
      run.once('error', reject);
      run.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`sesame ${args.join(' ')} failed (${code}): ${stderr}`));
      });
    });
  const child = spawn(process.execPath, [SESAME_BIN, 'start'], { cwd: REPO_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  await waitUntil(
    `${url}/readyz`,
    async () => {
      if (child.exitCode !== null) throw new Error(`sesame exited with ${child.exitCode}:\n${log}`);
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return response.ok ? true : undefined;
    },
    30_000,
    100,
  );
  return { url, child, dataDir, output: () => log, cli };
}

/** Stops the instance (by PID) and removes its data directory. */
export async function stopSesame(sesame: Sesame | undefined): Promise<void> {
  if (!sesame) return;
  await stopProcess(sesame.child);
  rmSync(sesame.dataDir, { recursive: true, force: true });
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

// ---------------------------------------------------------------------------------------------
// REST API (as an app's server calls it)

export async function accessToken(base: string, clientId: string, clientSecret: string): Promise<{ status: number; token?: string }> {
  const response = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  const body = (await response.json()) as { access_token?: string };
  return { status: response.status, ...(body.access_token !== undefined ? { token: body.access_token } : {}) };
}

export async function send(
  base: string,
  token: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}/api/v1/passwordless/email/send`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
