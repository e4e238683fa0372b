/**
 * Timing between address states. A caller of send, resend and verify must not learn from the
 * time to the answer what Sesame knows of an address when the answer itself is the same. Four
 * states, against a real `sesame start` child delivering to a real SMTP server:
 *
 *   new        never seen before;
 *   known      has an earlier auth request (the "has an account" an enumerator looks for);
 *   locked     past the failed-code limit for the address (OTP verify refused for it);
 *   overLimit  past the emails-per-address limit.
 *
 * What is comparable: send and resend answer 200 for new, known and locked, and 429
 * SEND_LIMIT_EXCEEDED for overLimit (Scalekit's API answers 429 too); verify with a wrong code
 * answers 400 for new, known and overLimit, and 429 TOO_MANY_ATTEMPTS for locked. Where the
 * status already differs by design the time carries nothing more, so those pairs are measured
 * and printed, and only bounded one way (a refusal must not cost more than an accepted call).
 * Every pair with the same answer must take the same time: the median of the per-round paired
 * differences within max(15 % of the new address's median, 0.5 ms, 4 bootstrap standard
 * errors), and the probability that one state's call is the slower (Mann-Whitney's AUC) within
 * 0.5 ± 0.15. Each line printed gives the room left to the bound: a delay added to one state
 * beyond it would have failed the run.
 *
 * The states are interleaved in a balanced Latin square (each state follows each other equally
 * often), one request in flight at a time, many rounds per phase: drift on a shared machine
 * falls on every state alike. The policy is the default except for two thresholds, so that the
 * states can be built in seconds without moving a clock: 3 emails per address per minute (send,
 * then resend, on an address with one earlier request) and 5 failed codes per address (one
 * request's worth). Send and resend compare a count with the threshold; its value is not on any
 * code path that could differ.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAY_MS, defaultPolicy, type Policy } from '@sesame/core';
import { openStore } from '@sesame/storage';
import { buildServerPackage, fetchAccessToken, startSmtpCapture } from '@sesame/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIRECT, callApi, createApiClient, percentile, seeded, sesameEnv, startChild, stopChildren, type ApiAnswer } from './support.js';

afterAll(async () => {
  await stopChildren();
});

const STATES = ['new', 'known', 'locked', 'overLimit'] as const;
type State = (typeof STATES)[number];
/** A balanced Latin square of order 4 (Williams): every state is followed by every other once. */
const ORDERS: readonly (readonly number[])[] = [
  [0, 1, 3, 2],
  [1, 2, 0, 3],
  [2, 3, 1, 0],
  [3, 0, 2, 1],
];
/** Rounds per phase (each one call per state); SESAME_TIMING_ROUNDS=n for a finer figure. */
const ROUNDS = Number(process.env.SESAME_TIMING_ROUNDS ?? 200);
const WARM_UP = 30;
const PREPARE_CONCURRENCY = 4;
/** Over-limit addresses, each probed ≤ 4 times a phase: 4 wrong codes stay under the 5 that lock an address. */
const OVER_POOL = Math.ceil(ROUNDS / 4);
const POLICY: Policy = {
  ...defaultPolicy({ production: false }),
  emailsPerAddress: { max: 3, windowMs: 60_000 },
  failedOtpPerAddress: { max: 5, windowMs: DAY_MS },
  allowedRedirectUris: [{ uri: REDIRECT, match: 'exact' }],
};
/**
 * Same-answer pairs: |median paired difference| ≤ max(RELATIVE × the new address's median,
 * ABSOLUTE_MS, STANDARD_ERRORS × its bootstrap standard error). The last term is what keeps a
 * heavily loaded machine (noise of several ms) from failing an equal pair; each run prints the
 * room left to the bound, the resolution it had.
 */
const RELATIVE = 0.15;
const ABSOLUTE_MS = 0.5;
const STANDARD_ERRORS = 4;
const BOOTSTRAP = 1_000;
/** Same-answer pairs: P(one state's call is slower) within 0.5 ± AUC_SLACK. */
const AUC_SLACK = 0.15;

