/** The real engine over a real SQLite store, as the server wires them, for creating outbox rows. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createCredentialHasher,
  createEngine,
  createPayloadSealer,
  cryptoRandom,
  defaultPolicy,
  type Clock,
  type Engine,
  type EngineDeps,
  type OutboxHandoff,
  type PasswordlessType,
  type PayloadSealer,
  type Store,
} from '@sesame/core';
import { openSqliteStore } from '@sesame/storage';

export const SECRET = new Uint8Array(32).fill(7);
export const REDIRECT = 'http://localhost:3000/api/auth/verify';
export const CALLER = { id: 'client-1', redirectUris: [] };

export class TestClock implements Clock {
  constructor(public at: number = Date.UTC(2025, 10, 25, 14, 0, 0)) {}
  now(): number {
    return this.at;
  }
  advance(ms: number): void {
    this.at += ms;
  }
}

export interface TestSesame {
  readonly dir: string;
  readonly dbFile: string;
  readonly store: Store;
  readonly engine: Engine;
  readonly sealer: PayloadSealer;
  readonly setType: (type: PasswordlessType) => void;
  /** Another engine over the same store, clock and policy, handing its new emails to `outbox` as the server wires them. */
  readonly handingOverTo: (outbox: OutboxHandoff) => Engine;
  /** Queues one email through the engine; returns the auth request id. */
  readonly send: (email: string, extra?: Record<string, unknown>) => Promise<string>;
  readonly close: () => Promise<void>;
}

export async function openTestSesame(options: { clock?: Clock; dir?: string } = {}): Promise<TestSesame> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sesame-email-'));
  const dbFile = join(dir, 'sesame.db');
  const store = openSqliteStore({ filename: dbFile });
  await store.migrate();
  const sealer = createPayloadSealer(SECRET);
  let type: PasswordlessType = 'LINK_OTP';
  const deps: EngineDeps = {
    store,
    clock: options.clock ?? { now: () => Date.now() },
    random: cryptoRandom,
    hasher: createCredentialHasher(SECRET),
    sealer,
    policy: () => ({ ...defaultPolicy({ production: false }), passwordlessType: type, emailsPerAddress: { max: 60, windowMs: 60_000 } }),
  };
  const engine = createEngine(deps);
  return {
    dir,
    dbFile,
    store,
    engine,
    sealer,
    handingOverTo: (outbox) => createEngine({ ...deps, outbox }),
    setType: (next) => {
      type = next;
    },
    send: async (email, extra = {}) => {
      const result = await engine.send({ email, magiclinkAuthUri: REDIRECT, ...extra }, CALLER);
      return result.authRequestId;
    },
    close: async () => {
      await store.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The code and the link token a delivered email carries (from its text part). */
export function credentialsIn(text: string): { otp: string | null; link: string | null; linkToken: string | null } {
  const otp = /code: ([0-9A-Z]{6,8})\b/.exec(text)?.[1] ?? null;
  const link = /(http:\/\/localhost:3000\/\S+)/.exec(text)?.[1] ?? null;
  const linkToken = link === null ? null : new URL(link).searchParams.get('link_token');
  return { otp, link, linkToken };
}
