/**
 * The send limit per address: sends and resends to one address share a sliding window, a refused
 * send writes nothing, and the answer says exactly when the next send fits.
 */
import { describe, expect, it } from 'vitest';
import type { WindowLimit } from '@sesame/core';
import { MINUTE, T0, newRequest } from './fixtures.js';
import { requestActions, type SuiteContext } from './context.js';

export function registerSendLimitSuite(ctx: SuiteContext): void {
  const { create, consumeOtp, reissue } = requestActions(ctx);

  describe('send limits', () => {
    const limit: WindowLimit = { max: 2, windowMs: MINUTE };

    it('allows max sends per window and answers the exact retry-after, writing nothing when refused', async () => {
      const store = ctx.store();
      const email = 'limit@example.com';
      await create({ email, now: T0, sendLimit: limit });
      await create({ email: 'LIMIT@example.com ', now: T0 + 10_000, sendLimit: limit });
      const refused = await newRequest({ email, now: T0 + 20_000, sendLimit: limit });
      expect(await store.createAuthRequest(refused.command)).toEqual({ ok: false, retryAfterMs: 40_000, scope: 'address' });
      expect(await store.findAuthRequest(refused.id, T0 + 20_000)).toBeNull();
      expect(await store.deliveryTimeline(refused.id)).toEqual([]);
      expect(await store.outboxDepth()).toBe(2);

      const almost = await newRequest({ email, now: T0 + MINUTE - 1, sendLimit: limit });
      expect(await store.createAuthRequest(almost.command)).toEqual({ ok: false, retryAfterMs: 1, scope: 'address' });
      // At T0 + 1 min the first send has aged out; then the second is the one to wait for.
      await create({ email, now: T0 + MINUTE, sendLimit: limit });
      const next = await newRequest({ email, now: T0 + MINUTE, sendLimit: limit });
      expect(await store.createAuthRequest(next.command)).toEqual({ ok: false, retryAfterMs: 10_000, scope: 'address' });
      // Another address is unaffected.
      await create({ email: 'someone-else@example.com', now: T0 + MINUTE, sendLimit: limit });
    });

    it('waits for enough sends to age out when the limit was lowered', async () => {
      const store = ctx.store();
      const email = 'lowered@example.com';
      const wide: WindowLimit = { max: 3, windowMs: MINUTE };
      for (const at of [T0, T0 + 1000, T0 + 2000]) await create({ email, now: at, sendLimit: wide });
      const refused = await newRequest({ email, now: T0 + 3000, sendLimit: limit });
      // Three in the window, max two: two must age out, the second of them at T0 + 1000 + 1 min.
      expect(await store.createAuthRequest(refused.command)).toEqual({ ok: false, retryAfterMs: MINUTE - 2000, scope: 'address' });
    });

    it('counts sends and resends together', async () => {
      const store = ctx.store();
      const email = 'resend-limit@example.com';
      const request = await create({ email, now: T0, sendLimit: limit });
      const first = await reissue(request, T0 + 5_000, { sendLimit: limit });
      expect(first.result).toMatchObject({ outcome: 'reissued', request: { sends: 2 } });
      const second = await reissue(request, T0 + 6_000, { sendLimit: limit });
      expect(second.result).toEqual({ outcome: 'send_limited', retryAfterMs: 54_000, scope: 'address' });
      const another = await newRequest({ email, now: T0 + 7_000, sendLimit: limit });
      expect(await store.createAuthRequest(another.command)).toEqual({ ok: false, retryAfterMs: 53_000, scope: 'address' });
      // The refused resend changed nothing: the credentials of the first resend still work.
      expect(await store.findAuthRequest(request.id, T0 + 8_000)).toMatchObject({ sends: 2 });
      expect(await consumeOtp(request, second.fresh.otp, T0 + 8_000)).toMatchObject({ outcome: 'invalid_credential' });
      expect(await consumeOtp(request, first.fresh.otp, T0 + 8_000)).toMatchObject({ outcome: 'verified' });
    });

    it('does not count a resend that was refused for the request’s state', async () => {
      const store = ctx.store();
      const email = 'terminal@example.com';
      const used = await create({ email, now: T0, sendLimit: limit });
      await consumeOtp(used, used.otp, T0 + 1);
      for (let i = 0; i < 3; i++)
        expect((await reissue(used, T0 + 2 + i, { sendLimit: limit })).result).toEqual({ outcome: 'already_used' });
      await create({ email, now: T0 + 10, sendLimit: limit });
      const third = await newRequest({ email, now: T0 + 20, sendLimit: limit });
      expect((await store.createAuthRequest(third.command)).ok).toBe(false);
    });
  });
}
