/**
 * Test wiring: the real app on a real store (SQLite in a temp dir, or a fresh database in a
 * private PostgreSQL cluster); only the clock is ours.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createPayloadSealer, type Clock, type Store } from '@sesame/core';
import { createDevInboxTransport, createOutboxWorker, silentLogger, type OutboxWorker } from '@sesame/email';
import { openStore } from '@sesame/storage';
import { startPostgresCluster, type PostgresCluster } from '@sesame/testkit';
import { createApp, createClient, createLogger, type SesameApp } from '../src/index.js';

export const START = Date.parse('2026-03-01T12:00:00Z');
export const REDIRECT = 'https://app.example.com/auth/verify';

export type Backend = 'sqlite' | 'postgres';
/** For `describe.each(BACKENDS)`: one test body, both stores. */
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

// One private cluster per test file (vitest runs each file in its own process), started on first
// use; every PostgreSQL harness gets a database of its own in it. Files call `stopPostgres` in afterAll.
let cluster: Promise<PostgresCluster> | undefined;
let databases = 0;

/** Stops and removes this file's PostgreSQL cluster, if a harness started one. */
export async function stopPostgres(): Promise<void> {
  const started = cluster;
  cluster = undefined;
  if (started) await (await started).stop();
}

async function postgresUrl(): Promise<string> {
  cluster ??= startPostgresCluster();
  const running = await cluster;
  databases += 1;
  return running.createDatabase(`harness_${databases}`);
}

export interface MovableClock extends Clock {
  advance(ms: number): void;
}

export function movableClock(start = START): MovableClock {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

export interface Harness {
  readonly sesame: SesameApp;
  readonly store: Store;
  readonly clock: MovableClock;
  readonly worker: OutboxWorker;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly logs: string[];
  /** The database this harness's store is on (`file:…` or `postgres://…`), for a second instance. */
  readonly databaseUrl: string;
  token(): Promise<string>;
  request(path: string, init?: RequestInit): Promise<Response>;
  api(action: 'send' | 'verify' | 'resend', body: unknown, token?: string): Promise<Response>;
  /** Delivers queued mail into the dev inbox and returns the newest message to `to`. */
  latestMail(to: string): Promise<{ code: string | null; linkToken: string | null; text: string; html: string }>;
  close(): Promise<void>;
}

export async function harness(
  options: { backend?: Backend; devInbox?: boolean; maxBodyBytes?: number; seedRedirectUris?: string[] } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-server-test-'));
  const databaseUrl = options.backend === 'postgres' ? await postgresUrl() : `file:${join(dir, 'sesame.db')}`;
  const store = openStore(databaseUrl);
  await store.migrate();
  const clock = movableClock();
  const secret = randomBytes(32);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const sesame = createApp({
    store,
    secret,
    production: false,
    publicUrl: 'http://127.0.0.1:8080',
    devInbox: options.devInbox ?? true,
    clock,
    logger: createLogger('info', sink),
    seedRedirectUris: (options.seedRedirectUris ?? []).map((uri) => ({ uri, match: 'exact' as const })),
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
  });
  const client = await createClient(store, { key: sesame.clientSecretKey, name: 'test app', redirectUris: [REDIRECT], now: clock.now() });
  const worker = createOutboxWorker({
    store,
    sealer: createPayloadSealer(secret),
    transport: createDevInboxTransport({ store, clock }),
    clock,
    logger: silentLogger,
    ownerId: 'test-worker',
  });

  const request = (path: string, init?: RequestInit) => Promise.resolve(sesame.app.request(path, init));
  let cachedToken: string | null = null;
  async function token(): Promise<string> {
    const res = await request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.record.id, client_secret: client.secret }).toString(),
    });
    if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  return {
    sesame,
    store,
    clock,
    worker,
    clientId: client.record.id,
    clientSecret: client.secret,
    logs,
    databaseUrl,
    token,
    request,
    async api(action, body, explicitToken) {
      const bearer = explicitToken ?? (cachedToken ??= await token());
      return request(`/api/v1/passwordless/email/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async latestMail(to) {
      await worker.runOnce();
      const messages = await store.listDevInbox({ limit: 50 });
      const message = [...messages].sort((a, b) => b.createdAt - a.createdAt).find((m) => m.to === to);
      if (!message) throw new Error(`no mail to ${to}`);
      return {
        code: /\b(\d{6})\b/.exec(message.text)?.[1] ?? null,
        linkToken: /link_token=([A-Za-z0-9_-]+)/.exec(message.text)?.[1] ?? null,
        text: message.text,
        html: message.html,
      };
    },
    async close() {
      await worker.stop();
      await store.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ErrorJson {
  error: { code: string; message: string; request_id: string; field_violations: { field: string; description: string }[] };
}

export async function errorOf(res: Response): Promise<ErrorJson['error']> {
  const body = (await res.json()) as ErrorJson;
  return body.error;
}
