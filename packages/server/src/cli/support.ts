/** What the `sesame` command's parts share: usage errors, a store for one command, the audit actor. */
import type { Store } from '@sesame/core';
import { openStore } from '@sesame/storage';
import type { Config } from '../config.js';

/** A command line the CLI cannot run: exit code 2 with the usage hint. */
export class UsageError extends Error {}

/** The actor of audit entries written by the command line (the dashboard writes the admin's email). */
export const CLI_ACTOR = 'cli';

export async function withStore<T>(config: Config, run: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore(config.databaseUrl);
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}
