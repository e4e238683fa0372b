/**
 * The engine over the real SQLite store in a temporary directory, with a fake clock: what the
 * engine-level security tests share.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SesameError,
  createCredentialHasher,
  createEngine,
  createPayloadSealer,
  cryptoRandom,
  defaultPolicy,
  openOutboxPayload,
  type Engine,
  type EngineDeps,
  type OutboxPayload,
  type PayloadSealer,
  type Policy,
  type Store,
} from '@sesame/core';
import { openSqliteStore } from '@sesame/storage';

export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const secret = new Uint8Array(32).fill(42);

export interface Harness {
  readonly store: Store;
  /** The SQLite database file behind `store`. */
  readonly dbFile: string;
  /** The fake clock, in milliseconds. */
  now: number;
  policy: Policy;
  /** What seals the outbox payloads, to open one a test holds. */
  readonly sealer: PayloadSealer;
  /** An engine over the store, clock and policy, with any extra deps. */
  engine(extra?: Partial<Pick<EngineDeps, 'sendBudgets' | 'declaredTemplateVariables' | 'outbox'>>): Engine;
  /** Claims every queued email and opens its payload: what the worker would mail, by auth request. */
  mailbox(): Promise<Map<string, OutboxPayload>>;
  close(): Promise<void>;
}

export async function openHarness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-core-'));
  const dbFile = join(dir, 'sesame.db');
  const store = openSqliteStore({ filename: dbFile });
  await store.migrate();
  const sealer = createPayloadSealer(secret);
  const hasher = createCredentialHasher(secret);
  const harness: Harness = {
    store,
    dbFile,
    sealer,
    now: T0,
    policy: { ...defaultPolicy({ production: false }), emailsPerAddress: { max: 60, windowMs: 60_000 } },
    engine: (extra = {}) =>
      createEngine({
        store,
        clock: { now: () => harness.now },
        random: cryptoRandom,
        hasher,
        sealer,
        policy: () => harness.policy,
        ...extra,
      }),
    async mailbox() {
      const claims = await store.claimOutbox({ owner: 'test', now: harness.now, leaseMs: 60_000, limit: 1_000 });
      const out = new Map<string, OutboxPayload>();
      for (const claim of claims) out.set(claim.authRequestId, await openOutboxPayload(sealer, claim.id, claim.sealedPayload));
      return out;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** The SesameError a call fails with (any other outcome fails the test). */
export async function errorOf(promise: Promise<unknown>): Promise<SesameError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SesameError) return error;
    throw error;
  }
  throw new Error('expected a SesameError');
}

/** The SesameError a call fails with, or null when it succeeds. */
export async function outcomeOf(promise: Promise<unknown>): Promise<SesameError | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    if (error instanceof SesameError) return error;
    throw error;
  }
}