interface Sample {
  readonly round: number;
  readonly ms: number;
  readonly status: number;
  readonly code: string | undefined;
  readonly retryAfter: string | null;
}
type Phase = Record<State, Sample[]>;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The standard error of the median of `diffs`, by bootstrap (seeded: the same samples give the
 * same figure).
 */
function bootstrapError(diffs: readonly number[]): number {
  const random = seeded(diffs.length);
  const medians: number[] = [];
  for (let b = 0; b < BOOTSTRAP; b += 1) medians.push(median(Array.from(diffs, () => diffs[Math.floor(random() * diffs.length)]!)));
  const mean = medians.reduce((sum, m) => sum + m, 0) / medians.length;
  return Math.sqrt(medians.reduce((sum, m) => sum + (m - mean) ** 2, 0) / (medians.length - 1));
}

/** P(a value of `b` exceeds one of `a`), ties counted half: Mann-Whitney's U / (|a|·|b|). */
function auc(a: readonly number[], b: readonly number[]): number {
  let wins = 0;
  for (const x of a) for (const y of b) wins += y > x ? 1 : y === x ? 0.5 : 0;
  return wins / (a.length * b.length);
}

interface Comparison {
  readonly baseMedian: number;
  readonly otherMedian: number;
  readonly baseP90: number;
  readonly otherP90: number;
  /** Median over rounds of (other − base) within the same round, ms. */
  readonly pairedShift: number;
  /** Its bootstrap standard error, ms. */
  readonly shiftError: number;
  readonly auc: number;
  readonly pairs: number;
}

/** Compares two states' samples of one phase, pairing the calls made in the same round. */
function compare(base: readonly Sample[], other: readonly Sample[]): Comparison {
  const baseByRound = new Map(base.map((s) => [s.round, s.ms]));
  const diffs = other.flatMap((s) => (baseByRound.has(s.round) ? [s.ms - baseByRound.get(s.round)!] : []));
  const a = base.map((s) => s.ms);
  const b = other.map((s) => s.ms);
  return {
    baseMedian: median(a),
    otherMedian: median(b),
    baseP90: percentile(a, 90),
    otherP90: percentile(b, 90),
    pairedShift: median(diffs),
    shiftError: bootstrapError(diffs),
    auc: auc(a, b),
    pairs: diffs.length,
  };
}

function boundFor(c: Comparison): number {
  return Math.max(RELATIVE * c.baseMedian, ABSOLUTE_MS, STANDARD_ERRORS * c.shiftError);
}

function describeComparison(phase: string, state: State, c: Comparison): string {
  const f = (v: number) => v.toFixed(2);
  return (
    `${phase.padEnd(7)} ${state.padEnd(9)} vs new: median ${f(c.otherMedian)} / ${f(c.baseMedian)} ms, p90 ${f(c.otherP90)} / ${f(c.baseP90)} ms, ` +
    `paired median diff ${c.pairedShift >= 0 ? '+' : ''}${(c.pairedShift * 1000).toFixed(0)} ± ${(c.shiftError * 1000).toFixed(0)} µs (bound ±${(boundFor(c) * 1000).toFixed(0)} µs), ` +
    `AUC ${c.auc.toFixed(3)} over ${c.pairs} pairs; room to the bound ${((boundFor(c) - c.pairedShift) * 1000).toFixed(0)} µs`
  );
}

/** Runs task(0 … count − 1), PREPARE_CONCURRENCY at a time. */
async function inParallel(count: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: PREPARE_CONCURRENCY }, lane));
}

/** The n-th guess of a fixed sequence of codes (right by chance once in 10^6). */
function wrongCode(n: number): string {
  return String((123_457 + n * 7_919) % 1_000_000).padStart(6, '0');
}

