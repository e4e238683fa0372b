/**
 * Shared by the security suite: real `sesame` child processes (the root `bin` launcher), their
 * API clients and tokens, and small HTTP helpers. Every process started here is remembered and
 * killed by PID in `stopChildren()`; nothing else is ever signalled.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@sesame/testkit';

export const ROOT = resolve(import.meta.dirname, '../../../..');
export const BIN = join(ROOT, 'bin/sesame.js');
export const REDIRECT = 'https://app.example.com/auth/verify';
export const API = '/api/v1/passwordless/email';
const run = promisify(execFile);

/** Builds the server package so the launcher runs current code (fast when nothing changed). */
export async function buildServer(): Promise<void> {
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'packages/server'], { cwd: ROOT });
}

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

export interface ApiClient {
  readonly client_id: string;
  readonly client_secret: string;
}

export async function createApiClient(env: NodeJS.ProcessEnv, cwd: string): Promise<ApiClient> {
  const created = await run(process.execPath, [BIN, 'clients', 'create', '--name', 'security', '--json'], { cwd, env });
  return JSON.parse(created.stdout.trim()) as ApiClient;
}

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly base: string;
  readonly port: number;
  output: string;
  readonly exited: Promise<void>;
}

const children = new Set<ChildProcess>();
/** Set by `stopChildren`: a test body still running after its timeout must not start more. */
let stopped = false;

/** `sesame start` on a free port (or `port`); resolves once it prints that it is listening. */
export async function startChild(env: NodeJS.ProcessEnv, cwd: string, port?: number): Promise<Child> {
  const listenOn = port ?? (await freePort());
  if (stopped) throw new Error('the test file is finished: no new sesame processes');
  const child = spawn(process.execPath, [BIN, 'start'], {
    cwd,
    env: { ...env, PORT: String(listenOn) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  void exited.then(() => children.delete(child));
  const state = { output: '' };
  child.stdout.on('data', (d: Buffer) => (state.output += d.toString()));
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`no start banner within 30 s: ${state.output}`)), 30_000);
    child.stderr.on('data', (d: Buffer) => {
      state.output += d.toString();
      if (state.output.includes('Sesame is listening')) {
        clearTimeout(timer);
        ready();
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      fail(new Error(`exited early: ${state.output}`));
    });
  });
  const result: Child = {
    process: child,
    pid: child.pid!,
    base: `http://127.0.0.1:${listenOn}`,
    port: listenOn,
    get output() {
      return state.output;
    },
    set output(value: string) {
      state.output = value;
    },
    exited,
  };
  return result;
}

/** SIGKILL of one child we started, and wait for it to be gone. */
export async function killChild(child: Child, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) process.kill(child.pid, signal);
  await child.exited;
}

/** Kills (by PID) whatever this file started that is still running. */
export async function stopChildren(): Promise<void> {
  stopped = true;
  const left = [...children];
  for (const child of left) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((done) => (child.exitCode !== null || child.signalCode !== null ? done() : child.once('exit', () => done()))),
    ),
  );
}

export async function accessToken(base: string, client: ApiClient): Promise<string> {
  const response = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret }),
  });
  if (response.status !== 200) throw new Error(`token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
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

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** The code and link token in a delivered email's text. */
export function credentialsOf(text: string): { code: string; linkToken: string } {
  const code = /\b(\d{6})\b/.exec(text)?.[1];
  const linkToken = /link_token=([A-Za-z0-9_-]{43})/.exec(text)?.[1];
  if (code === undefined || linkToken === undefined) throw new Error(`no code or link in: ${text.slice(0, 300)}`);
  return { code, linkToken };
}

/** mulberry32: a small seeded PRNG in [0, 1), for reproducible random choices in tests. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
