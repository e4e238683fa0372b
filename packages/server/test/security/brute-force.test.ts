/**
 * Brute force: an attacker guesses 6-digit codes for one address through the REST API
 * for two simulated days under the default policy (5 wrong codes per auth request, then locked;
 * 50 wrong codes per address per 24 h, then OTP verify refused for the address; 2 emails per
 * address per minute). The attacker plays optimally against the limits: a new auth request as
 * soon as the send limit allows, every guess a distinct code, address spelt in several ways,
 * resend on locked requests, and it jumps ahead by each Retry-After. It never guesses right (we
 * read the real code from the dev inbox and avoid it), so every guess the server evaluated is
 * counted. Then:
 *
 *   P(success in any 24 h) ≤ Σ over requests (distinct guesses evaluated / 10^6)
 *                          ≤ (most guesses evaluated in any 24 h window) / 10^6 = 50 / 10^6.
 *
 * While an address is capped even the right code is refused (no oracle), and a locked request
 * refuses its own right code. The real app → core → store path; only the clock is ours.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIRECT, harness, type Harness } from '../helpers.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const CODE_SPACE = 1_000_000;
const POLICY = { perRequest: 5, perAddressPerDay: 50, emailsPerMinute: 2 };

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.close();
});

let token = { value: '', at: Number.NEGATIVE_INFINITY };
async function call(action: 'send' | 'verify' | 'resend', body: unknown) {
  // Access tokens live an hour of the simulated clock: the attacker's app fetches new ones.
  if (h.clock.now() - token.at > 30 * 60 * 1000) token = { value: await h.token(), at: h.clock.now() };
  const response = await h.api(action, body, token.value);
  const json = (await response.json()) as { auth_request_id?: string; error?: { code: string } };
  return {
    status: response.status,
    code: json.error?.code,
    id: json.auth_request_id,
    retryAfter: Number(response.headers.get('retry-after') ?? 0),
  };
}

describe('OTP brute force against one address', () => {
  it(`is capped at ${POLICY.perAddressPerDay} evaluated guesses per address per 24 h: P(success) ≤ 5×10^-5 a day`, async () => {
    const spellings = ['victim@example.com', 'VICTIM@example.com', '  Victim@Example.COM ', 'victim@EXAMPLE.com'];
    const end = h.clock.now() + 2 * DAY_MS;
    const evaluatedAt: number[] = [];
    let requests = 0;
    let sendsAccepted = 0;
    let sendsRefused = 0;
    let maxGuessesOnOneRequest = 0;
    let rightCodeRefusedWhileCapped = 0;
    let rightCodeRefusedWhenLocked = 0;
    let resendsOfLocked = 0;

    while (h.clock.now() < end) {
      const sent = await call('send', { email: spellings[requests % spellings.length], magiclink_auth_uri: REDIRECT });
      if (sent.status === 429) {
        expect(sent.code).toBe('SEND_LIMIT_EXCEEDED');
        sendsRefused += 1;
        h.clock.advance(sent.retryAfter * 1000);
        continue;
      }
      expect(sent.status).toBe(200);
      sendsAccepted += 1;
      requests += 1;
      const id = sent.id!;
      const real = (await h.latestMail('victim@example.com')).code!;
      expect(real).toMatch(/^\d{6}$/);

      // Distinct wrong guesses until the server refuses to evaluate another.
      let guessesHere = 0;
      let capped = false;
      for (let guess = 0; guess < POLICY.perRequest + 3; guess += 1) {
        let candidate = String((Number(real) + 1 + guess * 7919) % CODE_SPACE).padStart(6, '0');
        if (candidate === real) candidate = String((Number(real) + 500_000) % CODE_SPACE).padStart(6, '0');
        const answer = await call('verify', { code: candidate, auth_request_id: id });
        if (answer.status === 400) {
          expect(answer.code).toBe('INVALID_CREDENTIAL');
          evaluatedAt.push(h.clock.now());
          guessesHere += 1;
          continue;
        }
        expect(answer.status).toBe(429);
        expect(answer.code).toBe('TOO_MANY_ATTEMPTS');
        capped = guessesHere === 0 || answer.retryAfter > 0;
        // Refused means refused: the right code is not evaluated either.
        const right = await call('verify', { code: real, auth_request_id: id });
        expect(right).toMatchObject({ status: 429, code: 'TOO_MANY_ATTEMPTS' });
        if (capped) rightCodeRefusedWhileCapped += 1;
        else rightCodeRefusedWhenLocked += 1;
        break;
      }
      maxGuessesOnOneRequest = Math.max(maxGuessesOnOneRequest, guessesHere);

      if (guessesHere === POLICY.perRequest) {
        // A resend of a locked request brings no new guesses.
        const resent = await call('resend', { auth_request_id: id });
        expect(resent).toMatchObject({ status: 429, code: 'TOO_MANY_ATTEMPTS' });
        resendsOfLocked += 1;
        const after = await call('verify', { code: real, auth_request_id: id });
        expect(after).toMatchObject({ status: 429, code: 'TOO_MANY_ATTEMPTS' });
      }

      if (capped) {
        // Hour by hour until the cap lifts, a fresh request's right code is still refused.
        const probe = await call('verify', { code: real, auth_request_id: id });
        const waitMs = probe.retryAfter * 1000;
        expect(waitMs).toBeGreaterThan(0);
        expect(waitMs).toBeLessThanOrEqual(DAY_MS);
        const lifts = h.clock.now() + waitMs;
        while (h.clock.now() + 3_600_000 < lifts && h.clock.now() < end) {
          h.clock.advance(3_600_000);
          const fresh = await call('send', { email: 'victim@example.com', magiclink_auth_uri: REDIRECT });
          expect(fresh.status).toBe(200);
          sendsAccepted += 1;
          const code = (await h.latestMail('victim@example.com')).code!;
          const refused = await call('verify', { code, auth_request_id: fresh.id });
          expect(refused).toMatchObject({ status: 429, code: 'TOO_MANY_ATTEMPTS' });
          rightCodeRefusedWhileCapped += 1;
        }
        h.clock.advance(Math.max(0, lifts - h.clock.now()));
        continue;
      }
      h.clock.advance(30_000); // the next email the send limit allows
    }

    // The most guesses evaluated in any 24 h window (sliding), over the two days.
    let maxInDay = 0;
    for (let i = 0, j = 0; i < evaluatedAt.length; i += 1) {
      while (evaluatedAt[i]! - evaluatedAt[j]! >= DAY_MS) j += 1;
      maxInDay = Math.max(maxInDay, i - j + 1);
    }
    const perDay = maxInDay / CODE_SPACE;
    const perYear = 1 - (1 - perDay) ** 365;
    const uncapped = (24 * 60 * POLICY.emailsPerMinute * POLICY.perRequest) / CODE_SPACE;
    console.info(
      [
        `brute force over 48 simulated hours: ${evaluatedAt.length} guesses evaluated on ${requests} auth requests (${sendsAccepted} sends accepted, ${sendsRefused} refused)`,
        `most in any 24 h: ${maxInDay}; most on one request: ${maxGuessesOnOneRequest}`,
        `P(success) ≤ ${maxInDay}/10^6 = ${perDay.toExponential(2)} per address per day, ≤ ${(perYear * 100).toFixed(2)} % per year`,
        `without the per-address cap the send limit would allow ${(uncapped * 100).toFixed(2)} % per day`,
        `right code refused: ${rightCodeRefusedWhileCapped} times while capped, ${rightCodeRefusedWhenLocked} times on a locked request; ${resendsOfLocked} resends of locked requests gave no guesses`,
      ].join('\n'),
    );
    // What was measured; P(success) above is arithmetic on maxInDay and is printed, not asserted.
    expect(maxGuessesOnOneRequest).toBe(POLICY.perRequest);
    // The attacker reached the cap and no further in any 24 h: the bound is met and is tight.
    expect(maxInDay).toBe(POLICY.perAddressPerDay);
    // The cap lifts a day after the first failures and binds again: a full quota on each of the
    // two days, so the attack was not cut short by a lock-out that would also shut out the owner.
    expect(evaluatedAt.length).toBe(2 * POLICY.perAddressPerDay);
    expect(rightCodeRefusedWhileCapped).toBeGreaterThan(10);
    expect(rightCodeRefusedWhenLocked).toBeGreaterThan(5);
  });
});