describe('the time to answer does not tell address states apart', () => {
  it(
    `send, resend and verify over ${ROUNDS} interleaved rounds of new, known, locked and over-limit addresses`,
    { timeout: 240_000 },
    async () => {
      await buildServerPackage();
      const smtp = await startSmtpCapture();
      const dir = mkdtempSync(join(tmpdir(), 'sesame-timing-'));
      try {
        // Every send of this test comes from one client in about a minute: well past the default
        // per-client and deployment budgets, which are not what is measured here.
        const env = sesameEnv(dir, {
          SESAME_SMTP_URL: smtp.url,
          SESAME_CLIENT_SENDS_PER_MINUTE: '100000',
          SESAME_SENDS_PER_MINUTE: '100000',
        });
        const client = await createApiClient(env, dir);
        const store = openStore(`file:${join(dir, 'sesame.db')}`);
        try {
          await store.putSetting('policy', JSON.stringify(POLICY), Date.now());
        } finally {
          await store.close();
        }
        const child = await startChild(env, dir);
        const token = await fetchAccessToken(child.url, client);
        const call = (action: 'send' | 'verify' | 'resend', body: unknown): Promise<ApiAnswer> => callApi(child.url, token, action, body);
        const send = (email: string) => call('send', { email, magiclink_auth_uri: REDIRECT });
        const idOf = (answer: ApiAnswer): string => {
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
          return answer.body.auth_request_id as string;
        };
        const started = performance.now();

        // ---- the states ------------------------------------------------------------------------
        // Not measured, so several calls at a time.
        const known = Array.from({ length: ROUNDS }, (_, i) => `known-${i}@example.com`);
        await inParallel(known.length, async (i) => void idOf(await send(known[i]!)));
        const locked: string[] = [];
        await inParallel(ROUNDS, async (i) => {
          // Five wrong codes on one request: the request and (with the threshold at 5) the address
          // are locked. A guess that happens to be right (1 in 200,000) spoils the address: take another.
          for (let attempt = 0; ; attempt += 1) {
            const address = `locked-${i}-${attempt}@example.com`;
            const id = idOf(await send(address));
            const answers = [];
            for (let n = 0; n < 5; n += 1) answers.push((await call('verify', { auth_request_id: id, code: wrongCode(n) })).status);
            if (answers.every((status) => status === 400)) {
              locked[i] = address;
              return;
            }
          }
        });
        const over: { address: string; id: string }[] = [];
        await inParallel(OVER_POOL, async (i) => {
          const address = `over-${i}@example.com`;
          const ids = [];
          for (let n = 0; n < POLICY.emailsPerAddress.max; n += 1) ids.push(idOf(await send(address)));
          over[i] = { address, id: ids[0]! };
        });
        const prepared = performance.now();

        // ---- warm-up (JIT, connections, statements), not measured -----------------------------
        for (let i = 0; i < WARM_UP; i += 1) {
          const id = idOf(await send(`warm-${i}@example.com`));
          await call('resend', { auth_request_id: id });
          await call('verify', { auth_request_id: id, code: wrongCode(i) });
        }

        // ---- the phases --------------------------------------------------------------------------
        const measure = async (probe: (state: State, round: number) => Promise<ApiAnswer>): Promise<Phase> => {
          const phase: Phase = { new: [], known: [], locked: [], overLimit: [] };
          for (let round = 0; round < ROUNDS; round += 1) {
            for (const index of ORDERS[round % ORDERS.length]!) {
              const state = STATES[index]!;
              const answer = await probe(state, round);
              phase[state].push({
                round,
                ms: answer.ms,
                status: answer.status,
                code: answer.code,
                retryAfter: answer.headers.get('retry-after'),
              });
            }
          }
          return phase;
        };

        // The send limit's window is a minute: each phase first takes every over-limit address
        // back over it (a send or two, until one is refused), not measured.
        const overTheLimit = () =>
          inParallel(OVER_POOL, async (i) => {
            for (;;) {
              const answer = await send(over[i]!.address);
              if (answer.status === 429) return;
              idOf(answer); // accepted (the window moved on); anything else fails here
            }
          });
        const ids: Record<Exclude<State, 'overLimit'>, string[]> = { new: [], known: [], locked: [] };
        const idFor = (state: State, round: number): string => (state === 'overLimit' ? over[round % OVER_POOL]!.id : ids[state][round]!);

        await overTheLimit();
        const sendPhase = await measure(async (state, round) => {
          if (state === 'overLimit') return send(over[round % OVER_POOL]!.address);
          const answer = await send(state === 'new' ? `new-${round}@example.com` : state === 'known' ? known[round]! : locked[round]!);
          ids[state][round] = idOf(answer);
          return answer;
        });
        await overTheLimit();
        const resendPhase = await measure((state, round) => call('resend', { auth_request_id: idFor(state, round) }));
        await overTheLimit();
        const verifyPhase = await measure((state, round) =>
          call('verify', { auth_request_id: idFor(state, round), code: wrongCode(1_000 + round) }),
        );
        const finished = performance.now();
        await child.kill('SIGTERM');

        // ---- the answers are what each state should get --------------------------------------
        // An over-limit address whose oldest email left the one-minute window is accepted once
        // (and is over the limit again): such calls are not over-limit samples and are dropped.
        // A guessed code that happens to be right (1 in 10^6) is dropped the same way.
        const keep = (samples: Sample[], status: number, code?: string): Sample[] =>
          samples.filter((s) => s.status === status && (code === undefined || s.code === code));
        for (const [name, phase] of [
          ['send', sendPhase],
          ['resend', resendPhase],
        ] as const) {
          for (const state of ['new', 'known', 'locked'] as const)
            expect(
              phase[state].map((s) => s.status),
              `${name} ${state}`,
            ).toEqual(phase[state].map(() => 200));
          const refused = keep(phase.overLimit, 429, 'SEND_LIMIT_EXCEEDED');
          expect(refused.length, `${name} overLimit refusals`).toBeGreaterThanOrEqual(0.75 * ROUNDS);
          expect(refused.every((s) => Number(s.retryAfter) > 0)).toBe(true);
          phase.overLimit = refused;
        }
        for (const state of ['new', 'known', 'overLimit'] as const) {
          verifyPhase[state] = keep(verifyPhase[state], 400, 'INVALID_CREDENTIAL');
          expect(verifyPhase[state].length, `verify ${state}`).toBeGreaterThanOrEqual(ROUNDS - 1);
        }
        // The locked state really is the address lock (a Retry-After), not the request's own lock.
        expect(verifyPhase.locked.map((s) => [s.status, s.code, Number(s.retryAfter) > 0])).toEqual(
          verifyPhase.locked.map(() => [429, 'TOO_MANY_ATTEMPTS', true]),
        );
        // The mail really went out through SMTP, not only queued: the resend's email always does
        // (the first one, if the worker had not sent it yet, was superseded by the resend).
        await smtp.waitForMail(`new-${ROUNDS - 1}@example.com`, 1, 30_000);

        // ---- the figures -------------------------------------------------------------------------
        const same: [string, Phase, State][] = [
          ['send', sendPhase, 'known'],
          ['send', sendPhase, 'locked'],
          ['resend', resendPhase, 'known'],
          ['resend', resendPhase, 'locked'],
          ['verify', verifyPhase, 'known'],
          ['verify', verifyPhase, 'overLimit'],
        ];
        const differentByDesign: [string, Phase, State][] = [
          ['send', sendPhase, 'overLimit'],
          ['resend', resendPhase, 'overLimit'],
          ['verify', verifyPhase, 'locked'],
        ];
        const sameResults = same.map(([name, phase, state]) => ({ name, state, c: compare(phase.new, phase[state]) }));
        const designResults = differentByDesign.map(([name, phase, state]) => ({ name, state, c: compare(phase.new, phase[state]) }));
        console.info(
          [
            `timing over ${ROUNDS} interleaved rounds per phase (prepare ${((prepared - started) / 1000).toFixed(1)} s, measure ${((finished - prepared) / 1000).toFixed(1)} s):`,
            'same answer (asserted):',
            ...sameResults.map((r) => '  ' + describeComparison(r.name, r.state, r.c)),
            'different status by design (printed; a refusal must not be slower):',
            ...designResults.map((r) => '  ' + describeComparison(r.name, r.state, r.c)),
          ].join('\n'),
        );

        for (const { name, state, c } of sameResults) {
          const label = describeComparison(name, state, c);
          expect(Math.abs(c.pairedShift), label).toBeLessThanOrEqual(boundFor(c));
          expect(Math.abs(c.auc - 0.5), label).toBeLessThanOrEqual(AUC_SLACK);
        }
        for (const { name, state, c } of designResults) {
          expect(c.pairedShift, describeComparison(name, state, c)).toBeLessThanOrEqual(boundFor(c));
        }
      } finally {
        await smtp.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
