/** Test wiring: the real app on a real SQLite store in a temp dir; only the clock is ours. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createPayloadSealer, type Clock, type Store } from '@sesame/core';
import { createDevInboxTransport, createOutboxWorker, silentLogger, type OutboxWorker } from '@sesame/email';
import { openSqliteStore } from '@sesame/storage';
import { createApp, createClient, createLogger, type SesameApp } from '../src/index.js';

export const START = Date.parse('2026-03-01T12:00:00Z');
export const REDIRECT = 'https://app.example.com/auth/verify';

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
  token(): Promise<string>;
  request(path: string, init?: RequestInit): Promise<Response>;
  api(action: 'send' | 'verify' | 'resend', body: unknown, token?: string): Promise<Response>;
  /** Delivers queued mail into the dev inbox and returns the newest message to `to`. */
  latestMail(to: string): Promise<{ code: string | null; linkToken: string | null; text: string; html: string }>;
  close(): Promise<void>;
}

export async function harness(options: { devInbox?: boolean; maxBodyBytes?: number; seedRedirectUris?: string[] } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-server-test-'));
  const store = openSqliteStore({ filename: join(dir, 'sesame.db') });
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
