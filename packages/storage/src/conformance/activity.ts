/**
 * What the dashboard reads: auth requests newest first in opaque pages, filtered by address and by
 * status, each with its delivery status and timeline; and the audit log, newest first.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS, MINUTE, T0, wrongCode } from './fixtures.js';
import { requestActions, type SuiteContext } from './context.js';

export function registerActivitySuite(ctx: SuiteContext): void {
  const { create, consumeOtp, reissue } = requestActions(ctx);

  describe('activity and audit', () => {
    it('lists auth requests newest first, in pages whose cursor names no auth request', async () => {
      const store = ctx.store();
      const a = await create({ email: 'Ada@Example.com', now: T0 });
      const b = await create({ email: 'bob@example.com', now: T0 + 1 });
      // Two at the same instant: insertion order breaks the tie.
      const c = await create({ email: 'ada@example.com', now: T0 + 2 });
      const d = await create({ email: 'carol@example.com', now: T0 + 2 });
      const first = await store.listAuthRequests({ limit: 3, now: T0 + 10 });
      expect(first.items.map((item) => item.request.id)).toEqual([d.id, c.id, b.id]);
      expect(first.nextCursor).not.toBeNull();
      for (const request of [a, b, c, d]) expect(first.nextCursor).not.toContain(request.id);
      const second = await store.listAuthRequests({ limit: 3, now: T0 + 10, cursor: first.nextCursor! });
      expect(second.items.map((item) => item.request.id)).toEqual([a.id]);
      expect(second.nextCursor).toBeNull();
      const exact = await store.listAuthRequests({ limit: 4, now: T0 + 10 });
      expect(exact.items).toHaveLength(4);
      expect(exact.nextCursor).toBeNull();
      // By address: the normalised key matches both spellings.
      const ada = await store.listAuthRequests({ emailKey: 'ada@example.com', limit: 10, now: T0 + 10 });
      expect(ada.items.map((item) => item.request.id)).toEqual([c.id, a.id]);
      expect(ada.items[1]!.request).toMatchObject({ email: 'Ada@Example.com', emailKey: 'ada@example.com', status: 'pending', sends: 1 });
      expect((await store.listAuthRequests({ emailKey: 'nobody@example.com', limit: 10, now: T0 })).items).toEqual([]);
      await expect(store.listAuthRequests({ limit: 10, now: T0, cursor: 'not a cursor' })).rejects.toThrow();
    });

    it('filters by status, expired derived from the time given', async () => {
      const store = ctx.store();
      const verified = await create({ now: T0 });
      const locked = await create({ now: T0 + 1 });
      const pending = await create({ now: T0 + 2, ttlMs: 10 * MINUTE });
      const expiring = await create({ now: T0 + 3, ttlMs: MINUTE });
      expect((await consumeOtp(verified, verified.otp, T0 + 100)).outcome).toBe('verified');
      for (let i = 0; i < MAX_ATTEMPTS; i++) await consumeOtp(locked, wrongCode(locked.otp), T0 + 200 + i);
      const now = T0 + 2 * MINUTE;
      const ids = async (status: 'pending' | 'verified' | 'expired' | 'locked') =>
        (await store.listAuthRequests({ status, limit: 10, now })).items.map((item) => item.request.id);
      expect(await ids('verified')).toEqual([verified.id]);
      expect(await ids('locked')).toEqual([locked.id]);
      expect(await ids('pending')).toEqual([pending.id]);
      expect(await ids('expired')).toEqual([expiring.id]);
      const [item] = (await store.listAuthRequests({ status: 'locked', limit: 10, now })).items;
      expect(item!.request).toMatchObject({ status: 'locked', attempts: MAX_ATTEMPTS });
      const [done] = (await store.listAuthRequests({ status: 'verified', emailKey: verified.command.request.emailKey, limit: 10, now }))
        .items;
      expect(done!.request.consumedAt).toBe(T0 + 100);
    });

    it('carries the newest email’s delivery status and the whole timeline, oldest first', async () => {
      const store = ctx.store();
      const request = await create({ now: T0 });
      const id = request.email.id;
      await store.claimOutbox({ owner: 'w', now: T0 + 10, leaseMs: 30_000, limit: 10 });
      await store.recordDeliveryAttempt({ id, owner: 'w', now: T0 + 20, detail: null });
      await store.markOutboxRetry({ id, owner: 'w', now: T0 + 30, detail: '451 4.3.0 try again later', nextAttemptAt: T0 + 1_000 });
      const queued = (await store.listAuthRequests({ limit: 10, now: T0 + 40 })).items[0]!;
      expect(queued.delivery).toBe('queued');
      await store.claimOutbox({ owner: 'w', now: T0 + 1_000, leaseMs: 30_000, limit: 10 });
      await store.recordDeliveryAttempt({ id, owner: 'w', now: T0 + 1_010, detail: null });
      await store.markOutboxSent({ id, owner: 'w', now: T0 + 1_020, detail: '250 2.0.0 OK queued' });
      const other = await create({ now: T0 + 5 });
      const page = await store.listAuthRequests({ limit: 10, now: T0 + 2_000 });
      expect(page.items.map((item) => item.request.id)).toEqual([other.id, request.id]);
      expect(page.items[0]).toMatchObject({ delivery: 'queued', timeline: [{ kind: 'queued', outboxId: other.email.id }] });
      const sent = page.items[1]!;
      expect(sent.delivery).toBe('sent');
      expect(sent.timeline).toEqual(await store.deliveryTimeline(request.id));
      expect(sent.timeline.map((event) => [event.kind, event.attempt, event.detail])).toEqual([
        ['queued', null, null],
        ['attempt', 1, null],
        ['retry_scheduled', 1, '451 4.3.0 try again later'],
        ['attempt', 2, null],
        ['sent', 2, '250 2.0.0 OK queued'],
      ]);

      // A resend supersedes the queued email: the newest one is what the view shows.
      const resent = await create({ now: T0 + 3_000 });
      const { fresh } = await reissue(resent, T0 + 3_000);
      const [latest] = (await store.listAuthRequests({ limit: 1, now: T0 + 3_001 })).items;
      expect(latest!.request).toMatchObject({ id: resent.id, sends: 2 });
      expect(latest!.delivery).toBe('queued');
      expect(latest!.timeline.map((event) => [event.kind, event.outboxId])).toEqual([
        ['queued', resent.email.id],
        ['superseded', resent.email.id],
        ['queued', fresh.email.id],
      ]);
    });

    it('appends audit entries and lists them newest first, paging back by id', async () => {
      const store = ctx.store();
      for (let i = 1; i <= 3; i++) {
        await store.appendAudit({
          at: T0 + i,
          actor: 'root@example.com',
          action: `test.${i}`,
          before: i === 1 ? null : `{"n":${i - 1}}`,
          after: `{"n":${i}}`,
        });
      }
      const newest = await store.listAudit({ limit: 2 });
      expect(newest.map((entry) => entry.action)).toEqual(['test.3', 'test.2']);
      expect(newest[0]).toMatchObject({ at: T0 + 3, actor: 'root@example.com', before: '{"n":2}', after: '{"n":3}' });
      expect(newest[0]!.id).toBeGreaterThan(newest[1]!.id);
      const older = await store.listAudit({ limit: 2, beforeId: newest[1]!.id });
      expect(older).toEqual([
        { id: older[0]!.id, at: T0 + 1, actor: 'root@example.com', action: 'test.1', before: null, after: '{"n":1}' },
      ]);
    });
  });
}
