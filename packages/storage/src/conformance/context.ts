/**
 * What every file of the conformance suite shares: the backend under test, a fresh migrated
 * database per test, the race pool, and the store calls most tests make.
 */
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import type { ConsumeLinkCommand, ConsumeOtpCommand, Store } from '@sesame/core';
import {
  linkCommand,
  newRequest,
  otpCommand,
  reissueCommand,
  type NewRequest,
  type NewRequestOptions,
  type ReissueOptions,
} from './fixtures.js';
import type { RaceOp, RaceResult } from './race-protocol.js';
import { createRacePool, spread, type RacePool } from './race-pool.js';

export interface OpenedBackend {
  readonly store: Store;
  /**
   * A database URL that `openStore(url)` accepts and that names this same database, so other
   * threads and processes can open their own connections to it (e.g. `file:/tmp/x/sesame.db`).
   */
  readonly url: string;
  /** Closes the store and removes the database (file, schema…). */
  dispose(): Promise<void>;
}

export interface StoreBackend {
  readonly name: string;
  /** A fresh, empty database and a store on it, not yet migrated: the suite calls `migrate()`. */
  open(): Promise<OpenedBackend>;
}

/** Handed to each suite file: the migrated store of the running test, and the race pool. */
export interface SuiteContext {
  /** The current test's store (a fresh database per test). */
  store(): Store;
  /** The current test's database, for other connections. */
  opened(): OpenedBackend;
  /** Another fresh database of the backend, not yet migrated; removed after the test. */
  openAnother(): Promise<OpenedBackend>;
  readonly race: RacePool['race'];
}

/** Racers: several connections, each running its share concurrently. */
export const RACE_WORKERS = 5;
export const RACE_OPS = 50;
/** Lockstep races run this many rounds: each is a fresh chance for a race a free run may miss. */
export const LOCKSTEP_ROUNDS = 20;

/**
 * Registers the hooks that give every test its own migrated database (so no test sees another's
 * rows) and one race pool for the whole suite. Call it inside the suite's `describe`.
 */
export function setUpSuite(backend: StoreBackend): SuiteContext {
  let opened: OpenedBackend | undefined;
  const others: OpenedBackend[] = [];
  const pool: RacePool = createRacePool(RACE_WORKERS);

  afterAll(async () => {
    await pool.close();
  });

  beforeEach(async () => {
    opened = await backend.open();
    await opened.store.migrate();
  });

  afterEach(async () => {
    const done = opened;
    opened = undefined;
    await done?.dispose();
    await Promise.all(others.splice(0).map((other) => other.dispose()));
  });

  const current = (): OpenedBackend => {
    if (opened === undefined) throw new Error('The conformance suite opens a database per test: use it inside a test.');
    return opened;
  };
  return {
    store: () => current().store,
    opened: current,
    async openAnother() {
      const other = await backend.open();
      others.push(other);
      return other;
    },
    race: (url, opsPerWorker, options) => pool.race(url, opsPerWorker, options),
  };
}

/** The store calls most tests make, each as the request's creator unless told otherwise. */
export function requestActions(ctx: SuiteContext) {
  return {
    /** A new request, written to the store; fails the test unless the store takes it. */
    create: async (options: NewRequestOptions = {}): Promise<NewRequest> => {
      const request = await newRequest(options);
      expect(await ctx.store().createAuthRequest(request.command)).toEqual({ ok: true });
      return request;
    },
    consumeOtp: async (request: NewRequest, code: string | null, now: number, overrides: Partial<ConsumeOtpCommand> = {}) =>
      ctx.store().consumeWithOtp(await otpCommand(request, code, now, overrides)),
    consumeLink: async (request: NewRequest, linkToken: string | null, now: number, overrides: Partial<ConsumeLinkCommand> = {}) =>
      ctx.store().consumeWithLink(await linkCommand(request, linkToken, now, overrides)),
    /** A resend with fresh credentials, and those credentials. */
    reissue: async (request: NewRequest, now: number, options: ReissueOptions = {}) => {
      const { fresh, command } = await reissueCommand(request, now, options);
      return { fresh, result: await ctx.store().reissueCredentials(command) };
    },
  };
}

/** Runs `ops` spread round-robin over the race workers, all at once; answers every result. */
export async function raceSpread(ctx: SuiteContext, ops: readonly RaceOp[], url = ctx.opened().url): Promise<RaceResult[]> {
  return (await ctx.race(url, spread(ops, RACE_WORKERS))).flat();
}

/**
 * Runs `ops[r][w]` on worker w in round r, every worker meeting the others before each round, on
 * the test's database; answers `results[r][w]`.
 */
export async function raceInRounds(ctx: SuiteContext, ops: readonly (readonly RaceOp[])[]): Promise<RaceResult[][]> {
  const perWorker = Array.from({ length: RACE_WORKERS }, (_, w) => ops.map((round) => round[w]!));
  const results = await ctx.race(ctx.opened().url, perWorker, { lockstep: true });
  return ops.map((_, r) => results.map((ofWorker) => ofWorker[r]!));
}
