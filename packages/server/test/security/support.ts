/**
 * Shared by the security suite: real `sesame` child processes (the root `bin` launcher, through
 * @sesame/testkit), their API clients and tokens, and small HTTP helpers. Every process started
 * here is killed by PID in `stopChildren()`; nothing else is ever signalled.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createApiClientWithCli,
  freePort,
  killStartedProcesses,
  startSesameProcess,
  type ClientCredentials,
  type SesameProcess,
} from '@sesame/testkit';
import { loadConfig, startSesame, type RunningSesame, type StartOptions } from '../../src/index.js';

export const REDIRECT = 'https://app.example.com/auth/verify';
export const API = '/api/v1/passwordless/email';

/** The environment of a development `sesame` on a temporary data directory. */
export function sesameEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'development',
    SESAME_DATA_DIR: dataDir,
    SESAME_SECRET: 'security-suite-secret-0123456789abcdef-0123456789',
    SESAME_MAIL_FROM: 'Acme <no-reply@acme.test>',
    SESAME_ALLOWED_REDIRECT_URIS: 'https://app.example.com/auth/*',
    SESAME_LOG_LEVEL: 'warn',
    ...extra,
  };
}

export type ApiClient = ClientCredentials;

export function createApiClient(env: NodeJS.ProcessEnv, cwd: string): Promise<ApiClient> {
  return createApiClientWithCli({ env, cwd, name: 'security' });
}

export type Child = SesameProcess;

/** Set by `stopChildren`: a test body still running after its timeout must not start more. */
let stopped = false;

/** `sesame start` on a free port (or `port`); resolves once it prints that it is listening. */
export async function startChild(env: NodeJS.ProcessEnv, cwd: string, port?: number): Promise<Child> {
  const listenOn = port ?? (await freePort());
  if (stopped) throw new Error('the test file is finished: no new sesame processes');
  return startSesameProcess({ env, cwd, port: listenOn });
}

/** Kills (by PID) whatever this file started that is still running. */
export async function stopChildren(): Promise<void> {
  stopped = true;
  await killStartedProcesses();
}

export interface ApiAnswer {
  readonly status: number;
  readonly code: string | undefined;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
  readonly ms: number;
}

export async function callApi(
  base: string,
  token: string,
  action: 'send' | 'verify' | 'resend',
  body: unknown,
  signal?: AbortSignal,
): Promise<ApiAnswer> {
  const started = performance.now();
  const response = await fetch(`${base}${API}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  const json = (await response.json()) as Record<string, unknown>;
  const ms = performance.now() - started;
  return { status: response.status, code: (json.error as { code?: string } | undefined)?.code, body: json, headers: response.headers, ms };
}

/** Resident set size of a process we started, in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The code and link token in a delivered email's text. */
export function credentialsOf(text: string): { code: string; linkToken: string } {
  const code = /\b(\d{6})\b/.exec(text)?.[1];
  const linkToken = /link_token=([A-Za-z0-9_-]{43})/.exec(text)?.[1];
  if (code === undefined || linkToken === undefined) throw new Error(`no code or link in: ${text.slice(0, 300)}`);
  return { code, linkToken };
}

/** The conformance suite's seeded generator, for reproducible random choices in tests. */
export { seeded } from '@sesame/storage/conformance';

/**
 * `startSesame` in this process on a fresh temporary data directory, port 0 and silent logs;
 * `stop()` closes it and removes the directory.
 */
export async function startInProcess(
  prefix: string,
  env: Record<string, string>,
  options?: StartOptions,
): Promise<{ running: RunningSesame; dir: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const running = await startSesame(loadConfig({ PORT: '0', SESAME_DATA_DIR: dir, SESAME_LOG_LEVEL: 'silent', ...env }), options);
  return {
    running,
    dir,
    async stop() {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
