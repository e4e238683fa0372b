/**
 * Send budgets: fixed-window counts of sends (new requests and resends) per client and per
 * deployment, checked after the address limit, counted only when every check passes, in the
 * same transaction as the write, and exact under concurrency across connections.
 */
import { describe, expect, it } from 'vitest';
import type { LimitResult, ReissueResult, SendBudget, WindowLimit } from '@sesame/core';
import { GENEROUS, MINUTE, W0, clientBudget, deploymentBudget, newRequest, reissueCommand, type NewRequest } from './fixtures.js';
import { LOCKSTEP_ROUNDS, RACE_OPS, RACE_WORKERS, raceInRounds, raceSpread, requestActions, type SuiteContext } from './context.js';
import type { RaceOp, RaceResult } from './race-protocol.js';
import { seeded } from './seeded.js';

export function registerSendBudgetSuite(ctx: SuiteContext): void {
  const { consumeOtp, reissue } = requestActions(ctx);

  describe('send budgets per client and per deployment', () => {
    let serial = 0;

    /** A send to a fresh address (so the address limit never interferes unless asked to). */
    async function send(
      now: number,
      budgets: readonly SendBudget[],
      options: { clientId?: string; email?: string; sendLimit?: WindowLimit } = {},
    ) {
      const request = await newRequest({
        now,
        budgets,
        clientId: options.clientId ?? 'client-a',
        email: options.email ?? `budget-${++serial}@example.com`,
        sendLimit: options.sendLimit ?? GENEROUS,
        // Long-lived, so a resend minutes later still finds it pending.
        ttlMs: 60 * MINUTE,
      });
      const result = await ctx.store().createAuthRequest(request.command);
      return { request, result };
    }

    const resend = (request: NewRequest, now: number, budgets: readonly SendBudget[]) => reissue(request, now, { budgets });

    it('allows max sends per window, then answers the time left in the window and writes nothing', async () => {
      const store = ctx.store();
      const budgets = [clientBudget('client-a', 3)];
      for (const at of [W0, W0 + 10_000, W0 + 20_000]) expect((await send(at, budgets)).result).toEqual({ ok: true });
      const refused = await send(W0 + 30_000, budgets);
      expect(refused.result).toEqual({ ok: false, retryAfterMs: 30_000, scope: 'client' });
      expect(await store.findAuthRequest(refused.request.id, W0 + 30_000)).toBeNull();
      expect(await store.deliveryTimeline(refused.request.id)).toEqual([]);
      expect((await send(W0 + MINUTE - 1, budgets)).result).toEqual({ ok: false, retryAfterMs: 1, scope: 'client' });
      expect(await store.outboxDepth()).toBe(3);
      // A new window: three more, then refused again until its end.
      for (const at of [W0 + MINUTE, W0 + MINUTE + 1, W0 + MINUTE + 2]) expect((await send(at, budgets)).result).toEqual({ ok: true });
      expect((await send(W0 + MINUTE + 5_000, budgets)).result).toEqual({ ok: false, retryAfterMs: 55_000, scope: 'client' });
      expect(await store.outboxDepth()).toBe(6);
    });

    it('a budget of zero refuses every send', async () => {
      expect((await send(W0 + 1, [clientBudget('client-a', 0)])).result).toEqual({ ok: false, retryAfterMs: MINUTE - 1, scope: 'client' });
      expect((await send(W0 + 2, [deploymentBudget(0)])).result).toEqual({ ok: false, retryAfterMs: MINUTE - 2, scope: 'deployment' });
      expect(await ctx.store().outboxDepth()).toBe(0);
    });

    it('keeps clients apart and shares the deployment budget between them', async () => {
      const forA = [clientBudget('client-a', 2), deploymentBudget(3)];
      const forB = [clientBudget('client-b', 2), deploymentBudget(3)];
      expect((await send(W0, forA)).result).toEqual({ ok: true });
      expect((await send(W0 + 1, forA)).result).toEqual({ ok: true });
      expect((await send(W0 + 2, forA)).result).toEqual({ ok: false, retryAfterMs: MINUTE - 2, scope: 'client' });
      // Client a's refusal counted in no budget: b has its two, the deployment its third.
      expect((await send(W0 + 3, forB, { clientId: 'client-b' })).result).toEqual({ ok: true });
      expect((await send(W0 + 4, forB, { clientId: 'client-b' })).result).toEqual({
        ok: false,
        retryAfterMs: MINUTE - 4,
        scope: 'deployment',
      });
      // A third client, untouched by a's and b's sends, is still stopped by the deployment.
      expect((await send(W0 + 5, [clientBudget('client-c', 5), deploymentBudget(3)], { clientId: 'client-c' })).result).toEqual({
        ok: false,
        retryAfterMs: MINUTE - 5,
        scope: 'deployment',
      });
      // Without a deployment budget, b's own budget still has room for one.
      expect((await send(W0 + 6, [clientBudget('client-b', 2)], { clientId: 'client-b' })).result).toEqual({ ok: true });
    });

    it('checks the address limit first; a send refused anywhere counts nowhere', async () => {
      const store = ctx.store();
      const oneSend: WindowLimit = { max: 1, windowMs: MINUTE };
      const budgets = [clientBudget('client-a', 2), deploymentBudget(100)];
      expect((await send(W0, budgets, { email: 'addr@example.com', sendLimit: oneSend })).result).toEqual({ ok: true });
      // The address is at its limit: refused with scope address, and neither budget counts it.
      for (let i = 1; i <= 3; i++) {
        expect((await send(W0 + i, budgets, { email: 'addr@example.com', sendLimit: oneSend })).result).toEqual({
          ok: false,
          retryAfterMs: MINUTE - i,
          scope: 'address',
        });
      }
      expect((await send(W0 + 10, budgets)).result).toEqual({ ok: true });
      // The client's budget is spent now; a refusal by it does not count at the address.
      const refused = await send(W0 + 20, budgets, { email: 'other@example.com', sendLimit: oneSend });
      expect(refused.result).toEqual({ ok: false, retryAfterMs: MINUTE - 20, scope: 'client' });
      expect((await send(W0 + MINUTE, budgets, { email: 'other@example.com', sendLimit: oneSend })).result).toEqual({ ok: true });
      // Both over: the address answers first.
      expect(
        (await send(W0 + MINUTE + 1, [clientBudget('client-a', 0)], { email: 'other@example.com', sendLimit: oneSend })).result,
      ).toMatchObject({ scope: 'address' });
      expect(await store.outboxDepth()).toBe(3);
    });

    it('counts resends, and a resend the budget refuses changes nothing', async () => {
      const store = ctx.store();
      const budgets = [clientBudget('client-a', 2)];
      const { request } = await send(W0, budgets);
      const first = await resend(request, W0 + 1000, budgets);
      expect(first.result).toMatchObject({ outcome: 'reissued', request: { sends: 2 } });
      const second = await resend(request, W0 + 2000, budgets);
      expect(second.result).toEqual({ outcome: 'send_limited', retryAfterMs: MINUTE - 2000, scope: 'client' });
      expect((await send(W0 + 3000, budgets)).result).toEqual({ ok: false, retryAfterMs: MINUTE - 3000, scope: 'client' });
      expect(await store.findAuthRequest(request.id, W0 + 3000)).toMatchObject({ sends: 2 });
      expect((await store.deliveryTimeline(request.id)).map((event) => event.kind)).toEqual(['queued', 'superseded', 'queued']);
      // The refused resend's code never worked; the first resend's still does.
      const consume = (code: string | null) => consumeOtp(request, code, W0 + 4000, { addressFailureLimit: GENEROUS });
      expect(await consume(second.fresh.otp)).toMatchObject({ outcome: 'invalid_credential' });
      expect(await consume(first.fresh.otp)).toMatchObject({ outcome: 'verified' });
      // The deployment scope reaches resends too.
      const { request: other } = await send(W0 + MINUTE, []);
      expect((await resend(other, W0 + MINUTE + 1, [deploymentBudget(0)])).result).toEqual({
        outcome: 'send_limited',
        retryAfterMs: MINUTE - 1,
        scope: 'deployment',
      });
    });

    it('agrees with a fixed-window model over a generated sequence of sends and resends by two clients', async () => {
      const random = seeded(20);
      const CLIENT_MAX = 3;
      const CLIENT_WINDOW = 20_000;
      const DEPLOYMENT_MAX = 5;
      const counts = new Map<string, number>();
      const live: Record<string, NewRequest[]> = { 'client-a': [], 'client-b': [] };
      let now = W0 - 5_000;
      for (let step = 0; step < 80; step++) {
        now += Math.floor(random() * 9_000);
        const clientId = random() < 0.5 ? 'client-a' : 'client-b';
        const budgets = [clientBudget(clientId, CLIENT_MAX, CLIENT_WINDOW), deploymentBudget(DEPLOYMENT_MAX)];
        // The model: the first budget at its max refuses with the time left in its window.
        let expected: { retryAfterMs: number; scope: 'client' | 'deployment' } | null = null;
        const windows = budgets.map((budget) => {
          const start = Math.floor(now / budget.windowMs) * budget.windowMs;
          return { id: `${budget.key}@${start}`, end: start + budget.windowMs, budget };
        });
        for (const window of windows) {
          if (expected === null && (counts.get(window.id) ?? 0) >= window.budget.max) {
            expected = { retryAfterMs: window.end - now, scope: window.budget.scope };
          }
        }
        if (expected === null) for (const window of windows) counts.set(window.id, (counts.get(window.id) ?? 0) + 1);

        const target = live[clientId]!;
        if (target.length > 0 && random() < 0.4) {
          const request = target[Math.floor(random() * target.length)]!;
          const { result } = await resend(request, now, budgets);
          const want: ReissueResult = expected ? { outcome: 'send_limited', ...expected } : ({ outcome: 'reissued' } as ReissueResult);
          expect(result, `step ${step}: resend at +${now - W0}`).toMatchObject(want);
        } else {
          const { request, result } = await send(now, budgets, { clientId });
          const want: LimitResult = expected ? { ok: false, ...expected } : { ok: true };
          expect(result, `step ${step}: send at +${now - W0}`).toEqual(want);
          if (result.ok) target.push(request);
        }
      }
    });

    describe('under concurrency from several connections', () => {
      function outcomes(results: readonly RaceResult[]): (LimitResult | ReissueResult)[] {
        return results.map((entry) => {
          if (entry.kind === 'createAuthRequest' || entry.kind === 'reissueCredentials') return entry.result;
          throw new Error(`unexpected ${entry.kind}`);
        });
      }
      const accepted = (result: LimitResult | ReissueResult): boolean => ('ok' in result ? result.ok : result.outcome === 'reissued');

      it(`${RACE_OPS} concurrent sends of one client never exceed its budget`, async () => {
        const max = 7;
        const now = W0 + 1000;
        const budgets = [clientBudget('racer', max), deploymentBudget(1_000)];
        const requests: NewRequest[] = [];
        for (let i = 0; i < RACE_OPS; i++)
          requests.push(await newRequest({ email: `racer-${i}@example.com`, clientId: 'racer', now, budgets }));
        const results = outcomes(
          await raceSpread(
            ctx,
            requests.map((r): RaceOp => ({ kind: 'createAuthRequest', command: r.command })),
          ),
        );
        expect(results.filter(accepted)).toHaveLength(max);
        expect(results.filter((result) => !accepted(result))).toEqual(
          Array.from({ length: RACE_OPS - max }, () => ({ ok: false, retryAfterMs: MINUTE - 1000, scope: 'client' })),
        );
        expect(await ctx.store().outboxDepth()).toBe(max);
        // The count is exact: the next send is refused, the next window's is not.
        expect((await send(now + 1, budgets, { clientId: 'racer' })).result).toMatchObject({ ok: false, scope: 'client' });
        expect((await send(W0 + MINUTE, budgets, { clientId: 'racer' })).result).toEqual({ ok: true });
      });

      it('concurrent sends and resends of two clients share the deployment budget exactly', async () => {
        const now = W0 + 1000;
        const original = await newRequest({ clientId: 'client-a', now });
        expect(await ctx.store().createAuthRequest(original.command)).toEqual({ ok: true });
        const budgetsOf = (clientId: string) => [clientBudget(clientId, 8), deploymentBudget(12)];
        const ops: RaceOp[] = [];
        for (let i = 0; i < RACE_OPS / 2; i++) {
          ops.push({
            kind: 'reissueCredentials',
            command: (await reissueCommand(original, now, { budgets: budgetsOf('client-a') })).command,
          });
          ops.push({
            kind: 'createAuthRequest',
            command: (await newRequest({ clientId: 'client-b', now, budgets: budgetsOf('client-b') })).command,
          });
        }
        const raced = await raceSpread(ctx, ops);
        const a = raced.filter((entry) => entry.kind === 'reissueCredentials' && entry.result.outcome === 'reissued').length;
        const b = raced.filter((entry) => entry.kind === 'createAuthRequest' && entry.result.ok).length;
        expect(a + b).toBe(12);
        expect(a).toBeLessThanOrEqual(8);
        expect(b).toBeLessThanOrEqual(8);
        expect((await ctx.store().findAuthRequest(original.id, now))?.sends).toBe(1 + a);
        expect(await ctx.store().outboxDepth()).toBe(1 + b);
      });

      it('in lockstep rounds: exactly the budget every round', async () => {
        const max = 2;
        const ops: RaceOp[][] = [];
        for (let round = 0; round < LOCKSTEP_ROUNDS; round++) {
          const ofRound: RaceOp[] = [];
          for (let w = 0; w < RACE_WORKERS; w++) {
            const budgets = [clientBudget(`round-${round}`, max)];
            ofRound.push({
              kind: 'createAuthRequest',
              command: (await newRequest({ clientId: `round-${round}`, now: W0 + 1000, budgets })).command,
            });
          }
          ops.push(ofRound);
        }
        for (const [round, ofRound] of (await raceInRounds(ctx, ops)).entries()) {
          expect(outcomes(ofRound).filter(accepted), `round ${round}`).toHaveLength(max);
        }
        expect(await ctx.store().outboxDepth()).toBe(LOCKSTEP_ROUNDS * max);
      });
    });
  });
}
