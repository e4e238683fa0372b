/**
 * Auth requests are bound to the client that created them: for any other caller, verify by code
 * or link and resend answer `not_found`, whatever the request's state and whatever the credential,
 * and change nothing (no attempt, no failed-code event, no send counted, no credential burnt).
 */
import { describe, expect, it } from 'vitest';
import type { ConsumeResult, ReissueResult, SendBudget, WindowLimit } from '@sesame/core';
import { DAY, GENEROUS, MINUTE, T0, issue, linkDigest, newRequest, otpDigest, wrongCode, type NewRequest } from './fixtures.js';
import type { SuiteContext } from './context.js';

const MAX_ATTEMPTS = 5;
/** One failed code per address: a failure counted by another client's try would show at once. */
const ONE_FAILURE: WindowLimit = { max: 1, windowMs: DAY };
/** Two sends per address: the request's own and one more, so a counted foreign resend would show. */
const TWO_SENDS: WindowLimit = { max: 2, windowMs: MINUTE };

/** Callers other than the request's creator `client-a`, including near-miss spellings of its id. */
const OTHER_CLIENTS = ['client-b', 'CLIENT-A', 'client-a ', ' client-a', 'client-', 'client-a\u0000', '', 'sesame-admin'] as const;

type Operation = 'otp right' | 'otp wrong' | 'link right' | 'link wrong' | 'resend';
const OPERATIONS: readonly Operation[] = ['otp right', 'otp wrong', 'link right', 'link wrong', 'resend'];

export function registerClientBindingSuite(ctx: SuiteContext): void {
  describe('auth requests are bound to their client', () => {
    async function create(options: Parameters<typeof newRequest>[0] = {}): Promise<NewRequest> {
      const request = await newRequest(options);
      expect(await ctx.store().createAuthRequest(request.command)).toEqual({ ok: true });
      return request;
    }

    /** Runs `operation` on `request` as `clientId`, with a budget that a counted send would use up. */
    async function act(request: NewRequest, clientId: string, operation: Operation, now: number): Promise<ConsumeResult | ReissueResult> {
      const store = ctx.store();
      switch (operation) {
        case 'otp right':
        case 'otp wrong': {
          const code = operation === 'otp right' ? request.otp : wrongCode(request.otp);
          return store.consumeWithOtp({
            id: request.id,
            clientId,
            otpHash: await otpDigest(request.id, code ?? ''),
            now,
            maxAttempts: MAX_ATTEMPTS,
            addressFailureLimit: ONE_FAILURE,
          });
        }
        case 'link right':
        case 'link wrong': {
          const token = operation === 'link right' ? request.linkToken : `${request.linkToken ?? ''}x`;
          return store.consumeWithLink({
            id: request.id,
            clientId,
            linkTokenHash: await linkDigest(request.id, token ?? ''),
            now,
            maxAttempts: MAX_ATTEMPTS,
          });
        }
        case 'resend': {
          const fresh = await issue(request.id, request.command.request.type, now);
          const budgets: SendBudget[] = [{ key: `client:${clientId}`, scope: 'client', max: 1, windowMs: MINUTE }];
          return store.reissueCredentials({
            id: request.id,
            clientId,
            digests: fresh.digests,
            email: fresh.email,
            sendLimit: TWO_SENDS,
            budgets,
            now,
          });
        }
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
          const budget: SendBudget = { key: `client:${other}`, scope: 'client', max: 1, windowMs: MINUTE };
          const own = await newRequest({ email: `own-${i}@example.com`, now: now + 4, clientId: other, budgets: [budget] });
          expect(await store.createAuthRequest(own.command)).toEqual({ ok: true });
        }
      });
    }

    it('answers not_found to another client whatever state the request is in, so its state does not leak', async () => {
      const pending = await create();
      const verified = await create();
      expect(await act(verified, 'client-a', 'otp right', T0 + 1)).toMatchObject({ outcome: 'verified' });
      const locked = await create();
      for (let i = 0; i < MAX_ATTEMPTS; i++) {
        await ctx.store().consumeWithOtp({
          id: locked.id,
          clientId: 'client-a',
          otpHash: await otpDigest(locked.id, wrongCode(locked.otp)),
          now: T0 + 2,
          maxAttempts: MAX_ATTEMPTS,
          addressFailureLimit: GENEROUS,
        });
      }
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
