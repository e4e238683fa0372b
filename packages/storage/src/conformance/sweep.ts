/**
 * The sweep: it deletes expired requests with their emails and events, prunes the send and
 * failed-code logs and the ended send-budget windows, always in bounded batches, and keeps
 * whatever still counts toward a limit.
 */
import { describe, expect, it } from 'vitest';
import type { SendBudget, WindowLimit } from '@sesame/core';
import { DAY, MINUTE, T0, W0, linkLookup, newRequest, wrongCode } from './fixtures.js';
import { requestActions, type SuiteContext } from './context.js';

export function registerSweepSuite(ctx: SuiteContext): void {
  const { create, consumeOtp, reissue } = requestActions(ctx);

  describe('sweep', () => {
    it('deletes expired requests with their emails and events, in bounded batches', async () => {
      const store = ctx.store();
      const expiring = [];
      for (let i = 1; i <= 4; i++) expiring.push(await create({ ttlMs: i * 1000 }));
      const boundary = await create({ ttlMs: 5000 });
      const live = await create({ ttlMs: 60 * MINUTE });
      await reissue(expiring[0]!, T0 + 1);
      const cutoff = T0 + 5000;
      // sendLogBefore: these requests no longer count toward a send window (see the limits test below).
      const sweep = { expiredBefore: cutoff, now: cutoff, batchSize: 3, sendLogBefore: cutoff };
      expect(await store.sweepExpired(sweep)).toMatchObject({ authRequests: 3 });
      expect(await store.sweepExpired(sweep)).toMatchObject({ authRequests: 1 });
      expect(await store.sweepExpired(sweep)).toMatchObject({ authRequests: 0 });
      for (const gone of expiring) {
        expect(await store.findAuthRequest(gone.id, cutoff)).toBeNull();
        expect(await store.deliveryTimeline(gone.id)).toEqual([]);
      }
      // expires_at == expiredBefore is kept: only strictly earlier ones go.
      expect((await store.findAuthRequest(boundary.id, cutoff))?.status).toBe('expired');
      expect((await store.findAuthRequest(live.id, cutoff))?.status).toBe('pending');
      expect(await store.outboxDepth()).toBe(2);
      const claimed = await store.claimOutbox({ owner: 'a', now: cutoff, leaseMs: 1000, limit: 10 });
      expect(claimed.map((c) => c.authRequestId).sort()).toEqual([boundary.id, live.id].sort());
      expect(await store.sweepExpired({ expiredBefore: T0 + 5001, now: cutoff, batchSize: 0, sendLogBefore: cutoff })).toEqual({
        authRequests: 0,
        sendLog: 0,
        otpFailures: 0,
      });
      expect(await store.sweepExpired({ expiredBefore: T0 + 5001, now: cutoff, batchSize: 10, sendLogBefore: cutoff })).toMatchObject({
        authRequests: 1,
      });
    });

    it('deletes a verified request once it has expired too', async () => {
      const store = ctx.store();
      const request = await create({ ttlMs: MINUTE });
      await consumeOtp(request, request.otp, T0 + 1);
      const after = T0 + MINUTE + 1;
      expect(await store.sweepExpired({ expiredBefore: after, now: after, batchSize: 10, sendLogBefore: after })).toMatchObject({
        authRequests: 1,
      });
      expect(await store.findAuthRequestByLinkLookup(await linkLookup(request.linkToken!), T0 + MINUTE + 1)).toBeNull();
    });

    it('prunes the sliding-window logs before the given cutoffs, in batches, and counts what it pruned', async () => {
      const store = ctx.store();
      const limit: WindowLimit = { max: 10, windowMs: MINUTE };
      // One send and four resends to one address at T0 … T0 + 4 s (the request lives an hour:
      // only the log is swept). The send log holds the resends; the send counts through its request.
      const request = await create({ email: 'logs@example.com', now: T0, sendLimit: limit, ttlMs: 60 * MINUTE });
      for (let i = 1; i < 5; i++)
        expect((await reissue(request, T0 + i * 1000, { sendLimit: limit })).result).toMatchObject({ outcome: 'reissued' });
      // Three failed codes at T0 + 10 s.
      const target = await create({ email: 'fails@example.com', ttlMs: 60 * MINUTE });
      for (let i = 0; i < 3; i++)
        expect(await consumeOtp(target, wrongCode(target.otp), T0 + 10_000)).toMatchObject({ outcome: 'invalid_credential' });
      const now = T0 + 20_000;
      // The default cutoffs keep a day of sends and a week of failures: nothing goes.
      expect(await store.sweepExpired({ expiredBefore: T0, now, batchSize: 10 })).toEqual({
        authRequests: 0,
        sendLog: 0,
        otpFailures: 0,
      });
      // Resends before T0 + 3.5 s go (three), two per batch; failures before T0 + 10 s are none.
      const sweep = { expiredBefore: T0, now, batchSize: 2, sendLogBefore: T0 + 3500, otpFailuresBefore: T0 + 10_000 };
      expect(await store.sweepExpired(sweep)).toEqual({ authRequests: 0, sendLog: 2, otpFailures: 0 });
      expect(await store.sweepExpired(sweep)).toEqual({ authRequests: 0, sendLog: 1, otpFailures: 0 });
      expect(await store.sweepExpired(sweep)).toEqual({ authRequests: 0, sendLog: 0, otpFailures: 0 });
      // Left in the minute: the send (its request stays) and the resend at T0 + 4 s. With a
      // limit of 3, one more is allowed, then none.
      const tight: WindowLimit = { max: 3, windowMs: MINUTE };
      expect(await store.createAuthRequest((await newRequest({ email: 'logs@example.com', now, sendLimit: tight })).command)).toEqual({
        ok: true,
      });
      expect(await store.createAuthRequest((await newRequest({ email: 'logs@example.com', now, sendLimit: tight })).command)).toMatchObject(
        { ok: false },
      );
      expect(await store.sweepExpired({ ...sweep, otpFailuresBefore: T0 + 10_001, batchSize: 10 })).toEqual({
        authRequests: 0,
        sendLog: 0,
        otpFailures: 3,
      });
    });

    it('keeps a request that still counts toward a send window, however long ago it expired', async () => {
      const store = ctx.store();
      const limit: WindowLimit = { max: 1, windowMs: MINUTE };
      const sent = await create({ email: 'sweep@example.com', ttlMs: 1000, sendLimit: limit });
      // Expired, but created within the window the sweep is told still counts (default: a day).
      expect(await store.sweepExpired({ expiredBefore: T0 + 2000, now: T0 + 2000, batchSize: 10 })).toMatchObject({ authRequests: 0 });
      expect(await store.sweepExpired({ expiredBefore: T0 + 2000, now: T0 + 2000, batchSize: 10, sendLogBefore: T0 })).toMatchObject({
        authRequests: 0,
      });
      expect((await store.findAuthRequest(sent.id, T0 + 2000))?.status).toBe('expired');
      const next = await newRequest({ email: 'sweep@example.com', now: T0 + 2000, sendLimit: limit });
      expect(await store.createAuthRequest(next.command)).toEqual({ ok: false, retryAfterMs: MINUTE - 2000, scope: 'address' });
      // Once its window has passed it goes, and the address may send again.
      const later = T0 + MINUTE;
      expect(await store.sweepExpired({ expiredBefore: later, now: later, batchSize: 10, sendLogBefore: T0 + 1 })).toMatchObject({
        authRequests: 1,
      });
      expect(await store.findAuthRequest(sent.id, later)).toBeNull();
      expect(
        await store.createAuthRequest((await newRequest({ email: 'sweep@example.com', now: later, sendLimit: limit })).command),
      ).toEqual({ ok: true });
    });

    it('the sweep deletes send-budget windows that ended over a day ago, at most a batch at a time', async () => {
      const store = ctx.store();
      const budget = (key: string): SendBudget => ({ key, scope: 'client', max: 1, windowMs: MINUTE });
      const send = async (key: string, at: number) =>
        (await store.createAuthRequest((await newRequest({ now: at, budgets: [budget(key)] })).command)).ok;
      // Three keys spend their budget in the window [W0, W0 + 1 min).
      for (const key of ['k1', 'k2', 'k3']) expect(await send(key, W0)).toBe(true);
      // Exactly a day after the window ended it may still be kept; just after, it goes, two per batch.
      const dayAfter = W0 + MINUTE + DAY;
      await store.sweepExpired({ expiredBefore: 0, now: dayAfter, batchSize: 10 });
      for (const key of ['k1', 'k2', 'k3']) expect(await send(key, W0 + 1)).toBe(false);
      await store.sweepExpired({ expiredBefore: 0, now: dayAfter + 1, batchSize: 2 });
      // A deleted window counts from zero again (seen by sending at a time inside it).
      const reopened = [];
      for (const key of ['k1', 'k2', 'k3']) reopened.push(await send(key, W0 + 2));
      expect(reopened.filter(Boolean)).toHaveLength(2);
      // The windows just refilled are in the past as well: the next sweep takes what is left.
      await store.sweepExpired({ expiredBefore: 0, now: dayAfter + 1, batchSize: 10 });
      for (const key of ['k1', 'k2', 'k3']) expect(await send(key, W0 + 3)).toBe(true);
    });
  });
}
