/**
 * Races between connections: several worker threads, each with its own connection opened from
 * the database URL as another Sesame process would, run the same operations at once. One valid
 * code verifies once, attempts and limits stop exactly at their caps, and every outbox row goes
 * to exactly one claimer; then the same again in lockstep rounds.
 */
import { describe, expect, it } from 'vitest';
import type { ConsumeResult, LimitResult, ReissueResult, WindowLimit } from '@sesame/core';
import { DAY, MAX_ATTEMPTS, MINUTE, T0, newRequest, otpCommand, reissueCommand, wrongCode, type NewRequest } from './fixtures.js';
import type { RaceOp, RaceResult } from './race-protocol.js';
import { LOCKSTEP_ROUNDS, RACE_OPS, RACE_WORKERS, raceInRounds, raceSpread, requestActions, type SuiteContext } from './context.js';

export function registerRaceSuite(ctx: SuiteContext): void {
  const { create, consumeOtp } = requestActions(ctx);

  describe('races between connections', () => {
    function outcomes(results: readonly RaceResult[]): ConsumeResult[] {
      return results.map((entry) => {
        if (entry.kind !== 'consumeWithOtp') throw new Error(`unexpected ${entry.kind}`);
        return entry.result;
      });
    }

    function count(results: readonly { readonly outcome: string }[]): Record<string, number> {
      const counts: Record<string, number> = {};
      for (const result of results) counts[result.outcome] = (counts[result.outcome] ?? 0) + 1;
      return counts;
    }

    it(`${RACE_OPS} concurrent verifies of one valid code give exactly one success`, async () => {
      const store = ctx.store();
      const request = await create();
      const command = await otpCommand(request, request.otp, T0 + 1000);
      const results = outcomes(
        await raceSpread(
          ctx,
          Array.from({ length: RACE_OPS }, (): RaceOp => ({ kind: 'consumeWithOtp', command })),
        ),
      );
      expect(count(results)).toEqual({ verified: 1, already_used: RACE_OPS - 1 });
      expect(await store.findAuthRequest(request.id, T0 + 1000)).toMatchObject({
        status: 'verified',
        attempts: 0,
        consumedAt: T0 + 1000,
      });
    });

    it(`${RACE_OPS} concurrent wrong codes leave attempts exactly at the cap`, async () => {
      const store = ctx.store();
      const request = await create();
      const command = await otpCommand(request, wrongCode(request.otp), T0 + 1000);
      const results = outcomes(
        await raceSpread(
          ctx,
          Array.from({ length: RACE_OPS }, (): RaceOp => ({ kind: 'consumeWithOtp', command })),
        ),
      );
      expect(count(results)).toEqual({ invalid_credential: MAX_ATTEMPTS, locked: RACE_OPS - MAX_ATTEMPTS });
      const left = results.flatMap((result) => (result.outcome === 'invalid_credential' ? [result.attemptsLeft] : [])).sort();
      expect(left).toEqual([0, 1, 2, 3, 4]);
      expect(await store.findAuthRequest(request.id, T0 + 1000)).toMatchObject({ status: 'locked', attempts: MAX_ATTEMPTS });
      expect(await consumeOtp(request, request.otp, T0 + 1001)).toEqual({ outcome: 'locked' });
    });

    it('concurrent wrong codes across requests of one address stop exactly at the address cap', async () => {
      const store = ctx.store();
      const limit: WindowLimit = { max: 10, windowMs: DAY };
      const requests: NewRequest[] = [];
      for (let i = 0; i < RACE_OPS; i++) requests.push(await create({ email: 'racer@example.com' }));
      const ops = await Promise.all(
        requests.map(async (request): Promise<RaceOp> => ({
          kind: 'consumeWithOtp',
          command: await otpCommand(request, wrongCode(request.otp), T0 + 1000, { addressFailureLimit: limit }),
        })),
      );
      const results = outcomes(await raceSpread(ctx, ops));
      expect(count(results)).toEqual({ invalid_credential: limit.max, address_limited: RACE_OPS - limit.max });
      let attempts = 0;
      for (const request of requests) attempts += (await store.findAuthRequest(request.id, T0 + 1000))?.attempts ?? 0;
      expect(attempts).toBe(limit.max);
    });

    it('concurrent sends for one address never exceed the send limit', async () => {
      const store = ctx.store();
      const limit: WindowLimit = { max: 3, windowMs: MINUTE };
      const requests: NewRequest[] = [];
      for (let i = 0; i < RACE_OPS; i++) requests.push(await newRequest({ email: 'flood@example.com', now: T0 + 1000, sendLimit: limit }));
      const results = await raceSpread(
        ctx,
        requests.map((r): RaceOp => ({ kind: 'createAuthRequest', command: r.command })),
      );
      const created: LimitResult[] = results.map((entry) => {
        if (entry.kind !== 'createAuthRequest') throw new Error(`unexpected ${entry.kind}`);
        return entry.result;
      });
      expect(created.filter((result) => result.ok)).toHaveLength(limit.max);
      expect(created.filter((result) => !result.ok)).toEqual(
        Array.from({ length: RACE_OPS - limit.max }, () => ({ ok: false, retryAfterMs: MINUTE, scope: 'address' })),
      );
      let stored = 0;
      for (const request of requests) if (await store.findAuthRequest(request.id, T0 + 1000)) stored++;
      expect(stored).toBe(limit.max);
      expect(await store.outboxDepth()).toBe(limit.max);
    });

    it('concurrent sends and resends for one address share the limit', async () => {
      const store = ctx.store();
      const limit: WindowLimit = { max: 4, windowMs: MINUTE };
      const original = await create({ email: 'mixed@example.com', now: T0, sendLimit: limit });
      const ops: RaceOp[] = [];
      for (let i = 0; i < RACE_OPS / 2; i++) {
        ops.push({ kind: 'reissueCredentials', command: (await reissueCommand(original, T0 + 1000, { sendLimit: limit })).command });
        ops.push({
          kind: 'createAuthRequest',
          command: (await newRequest({ email: 'mixed@example.com', now: T0 + 1000, sendLimit: limit })).command,
        });
      }
      const results = await raceSpread(ctx, ops);
      let accepted = 0;
      let reissued = 0;
      for (const entry of results) {
        if (entry.kind === 'createAuthRequest' && entry.result.ok) accepted++;
        if (entry.kind === 'reissueCredentials') {
          const result: ReissueResult = entry.result;
          if (result.outcome === 'reissued') reissued++;
          else expect(result).toEqual({ outcome: 'send_limited', retryAfterMs: MINUTE - 1000, scope: 'address' });
        }
      }
      expect(accepted + reissued).toBe(limit.max - 1);
      expect((await store.findAuthRequest(original.id, T0 + 1000))?.sends).toBe(1 + reissued);
      // Every resend superseded the email before it: one queued email per live request.
      expect(await store.outboxDepth()).toBe(1 + accepted);
    });

    it('two concurrent claimers never get the same outbox row', async () => {
      const total = 40;
      for (let i = 0; i < total; i++) await create({ now: T0 + i });
      const drain = (owner: string): RaceOp => ({ kind: 'drainOutbox', command: { owner, now: T0 + 1000, leaseMs: MINUTE, limit: 3 } });
      const results = await ctx.race(ctx.opened().url, [[drain('w1')], [drain('w2')], [drain('w3')]]);
      const ids = results.flat().flatMap((entry) => (entry.kind === 'drainOutbox' ? [...entry.claimedIds] : []));
      expect(ids).toHaveLength(total);
      expect(new Set(ids).size).toBe(total);
    });

    // The same properties again in rounds: in round r every worker runs its operation of that
    // round, and all workers meet before each round. A race that a free run may miss when its
    // threads happen not to overlap gets LOCKSTEP_ROUNDS fresh chances here.
    describe('in lockstep rounds', () => {
      const inRounds = (ops: readonly (readonly RaceOp[])[]) => raceInRounds(ctx, ops);

      async function rounds(build: (round: number) => Promise<RaceOp[]>): Promise<RaceOp[][]> {
        const ops: RaceOp[][] = [];
        for (let round = 0; round < LOCKSTEP_ROUNDS; round++) ops.push(await build(round));
        return ops;
      }

      function created(entries: readonly RaceResult[]): number {
        return entries.filter(
          (entry) =>
            (entry.kind === 'createAuthRequest' && entry.result.ok) ||
            (entry.kind === 'reissueCredentials' && entry.result.outcome === 'reissued'),
        ).length;
      }

      it('one valid code: exactly one success per round', async () => {
        const store = ctx.store();
        const requests: NewRequest[] = [];
        const ops = await rounds(async () => {
          const request = await create();
          requests.push(request);
          const command = await otpCommand(request, request.otp, T0 + 1000);
          return Array.from({ length: RACE_WORKERS }, (): RaceOp => ({ kind: 'consumeWithOtp', command }));
        });
        for (const results of await inRounds(ops))
          expect(count(outcomes(results))).toEqual({ verified: 1, already_used: RACE_WORKERS - 1 });
        for (const request of requests) expect((await store.findAuthRequest(request.id, T0 + 1000))?.status).toBe('verified');
      });

      it('wrong codes: attempts stop exactly at the cap every round', async () => {
        const store = ctx.store();
        const cap = 3;
        const requests: NewRequest[] = [];
        const ops = await rounds(async () => {
          const request = await create();
          requests.push(request);
          const command = await otpCommand(request, wrongCode(request.otp), T0 + 1000, { maxAttempts: cap });
          return Array.from({ length: RACE_WORKERS }, (): RaceOp => ({ kind: 'consumeWithOtp', command }));
        });
        for (const results of await inRounds(ops))
          expect(count(outcomes(results))).toEqual({ invalid_credential: cap, locked: RACE_WORKERS - cap });
        for (const request of requests) expect((await store.findAuthRequest(request.id, T0 + 1000))?.attempts).toBe(cap);
      });

      it('failed codes per address: exactly the cap every round', async () => {
        const limit: WindowLimit = { max: 2, windowMs: DAY };
        const ops = await rounds(async (round) => {
          const ofRound: RaceOp[] = [];
          for (let w = 0; w < RACE_WORKERS; w++) {
            const request = await create({ email: `cap-${round}@example.com` });
            ofRound.push({
              kind: 'consumeWithOtp',
              command: await otpCommand(request, wrongCode(request.otp), T0 + 1000, { addressFailureLimit: limit }),
            });
          }
          return ofRound;
        });
        for (const results of await inRounds(ops)) {
          expect(count(outcomes(results))).toEqual({ invalid_credential: limit.max, address_limited: RACE_WORKERS - limit.max });
        }
      });

      it('sends for one address: exactly the limit every round', async () => {
        const store = ctx.store();
        const limit: WindowLimit = { max: 2, windowMs: MINUTE };
        const ops = await rounds(async (round) => {
          const ofRound: RaceOp[] = [];
          for (let w = 0; w < RACE_WORKERS; w++) {
            ofRound.push({
              kind: 'createAuthRequest',
              command: (await newRequest({ email: `send-${round}@example.com`, now: T0 + 1000, sendLimit: limit })).command,
            });
          }
          return ofRound;
        });
        for (const results of await inRounds(ops)) expect(created(results)).toBe(limit.max);
        expect(await store.outboxDepth()).toBe(LOCKSTEP_ROUNDS * limit.max);
      });

      it('claimers: every due row goes to exactly one worker every round', async () => {
        const perRound = 2;
        // Round r's rows become due at T0 + r s; earlier rounds' rows are under a live lease by then.
        const ops = await rounds(async (round) => {
          for (let i = 0; i < perRound; i++) await create({ now: T0 + round * 1000 });
          return Array.from({ length: RACE_WORKERS }, (_, w): RaceOp => ({
            kind: 'claimOutbox',
            command: { owner: `w${w}`, now: T0 + round * 1000, leaseMs: DAY, limit: 1 },
          }));
        });
        const all: string[] = [];
        for (const results of await inRounds(ops)) {
          const ids = results.flatMap((entry) => (entry.kind === 'claimOutbox' ? entry.claims.map((claim) => claim.id) : []));
          expect(ids).toHaveLength(perRound);
          all.push(...ids);
        }
        expect(new Set(all).size).toBe(LOCKSTEP_ROUNDS * perRound);
      });

      it('sends and resends for one address: exactly the limit every round', async () => {
        const store = ctx.store();
        const limit: WindowLimit = { max: 3, windowMs: MINUTE };
        const originals: NewRequest[] = [];
        const ops = await rounds(async (round) => {
          const email = `mix-${round}@example.com`;
          const original = await create({ email, now: T0, sendLimit: limit });
          originals.push(original);
          const ofRound: RaceOp[] = [];
          for (let w = 0; w < RACE_WORKERS; w++) {
            if (w % 2 === 0) {
              const { command } = await reissueCommand(original, T0 + 1000, { sendLimit: limit });
              ofRound.push({ kind: 'reissueCredentials', command });
            } else {
              ofRound.push({
                kind: 'createAuthRequest',
                command: (await newRequest({ email, now: T0 + 1000, sendLimit: limit })).command,
              });
            }
          }
          return ofRound;
        });
        const results = await inRounds(ops);
        for (const [round, ofRound] of results.entries()) {
          expect(created(ofRound)).toBe(limit.max - 1);
          const reissued = ofRound.filter((entry) => entry.kind === 'reissueCredentials' && entry.result.outcome === 'reissued').length;
          expect((await store.findAuthRequest(originals[round]!.id, T0 + 1000))?.sends).toBe(1 + reissued);
        }
      });
    });
  });
}
