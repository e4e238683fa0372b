// What both dialects check after taking a database back to an older schema and migrating again.
import { expect } from 'vitest';
import type { Store } from '@sesame/core';

/** Client `old` as a version-4 schema stored it: none of the columns version 5 added. */
export const INSERT_OLD_CLIENT =
  "INSERT INTO api_clients (id, name, secret_hash, redirect_uris, created_at) VALUES ('old', 'Old', 'h', '[]', 1)";

/** The store reports the older schema as not ready, migrates it, and client `old` comes through usable. */
export async function expectOldClientUpgraded(store: Store): Promise<void> {
  expect(await store.ready()).toBe(false);
  await store.migrate();
  expect(await store.ready()).toBe(true);
  expect(await store.findApiClient('old')).toMatchObject({ secretVersion: 1, sendsPerMinute: null, revokedAt: null });
  expect(await store.updateApiClientSecret('old', 'h2')).toBe(2);
}
