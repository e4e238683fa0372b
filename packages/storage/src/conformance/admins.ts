/**
 * Admins and their sessions kept on the server: admins are keyed by the normalised email; a
 * session is found only while unexpired and while its admin exists; sign-out deletes one,
 * removing the admin deletes all of theirs in the same transaction; the sweep drops expired
 * sessions in bounded batches.
 */
import { describe, expect, it } from 'vitest';
import type { AdminSessionRecord } from '@sesame/core';
import { DAY, MINUTE, T0 } from './fixtures.js';
import type { SuiteContext } from './context.js';

function session(idHash: string, emailKey: string, expiresAt = T0 + DAY): AdminSessionRecord {
  return { idHash, emailKey, createdAt: T0, expiresAt };
}

export function registerAdminSuite(ctx: SuiteContext): void {
  describe('admins', () => {
    it('adds admins once, keyed by the normalised email', async () => {
      const store = ctx.store();
      await store.addAdmin({ emailKey: 'root@example.com', email: 'Root@Example.com', createdAt: T0 });
      await store.addAdmin({ emailKey: 'root@example.com', email: 'ROOT@example.com', createdAt: T0 + 5 });
      await store.addAdmin({ emailKey: 'ops@example.com', email: 'ops@example.com', createdAt: T0 + 1 });
      expect(await store.findAdmin('root@example.com')).toEqual({
        emailKey: 'root@example.com',
        email: 'Root@Example.com',
        createdAt: T0,
      });
      expect(await store.findAdmin('nobody@example.com')).toBeNull();
      expect((await store.listAdmins()).map((a) => a.emailKey)).toEqual(['root@example.com', 'ops@example.com']);
    });
  });

  describe('admin sessions and removing admins', () => {
    async function admins(...keys: string[]): Promise<void> {
      for (const key of keys) await ctx.store().addAdmin({ emailKey: key, email: key, createdAt: T0 });
    }

    it('finds a session until the instant it expires, and never an unknown one', async () => {
      const store = ctx.store();
      await admins('root@example.com');
      const root = session('h-root', 'root@example.com', T0 + MINUTE);
      await store.createAdminSession(root);
      expect(await store.findAdminSession('h-root', T0)).toEqual(root);
      expect(await store.findAdminSession('h-root', T0 + MINUTE - 1)).toEqual(root);
      expect(await store.findAdminSession('h-root', T0 + MINUTE)).toBeNull();
      for (const unknown of ['h-roo', 'H-ROOT', 'h-root ', '', 'root@example.com'])
        expect(await store.findAdminSession(unknown, T0)).toBeNull();
    });

    it('sign-out deletes that session only', async () => {
      const store = ctx.store();
      await admins('root@example.com');
      await store.createAdminSession(session('laptop', 'root@example.com'));
      await store.createAdminSession(session('phone', 'root@example.com'));
      await store.deleteAdminSession('laptop');
      await store.deleteAdminSession('laptop');
      await store.deleteAdminSession('never');
      expect(await store.findAdminSession('laptop', T0)).toBeNull();
      expect(await store.findAdminSession('phone', T0)).toMatchObject({ emailKey: 'root@example.com' });
    });

    it('removing an admin ends all their sessions for good, and no one else’s', async () => {
      const store = ctx.store();
      await admins('root@example.com', 'ops@example.com');
      for (const id of ['r1', 'r2', 'r3']) await store.createAdminSession(session(id, 'root@example.com'));
      await store.createAdminSession(session('o1', 'ops@example.com'));
      expect(await store.removeAdmin('root@example.com')).toBe(true);
      expect(await store.removeAdmin('root@example.com')).toBe(false);
      expect(await store.removeAdmin('nobody@example.com')).toBe(false);
      expect(await store.findAdmin('root@example.com')).toBeNull();
      for (const id of ['r1', 'r2', 'r3']) expect(await store.findAdminSession(id, T0)).toBeNull();
      expect(await store.findAdminSession('o1', T0)).toMatchObject({ emailKey: 'ops@example.com' });
      expect((await store.listAdmins()).map((admin) => admin.emailKey)).toEqual(['ops@example.com']);
      // Adding the address back does not bring the old sessions back: they were deleted.
      await admins('root@example.com');
      for (const id of ['r1', 'r2', 'r3']) expect(await store.findAdminSession(id, T0)).toBeNull();
    });

    it('a session of an address that is not (or no longer) an admin is not found', async () => {
      const store = ctx.store();
      await store.createAdminSession(session('orphan', 'ghost@example.com'));
      expect(await store.findAdminSession('orphan', T0)).toBeNull();
      await admins('ghost@example.com');
      expect(await store.findAdminSession('orphan', T0)).toMatchObject({ idHash: 'orphan' });
    });

    it('the sweep deletes expired sessions, at most a batch at a time', async () => {
      const store = ctx.store();
      await admins('root@example.com');
      for (let i = 0; i < 5; i++) await store.createAdminSession(session(`old-${i}`, 'root@example.com', T0 + i));
      await store.createAdminSession(session('live', 'root@example.com', T0 + DAY));
      const now = T0 + MINUTE;
      // Deleted sessions are gone even when asked about at an instant before their expiry.
      const left = async (): Promise<number> => {
        let n = 0;
        for (let i = 0; i < 5; i++) if (await store.findAdminSession(`old-${i}`, T0 - 1)) n++;
        return n;
      };
      await store.sweepExpired({ expiredBefore: now, now, batchSize: 2 });
      expect(await left()).toBe(3);
      await store.sweepExpired({ expiredBefore: now, now, batchSize: 2 });
      await store.sweepExpired({ expiredBefore: now, now, batchSize: 2 });
      expect(await left()).toBe(0);
      expect(await store.findAdminSession('live', now)).toMatchObject({ idHash: 'live' });
    });
  });
}
