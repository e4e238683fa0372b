/**
 * Auth requests are bound to the client that created them: for any other caller, verify by code
 * or link and resend answer `not_found`, whatever the request's state and whatever the credential,
 * and change nothing (no attempt, no failed-code event, no send counted, no credential burnt).
 */
import { describe, expect, it } from 'vitest';
import type { ConsumeResult, ReissueResult, WindowLimit } from '@sesame/core';
import { DAY, GENEROUS, MAX_ATTEMPTS, MINUTE, T0, clientBudget, newRequest, wrongCode, type NewRequest } from './fixtures.js';
import { requestActions, type SuiteContext } from './context.js';

/** One failed code per address: a failure counted by another client's try would show at once. */
const ONE_FAILURE: WindowLimit = { max: 1, windowMs: DAY };
/** Two sends per address: the request's own and one more, so a counted foreign resend would show. */
const TWO_SENDS: WindowLimit = { max: 2, windowMs: MINUTE };

/** Callers other than the request's creator `client-a`, including near-miss spellings of its id. */
const OTHER_CLIENTS = ['client-b', 'CLIENT-A', 'client-a ', ' client-a', 'client-', 'client-a\u0000', '', 'sesame-admin'] as const;

type Operation = 'otp right' | 'otp wrong' | 'link right' | 'link wrong' | 'resend';
const OPERATIONS: readonly Operation[] = ['otp right', 'otp wrong', 'link right', 'link wrong', 'resend'];

export function registerClientBindingSuite(ctx: SuiteContext): void {
  const { create, consumeOtp, consumeLink, reissue } = requestActions(ctx);

  describe('auth requests are bound to their client', () => {
    /** Runs `operation` on `request` as `clientId`, with a budget that a counted send would use up. */
    async function act(request: NewRequest, clientId: string, operation: Operation, now: number): Promise<ConsumeResult | ReissueResult> {
      switch (operation) {
        case 'otp right':
        case 'otp wrong': {
          const code = operation === 'otp right' ? request.otp : wrongCode(request.otp);
          return consumeOtp(request, code, now, { clientId, addressFailureLimit: ONE_FAILURE });
        }
        case 'link right':
        case 'link wrong': {
          const token = operation === 'link right' ? request.linkToken : `${request.linkToken ?? ''}x`;
          return consumeLink(request, token, now, { clientId });
        }
        case 'resend':
          return (await reissue(request, now, { clientId, sendLimit: TWO_SENDS, budgets: [clientBudget(clientId, 1)] })).result;
      }
    }

    /** Everything a foreign call could have changed, as the store shows it. */
    async function snapshot(request: NewRequest, now: number) {
      const store = ctx.store();
      return {
        request: await store.findAuthRequest(request.id, now),
        timeline: await store.deliveryTimeline(request.id),
        depth: await store.outboxDepth(),
      };
    }

    for (const operation of OPERATIONS) {
      it(`${operation} by any other client: not_found, and the request, its address and the caller's budget are untouched`, async () => {
        const store = ctx.store();
        for (const [i, other] of OTHER_CLIENTS.entries()) {
          const email = `bound-${i}@example.com`;
          const request = await create({ email, now: T0, sendLimit: TWO_SENDS });
          const now = T0 + 1000;
          const before = await snapshot(request, now);
          expect(await act(request, other, operation, now), `${operation} as ${JSON.stringify(other)}`).toEqual({ outcome: 'not_found' });
          expect(await snapshot(request, now)).toEqual(before);

          // No failed code was counted against the address (its cap is one): the owner's wrong
          // code is its first, and the owner's code still works (nothing burnt, nothing reissued).
          const owner = request.command.request.clientId;
          expect(await act(request, owner, 'otp wrong', now + 1)).toEqual({
            outcome: 'invalid_credential',
            attemptsLeft: MAX_ATTEMPTS - 1,
          });
          expect(await act(request, owner, 'link right', now + 2)).toMatchObject({
            outcome: 'verified',
            request: { sends: 1, attempts: 1 },
          });
          // No send was counted for the address (one more fits) …
          expect(await store.createAuthRequest((await newRequest({ email, now: now + 3, sendLimit: TWO_SENDS })).command)).toEqual({
            ok: true,
          });
          // … nor against the caller's budget of one (a client id never holds NUL, which
          // PostgreSQL text cannot store: that caller is only ever refused).
          if (other.includes('\u0000')) continue;
          const own = await newRequest({ email: `own-${i}@example.com`, now: now + 4, clientId: other, budgets: [clientBudget(other, 1)] });
          expect(await store.createAuthRequest(own.command)).toEqual({ ok: true });
        }
      });
    }

    it('answers not_found to another client whatever state the request is in, so its state does not leak', async () => {
      const pending = await create();
      const verified = await create();
      expect(await act(verified, 'client-a', 'otp right', T0 + 1)).toMatchObject({ outcome: 'verified' });
      const locked = await create();
      for (let i = 0; i < MAX_ATTEMPTS; i++) await consumeOtp(locked, wrongCode(locked.otp), T0 + 2, { addressFailureLimit: GENEROUS });
      const expired = await create({ ttlMs: 10 });
      const now = T0 + 1000;
      for (const request of [pending, verified, locked, expired]) {
        const before = await snapshot(request, now);
        for (const operation of OPERATIONS) expect(await act(request, 'client-b', operation, now)).toEqual({ outcome: 'not_found' });
        expect(await snapshot(request, now)).toEqual(before);
      }
      // The owner still sees each state.
      expect(await act(verified, 'client-a', 'resend', now)).toEqual({ outcome: 'already_used' });
      expect(await act(locked, 'client-a', 'link right', now)).toEqual({ outcome: 'locked' });
      expect(await act(expired, 'client-a', 'link right', now)).toEqual({ outcome: 'expired' });
      expect(await act(pending, 'client-a', 'resend', now)).toMatchObject({ outcome: 'reissued' });
    });

    it('lets the creating client verify and resend as before', async () => {
      const request = await create({ clientId: 'client-b' });
      expect(await act(request, 'client-a', 'resend', T0 + 1)).toEqual({ outcome: 'not_found' });
      const resent = await act(request, 'client-b', 'resend', T0 + 2);
      expect(resent).toMatchObject({ outcome: 'reissued', request: { clientId: 'client-b', sends: 2 } });
      expect(await act(request, 'client-a', 'otp wrong', T0 + 3)).toEqual({ outcome: 'not_found' });
      expect((await ctx.store().findAuthRequest(request.id, T0 + 3))?.attempts).toBe(0);
    });
  });
}
