/**
 * The outbox: claims hand due emails out oldest first, each to one worker under a lease; only the
 * lease's owner may record an attempt or settle the email; a lapsed lease passes to another
 * worker; and every step shows on the request's delivery timeline.
 */
import { describe, expect, it } from 'vitest';
import { openOutboxPayload } from '@sesame/core';
import { DAY, T0, newRequest, reissueCommand, sealer, type NewRequest } from './fixtures.js';
import { requestActions, type SuiteContext } from './context.js';

export function registerOutboxSuite(ctx: SuiteContext): void {
  const { create } = requestActions(ctx);

  describe('outbox', () => {
    async function queue(count: number): Promise<NewRequest[]> {
      const requests: NewRequest[] = [];
      for (let i = 0; i < count; i++) requests.push(await create({ now: T0 + i }));
      return requests;
    }

    it('claims due rows oldest first with what the worker needs, and never one under a live lease', async () => {
      const store = ctx.store();
      const [r0, r1, r2] = await queue(3);
      const first = await store.claimOutbox({ owner: 'a', now: T0 + 10, leaseMs: 30_000, limit: 2 });
      expect(first.map((claim) => claim.id)).toEqual([r0!.email.id, r1!.email.id]);
      expect(first[0]).toEqual({
        id: r0!.email.id,
        authRequestId: r0!.id,
        sealedPayload: r0!.email.sealedPayload,
        attempts: 0,
        createdAt: T0,
        request: {
          email: r0!.command.request.email,
          template: 'SIGNIN',
          type: 'LINK_OTP',
          magiclinkAuthUri: 'https://app.example.com/auth/verify',
          templateVariables: { company: 'Acme' },
          expiresAt: r0!.command.request.expiresAt,
          clientId: 'client-a',
        },
      });
      expect(await openOutboxPayload(sealer, r0!.email.id, first[0]!.sealedPayload)).toEqual({ otp: r0!.otp, linkToken: r0!.linkToken });
      expect((await store.claimOutbox({ owner: 'b', now: T0 + 10, leaseMs: 30_000, limit: 10 })).map((c) => c.id)).toEqual([r2!.email.id]);
      expect(await store.claimOutbox({ owner: 'c', now: T0 + 20, leaseMs: 30_000, limit: 10 })).toEqual([]);
      // Leased rows are still undelivered.
      expect(await store.outboxDepth()).toBe(3);
    });

    it('reports when the oldest undelivered email was queued, leased or not, and nothing once all are settled', async () => {
      const store = ctx.store();
      expect(await store.oldestQueuedEmailAt()).toBeNull();
      const [r0, r1] = await queue(2);
      // A leased email is still undelivered.
      await store.claimOutbox({ owner: 'a', now: T0 + 10, leaseMs: 30_000, limit: 1 });
      expect(await store.oldestQueuedEmailAt()).toBe(T0);
      expect(await store.markOutboxSent({ id: r0!.email.id, owner: 'a', now: T0 + 20, detail: null })).toBe(true);
      expect(await store.oldestQueuedEmailAt()).toBe(T0 + 1);
      await store.claimOutbox({ owner: 'b', now: T0 + 30, leaseMs: 30_000, limit: 1 });
      expect(await store.markOutboxFailed({ id: r1!.email.id, owner: 'b', now: T0 + 40, detail: 'gave up' })).toBe(true);
      expect(await store.oldestQueuedEmailAt()).toBeNull();
    });

    it('does not claim a row before it is due', async () => {
      const store = ctx.store();
      await queue(1);
      expect(await store.claimOutbox({ owner: 'a', now: T0 - 1, leaseMs: 30_000, limit: 10 })).toEqual([]);
      expect(await store.claimOutbox({ owner: 'a', now: T0, leaseMs: 30_000, limit: 10 })).toHaveLength(1);
    });

    it('records attempts, retries when due, and settles as sent only for the lease owner', async () => {
      const store = ctx.store();
      const [request] = await queue(1);
      const id = request!.email.id;
      await store.claimOutbox({ owner: 'a', now: T0 + 100, leaseMs: 30_000, limit: 1 });
      expect(await store.recordDeliveryAttempt({ id, owner: 'b', now: T0 + 150, detail: null })).toBe(false);
      expect(await store.recordDeliveryAttempt({ id, owner: 'a', now: T0 + 200, detail: null })).toBe(true);
      expect(await store.markOutboxRetry({ id, owner: 'b', now: T0 + 300, detail: 'x', nextAttemptAt: T0 + 10_000 })).toBe(false);
      expect(await store.markOutboxRetry({ id, owner: 'a', now: T0 + 300, detail: '421 try later', nextAttemptAt: T0 + 10_000 })).toBe(
        true,
      );
      expect(await store.markOutboxSent({ id, owner: 'a', now: T0 + 400, detail: null })).toBe(false);
      expect(await store.claimOutbox({ owner: 'b', now: T0 + 9_999, leaseMs: 30_000, limit: 1 })).toEqual([]);
      const [again] = await store.claimOutbox({ owner: 'b', now: T0 + 10_000, leaseMs: 30_000, limit: 1 });
      expect(again).toMatchObject({ id, attempts: 1 });
      await store.recordDeliveryAttempt({ id, owner: 'b', now: T0 + 10_100, detail: null });
      expect(await store.markOutboxSent({ id, owner: 'a', now: T0 + 10_200, detail: '250 OK' })).toBe(false);
      expect(await store.markOutboxSent({ id, owner: 'b', now: T0 + 10_200, detail: '250 OK' })).toBe(true);
      expect(await store.markOutboxSent({ id, owner: 'b', now: T0 + 10_300, detail: '250 OK' })).toBe(false);
      expect(await store.markOutboxFailed({ id, owner: 'b', now: T0 + 10_300, detail: 'late' })).toBe(false);
      expect(await store.outboxDepth()).toBe(0);
      expect(await store.claimOutbox({ owner: 'c', now: T0 + DAY, leaseMs: 30_000, limit: 10 })).toEqual([]);
      const base = { outboxId: id, authRequestId: request!.id };
      expect(await store.deliveryTimeline(request!.id)).toEqual([
        { ...base, at: T0, kind: 'queued', attempt: null, detail: null },
        { ...base, at: T0 + 200, kind: 'attempt', attempt: 1, detail: null },
        { ...base, at: T0 + 300, kind: 'retry_scheduled', attempt: 1, detail: '421 try later' },
        { ...base, at: T0 + 10_100, kind: 'attempt', attempt: 2, detail: null },
        { ...base, at: T0 + 10_200, kind: 'sent', attempt: 2, detail: '250 OK' },
      ]);
    });

    it('marks failed for the owner only, and never claims it again', async () => {
      const store = ctx.store();
      const [request, bystander] = await queue(2);
      const id = request!.email.id;
      await store.claimOutbox({ owner: 'a', now: T0 + 10, leaseMs: 30_000, limit: 1 });
      await store.recordDeliveryAttempt({ id, owner: 'a', now: T0 + 20, detail: null });
      expect(await store.markOutboxFailed({ id, owner: 'b', now: T0 + 30, detail: 'nope' })).toBe(false);
      expect(await store.markOutboxFailed({ id, owner: 'a', now: T0 + 30, detail: '550 no such user' })).toBe(true);
      expect(await store.outboxDepth()).toBe(1);
      expect((await store.claimOutbox({ owner: 'b', now: T0 + DAY, leaseMs: 30_000, limit: 10 })).map((c) => c.id)).toEqual([
        bystander!.email.id,
      ]);
      expect((await store.deliveryTimeline(request!.id)).map((e) => [e.kind, e.attempt, e.detail])).toEqual([
        ['queued', null, null],
        ['attempt', 1, null],
        ['failed', 1, '550 no such user'],
      ]);
      expect((await store.deliveryTimeline(bystander!.id)).map((e) => e.kind)).toEqual(['queued']);
    });

    it('lets another worker take over an expired lease; the first worker can then settle nothing', async () => {
      const store = ctx.store();
      const [request] = await queue(1);
      const id = request!.email.id;
      expect(await store.claimOutbox({ owner: 'a', now: T0 + 1000, leaseMs: 30_000, limit: 1 })).toHaveLength(1);
      expect(await store.claimOutbox({ owner: 'b', now: T0 + 30_999, leaseMs: 30_000, limit: 1 })).toEqual([]);
      expect(await store.claimOutbox({ owner: 'b', now: T0 + 31_000, leaseMs: 30_000, limit: 1 })).toHaveLength(1);
      expect(await store.markOutboxSent({ id, owner: 'a', now: T0 + 31_001, detail: null })).toBe(false);
      expect(await store.markOutboxRetry({ id, owner: 'a', now: T0 + 31_001, detail: null, nextAttemptAt: T0 + 40_000 })).toBe(false);
      expect(await store.markOutboxFailed({ id, owner: 'a', now: T0 + 31_001, detail: null })).toBe(false);
      await store.recordDeliveryAttempt({ id, owner: 'a', now: T0 + 31_001, detail: null });
      expect(await store.markOutboxSent({ id, owner: 'b', now: T0 + 31_002, detail: '250 OK' })).toBe(true);
      expect((await store.deliveryTimeline(request!.id)).map((e) => e.kind)).toEqual(['queued', 'sent']);
    });

    it('honours an expired lease that nobody took over', async () => {
      const store = ctx.store();
      const [request] = await queue(1);
      await store.claimOutbox({ owner: 'a', now: T0 + 1000, leaseMs: 1000, limit: 1 });
      expect(await store.markOutboxSent({ id: request!.email.id, owner: 'a', now: T0 + 5000, detail: null })).toBe(true);
      expect(await store.outboxDepth()).toBe(0);
    });

    it('an email written with a lease is claimed by no one while it lasts; its owner settles it without a claim', async () => {
      const store = ctx.store();
      const leased = await newRequest({ now: T0 });
      const command = { ...leased.command, email: { ...leased.email, lease: { owner: 'a', until: T0 + 30_000 } } };
      expect(await store.createAuthRequest(command)).toEqual({ ok: true });
      expect(await store.outboxDepth()).toBe(1);
      expect(await store.claimOutbox({ owner: 'b', now: T0 + 29_999, leaseMs: 30_000, limit: 10 })).toEqual([]);
      expect(await store.recordDeliveryAttempt({ id: leased.email.id, owner: 'b', now: T0 + 100, detail: null })).toBe(false);
      expect(await store.recordDeliveryAttempt({ id: leased.email.id, owner: 'a', now: T0 + 100, detail: null })).toBe(true);
      expect(await store.markOutboxSent({ id: leased.email.id, owner: 'b', now: T0 + 200, detail: null })).toBe(false);
      expect(await store.markOutboxSent({ id: leased.email.id, owner: 'a', now: T0 + 200, detail: '250 OK' })).toBe(true);
      expect((await store.deliveryTimeline(leased.id)).map((e) => [e.kind, e.attempt])).toEqual([
        ['queued', null],
        ['attempt', 1],
        ['sent', 1],
      ]);

      // A resend's email too; once its lease lapses (the owner died), any worker claims it.
      const { fresh, command: resend } = await reissueCommand(leased, T0 + 1_000);
      const email = { ...fresh.email, lease: { owner: 'a', until: T0 + 31_000 } };
      const result = await store.reissueCredentials({ ...resend, email });
      expect(result.outcome).toBe('reissued');
      expect(await store.claimOutbox({ owner: 'b', now: T0 + 30_999, leaseMs: 30_000, limit: 10 })).toEqual([]);
      const taken = await store.claimOutbox({ owner: 'b', now: T0 + 31_000, leaseMs: 30_000, limit: 10 });
      expect(taken.map((claim) => [claim.id, claim.attempts])).toEqual([[fresh.email.id, 0]]);
      expect(await store.markOutboxSent({ id: fresh.email.id, owner: 'a', now: T0 + 31_001, detail: null })).toBe(false);
      expect(await store.markOutboxSent({ id: fresh.email.id, owner: 'b', now: T0 + 31_001, detail: null })).toBe(true);
    });

    it('claims by next attempt time, then keeps the timeline in time order', async () => {
      const store = ctx.store();
      const [r0, r1] = await queue(2);
      await store.claimOutbox({ owner: 'a', now: T0 + 10, leaseMs: 1000, limit: 1 });
      expect(await store.markOutboxRetry({ id: r0!.email.id, owner: 'a', now: T0 + 20, detail: null, nextAttemptAt: T0 + 5000 })).toBe(
        true,
      );
      const claims = await store.claimOutbox({ owner: 'b', now: T0 + 6000, leaseMs: 1000, limit: 2 });
      expect(claims.map((c) => c.id)).toEqual([r1!.email.id, r0!.email.id]);
    });
  });
}
