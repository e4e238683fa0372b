/**
 * Resends: new credentials replace the old ones (which stop working at once), the queued email is
 * superseded, even under a worker's lease, and a request that is used, locked, expired or
 * unknown is not resent.
 */
import { describe, expect, it } from 'vitest';
import { openOutboxPayload } from '@sesame/core';
import { MAX_ATTEMPTS, MINUTE, T0, linkLookup, newRequest, sealer, wrongCode } from './fixtures.js';
import { requestActions, type SuiteContext } from './context.js';

export function registerReissueSuite(ctx: SuiteContext): void {
  const { create, consumeOtp, consumeLink, reissue } = requestActions(ctx);

  describe('resend', () => {
    it('replaces the credentials: old code and link stop working, new ones work, nothing else resets', async () => {
      const store = ctx.store();
      const request = await create({ ttlMs: 5 * MINUTE });
      await consumeOtp(request, wrongCode(request.otp), T0 + 500);
      const { fresh, result } = await reissue(request, T0 + 1000);
      expect(result).toMatchObject({
        outcome: 'reissued',
        request: { id: request.id, sends: 2, attempts: 1, expiresAt: request.command.request.expiresAt, status: 'pending' },
      });
      expect(await store.findAuthRequestByLinkLookup(await linkLookup(request.linkToken!), T0 + 1000)).toBeNull();
      expect((await store.findAuthRequestByLinkLookup(await linkLookup(fresh.linkToken!), T0 + 1000))?.id).toBe(request.id);
      expect(await consumeLink(request, request.linkToken, T0 + 1100)).toEqual({
        outcome: 'invalid_credential',
        attemptsLeft: MAX_ATTEMPTS - 1,
      });
      expect(await consumeOtp(request, request.otp, T0 + 1200)).toEqual({
        outcome: 'invalid_credential',
        attemptsLeft: MAX_ATTEMPTS - 2,
      });
      expect(await consumeOtp(request, fresh.otp, T0 + 1300)).toMatchObject({ outcome: 'verified', request: { attempts: 2 } });
    });

    it('supersedes the queued email and queues the new one', async () => {
      const store = ctx.store();
      const request = await create();
      const { fresh, result } = await reissue(request, T0 + 1000);
      expect(result.outcome).toBe('reissued');
      expect(await store.outboxDepth()).toBe(1);
      const claims = await store.claimOutbox({ owner: 'w1', now: T0 + 2000, leaseMs: MINUTE, limit: 10 });
      expect(claims.map((claim) => claim.id)).toEqual([fresh.email.id]);
      expect(await openOutboxPayload(sealer, fresh.email.id, claims[0]!.sealedPayload)).toEqual({
        otp: fresh.otp,
        linkToken: fresh.linkToken,
      });
      expect(await store.deliveryTimeline(request.id)).toEqual([
        { outboxId: request.email.id, authRequestId: request.id, at: T0, kind: 'queued', attempt: null, detail: null },
        { outboxId: request.email.id, authRequestId: request.id, at: T0 + 1000, kind: 'superseded', attempt: null, detail: null },
        { outboxId: fresh.email.id, authRequestId: request.id, at: T0 + 1000, kind: 'queued', attempt: null, detail: null },
      ]);
    });

    it('supersedes an email that a worker is sending: its lease is void', async () => {
      const store = ctx.store();
      const request = await create();
      const [claim] = await store.claimOutbox({ owner: 'w1', now: T0 + 10, leaseMs: MINUTE, limit: 1 });
      expect(claim?.id).toBe(request.email.id);
      const { fresh } = await reissue(request, T0 + 20);
      // Not yet sent: the attempt is refused, so the worker never sends the dead credentials.
      expect(await store.recordDeliveryAttempt({ id: request.email.id, owner: 'w1', now: T0 + 25, detail: null })).toBe(false);
      expect(await store.markOutboxSent({ id: request.email.id, owner: 'w1', now: T0 + 30, detail: '250 OK' })).toBe(false);
      const next = await store.claimOutbox({ owner: 'w2', now: T0 + 40, leaseMs: MINUTE, limit: 10 });
      expect(next.map((c) => c.id)).toEqual([fresh.email.id]);
    });

    it('leaves an email already sent alone', async () => {
      const store = ctx.store();
      const request = await create();
      await store.claimOutbox({ owner: 'w1', now: T0 + 10, leaseMs: MINUTE, limit: 1 });
      expect(await store.markOutboxSent({ id: request.email.id, owner: 'w1', now: T0 + 20, detail: '250 OK' })).toBe(true);
      await reissue(request, T0 + 30);
      const kinds = (await store.deliveryTimeline(request.id)).map(
        (event) => `${event.outboxId === request.email.id ? 'old' : 'new'}:${event.kind}`,
      );
      expect(kinds).toEqual(['old:queued', 'old:sent', 'new:queued']);
    });

    it('refuses a resend of a verified, locked, expired or unknown request', async () => {
      const store = ctx.store();
      const verified = await create();
      await consumeLink(verified, verified.linkToken, T0 + 1);
      expect((await reissue(verified, T0 + 2)).result).toEqual({ outcome: 'already_used' });
      const expired = await create({ ttlMs: MINUTE });
      expect((await reissue(expired, T0 + MINUTE)).result).toEqual({ outcome: 'expired' });
      const locked = await create();
      for (let i = 0; i < MAX_ATTEMPTS; i++) await consumeOtp(locked, wrongCode(locked.otp), T0 + i);
      expect((await reissue(locked, T0 + 10)).result).toEqual({ outcome: 'locked' });
      expect((await reissue(await newRequest(), T0)).result).toEqual({ outcome: 'not_found' });
      for (const request of [verified, expired, locked]) expect((await store.findAuthRequest(request.id, T0))?.sends).toBe(1);
      expect(await store.outboxDepth()).toBe(3);
    });
  });
}
