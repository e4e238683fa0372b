/**
 * Admin sessions kept on the server: found only while unexpired and while their admin exists;
 * sign-out deletes one, removing the admin deletes all of theirs in the same transaction; the
 * sweep drops expired sessions and long-ended send-budget windows in bounded batches.
 */
import { describe, expect, it } from 'vitest';
import type { AdminSessionRecord, SendBudget } from '@sesame/core';
import { DAY, MINUTE, T0, newRequest } from './fixtures.js';
import type { SuiteContext } from './context.js';

function session(idHash: string, emailKey: string, expiresAt = T0 + DAY): AdminSessionRecord {
  return { idHash, emailKey, createdAt: T0, expiresAt };
}

export function registerAdminSessionSuite(ctx: SuiteContext): void {
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

    it('the sweep deletes send-budget windows that ended over a day ago, at most a batch at a time', async () => {
      const store = ctx.store();
      const W = Math.ceil(T0 / MINUTE) * MINUTE;
      const budget = (key: string): SendBudget => ({ key, scope: 'client', max: 1, windowMs: MINUTE });
      const send = async (key: string, at: number) =>
        (await store.createAuthRequest((await newRequest({ now: at, budgets: [budget(key)] })).command)).ok;
      // Three keys spend their budget in the window [W, W + 1 min).
      for (const key of ['k1', 'k2', 'k3']) expect(await send(key, W)).toBe(true);
      // Exactly a day after the window ended it may still be kept; just after, it goes, two per batch.
      const dayAfter = W + MINUTE + DAY;
      await store.sweepExpired({ expiredBefore: 0, now: dayAfter, batchSize: 10 });
      for (const key of ['k1', 'k2', 'k3']) expect(await send(key, W + 1)).toBe(false);
      await store.sweepExpired({ expiredBefore: 0, now: dayAfter + 1, batchSize: 2 });
      // A deleted window counts from zero again (seen by sending at a time inside it).
      const reopened = [];
      for (const key of ['k1', 'k2', 'k3']) reopened.push(await send(key, W + 2));
      expect(reopened.filter(Boolean)).toHaveLength(2);
      // The windows just refilled are in the past as well: the next sweep takes what is left.
      await store.sweepExpired({ expiredBefore: 0, now: dayAfter + 1, batchSize: 10 });
      for (const key of ['k1', 'k2', 'k3']) expect(await send(key, W + 3)).toBe(true);
    });
  });
}
