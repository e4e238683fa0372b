/** What every file of the conformance suite shares: the backend under test and the race pool. */
import type { Store } from '@sesame/core';
import type { RacePool } from './race.js';

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
  readonly race: RacePool['race'];
}

/** Racers: several connections, each running its share concurrently. */
export const RACE_WORKERS = 5;
export const RACE_OPS = 50;
