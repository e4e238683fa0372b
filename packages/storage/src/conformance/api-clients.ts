/**
 * API clients: created once per id, listed, rotated, touched and revoked; and a change made
 * through another connection is seen from the next turn of the event loop, whatever the backend
 * memoises. Revocation, rotation and their audit in depth: client-lifecycle.ts.
 */
import { describe, expect, it } from 'vitest';
import { T0, apiClient, nextTurn } from './fixtures.js';
import { openStore } from '../open.js';
import type { SuiteContext } from './context.js';

export function registerApiClientSuite(ctx: SuiteContext): void {
  describe('API clients', () => {
    it('creates, lists, rotates, touches and revokes API clients', async () => {
      const store = ctx.store();
      const client = apiClient('c1', {
        name: 'App',
        secretHash: 'hash-1',
        redirectUris: [
          { uri: 'https://app.example.com/auth/', match: 'prefix' },
          { uri: 'https://app.example.com/cb', match: 'exact' },
        ],
      });
      await store.createApiClient(client);
      await store.createApiClient({ ...client, id: 'c2', name: 'Other', redirectUris: [], createdAt: T0 + 1 });
      await expect(store.createApiClient(client)).rejects.toThrow();
      expect(await store.findApiClient('c1')).toEqual(client);
      expect(await store.findApiClient('nope')).toBeNull();
      expect((await store.listApiClients()).map((c) => c.id)).toEqual(['c1', 'c2']);
      expect(await store.updateApiClientSecret('c1', 'hash-2')).toBe(2);
      await store.touchApiClient('c1', T0 + 50);
      expect(await store.findApiClient('c1')).toMatchObject({ secretHash: 'hash-2', lastUsedAt: T0 + 50, revokedAt: null });
      expect(await store.revokeApiClient('c1', T0 + 100)).toBe(true);
      expect(await store.revokeApiClient('c1', T0 + 200)).toBe(false);
      expect(await store.revokeApiClient('nope', T0 + 200)).toBe(false);
      expect(await store.updateApiClientSecret('c1', 'hash-3')).toBeNull();
      expect(await store.updateApiClientSecret('nope', 'hash-3')).toBeNull();
      expect(await store.findApiClient('c1')).toMatchObject({ secretHash: 'hash-2', secretVersion: 2, revokedAt: T0 + 100 });
      expect(await store.findApiClient('c2')).toMatchObject({ revokedAt: null, redirectUris: [] });
    });

    it('re-hashes a secret only over the hash it expects, keeping the version', async () => {
      const store = ctx.store();
      await store.createApiClient(apiClient('c1', { name: 'App', secretHash: 'old-key' }));
      expect(await store.findApiClient('c1')).toMatchObject({ secretHash: 'old-key' });
      expect(await store.rehashApiClientSecret('c1', 'not-the-hash', 'new-key')).toBe(false);
      expect(await store.rehashApiClientSecret('nope', 'old-key', 'new-key')).toBe(false);
      expect(await store.rehashApiClientSecret('c1', 'old-key', 'new-key')).toBe(true);
      // Read twice: a memoised record must not answer with the old hash.
      expect(await store.findApiClient('c1')).toMatchObject({ secretHash: 'new-key', secretVersion: 1 });
      expect(await store.findApiClient('c1')).toMatchObject({ secretHash: 'new-key', secretVersion: 1 });
      // A rotation in between wins: the stale re-hash changes nothing.
      expect(await store.updateApiClientSecret('c1', 'rotated')).toBe(2);
      expect(await store.rehashApiClientSecret('c1', 'new-key', 'again')).toBe(false);
      expect(await store.revokeApiClient('c1', T0 + 1)).toBe(true);
      expect(await store.rehashApiClientSecret('c1', 'rotated', 'again')).toBe(false);
      expect(await store.findApiClient('c1')).toMatchObject({ secretHash: 'rotated', secretVersion: 2 });
    });

    it('sees a client or setting changed through another connection from the next turn of the event loop', async () => {
      const store = ctx.store();
      // A backend may memoise these reads (every API call makes them); a change committed
      // elsewhere, such as `sesame clients revoke` in another process, must still apply to
      // every request that arrives after it, i.e. to reads in any later turn of the event loop.
      const other = openStore(ctx.opened().url);
      try {
        await store.createApiClient(apiClient('c1', { name: 'App', secretHash: 'h' }));
        await store.putSetting('policy', '{"a":1}', T0);
        expect(await store.findApiClient('c1')).toMatchObject({ revokedAt: null });
        expect(await store.findApiClient('c1')).toMatchObject({ revokedAt: null });
        expect(await store.getSetting('policy')).toBe('{"a":1}');
        expect(await store.getSetting('policy')).toBe('{"a":1}');
        expect(await other.revokeApiClient('c1', T0 + 1)).toBe(true);
        await other.putSetting('policy', '{"a":2}', T0 + 1);
        await nextTurn();
        expect(await store.findApiClient('c1')).toMatchObject({ revokedAt: T0 + 1 });
        expect(await store.getSetting('policy')).toBe('{"a":2}');
        expect(await store.findApiClient('c2')).toBeNull();
        await other.createApiClient(apiClient('c2', { name: 'Later', secretHash: 'h' }));
        await nextTurn();
        expect(await store.findApiClient('c2')).toMatchObject({ name: 'Later' });
      } finally {
        await other.close();
      }
    });
  });
}
