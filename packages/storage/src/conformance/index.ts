/**
 * The store conformance suite: one test body that every `Store` backend runs. A backend is done
 * when it passes. Times are injected (no test sleeps); credentials are real digests from core;
 * races run in worker threads, each with its own connection opened from the backend's URL.
 *
 * Import from `@sesame/storage/conformance` inside a vitest test file:
 *
 *   runStoreConformance({ name: 'sqlite', open: async () => ({ store, url, dispose }) });
 *
 * The race workers run `dist/conformance/race-worker.js`, so build the package first.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  openOutboxPayload,
  type ConsumeOtpCommand,
  type ConsumeResult,
  type LimitResult,
  type ReissueResult,
  type Store,
  type WindowLimit,
} from '@sesame/core';
import {
  DAY,
  GENEROUS,
  MINUTE,
  T0,
  issue,
  linkDigest,
  linkLookup,
  newRequest,
  otpDigest,
  sealer,
  wrongCode,
  type NewRequest,
} from './fixtures.js';
import { openStore } from '../open.js';
import type { RaceOp, RaceResult } from './race-protocol.js';
import { createRacePool, spread, type RacePool } from './race.js';
import { RACE_OPS, RACE_WORKERS, type OpenedBackend, type StoreBackend, type SuiteContext } from './context.js';
import { registerAdminSessionSuite } from './admin-sessions.js';
import { registerClientBindingSuite } from './client-binding.js';
import { registerClientLifecycleSuite } from './client-lifecycle.js';
import { registerSendBudgetSuite } from './send-budgets.js';

export type { OpenedBackend, StoreBackend } from './context.js';

const MAX_ATTEMPTS = 5;
const ADDRESS_FAILURES: WindowLimit = { max: 50, windowMs: DAY };

export function runStoreConformance(backend: StoreBackend): void {
  describe(`Store conformance: ${backend.name}`, () => {
    let opened: OpenedBackend;
    let store: Store;
    const extra: OpenedBackend[] = [];
    const pool: RacePool = createRacePool(RACE_WORKERS);
    const race: RacePool['race'] = (url, opsPerWorker, options) => pool.race(url, opsPerWorker, options);

    afterAll(async () => {
      await pool.close();
    });

    beforeEach(async () => {
      opened = await backend.open();
      store = opened.store;
      await store.migrate();
    });

    afterEach(async () => {
      await opened.dispose();
      await Promise.all(extra.splice(0).map((other) => other.dispose()));
    });

    async function create(options: Parameters<typeof newRequest>[0] = {}): Promise<NewRequest> {
      const request = await newRequest(options);
      expect(await store.createAuthRequest(request.command)).toEqual({ ok: true });
      return request;
    }

    async function otpCommand(request: NewRequest, code: string | null, now: number, overrides: Partial<ConsumeOtpCommand> = {}) {
      return {
        id: request.id,
        clientId: request.command.request.clientId,
        otpHash: await otpDigest(request.id, code ?? ''),
        now,
        maxAttempts: MAX_ATTEMPTS,
        addressFailureLimit: ADDRESS_FAILURES,
        ...overrides,
      } satisfies ConsumeOtpCommand;
    }

    async function consumeOtp(request: NewRequest, code: string | null, now: number, overrides: Partial<ConsumeOtpCommand> = {}) {
      return store.consumeWithOtp(await otpCommand(request, code, now, overrides));
    }

    async function consumeLink(request: NewRequest, linkToken: string | null, now: number) {
      return store.consumeWithLink({
        id: request.id,
        clientId: request.command.request.clientId,
        linkTokenHash: await linkDigest(request.id, linkToken ?? ''),
        now,
        maxAttempts: MAX_ATTEMPTS,
      });
    }

    async function reissue(request: NewRequest, now: number, sendLimit: WindowLimit = GENEROUS) {
      const fresh = await issue(request.id, request.command.request.type, now);
      const result = await store.reissueCredentials({
        id: request.id,
        clientId: request.command.request.clientId,
        digests: fresh.digests,
        email: fresh.email,
        sendLimit,
        budgets: [],
        now,
      });
      return { fresh, result };
    }

    // ---- migrations ------------------------------------------------------------------------

    describe('migrations', () => {
      it('is not ready before migrate(), ready after, and a second migrate() changes nothing', async () => {
        const fresh = await backend.open();
        extra.push(fresh);
        expect(await fresh.store.ready()).toBe(false);
        await fresh.store.migrate();
        expect(await fresh.store.ready()).toBe(true);
        const request = await newRequest();
        expect(await fresh.store.createAuthRequest(request.command)).toEqual({ ok: true });
        await fresh.store.migrate();
        expect(await fresh.store.ready()).toBe(true);
        expect((await fresh.store.findAuthRequest(request.id, T0))?.status).toBe('pending');
      });

      it('migrates once when several connections start together', async () => {
        const fresh = await backend.open();
        extra.push(fresh);
        const results = (
          await race(
            fresh.url,
            spread(
              Array.from({ length: RACE_WORKERS }, (): RaceOp => ({ kind: 'migrate' })),
              RACE_WORKERS,
            ),
          )
        ).flat();
        expect(results).toEqual(Array.from({ length: RACE_WORKERS }, () => ({ kind: 'migrate', ready: true })));
        expect(await fresh.store.ready()).toBe(true);
        const request = await newRequest();
        expect(await fresh.store.createAuthRequest(request.command)).toEqual({ ok: true });
      });
    });

    // ---- lifecycle -------------------------------------------------------------------------

    describe('lifecycle', () => {
      it('stores the request as given and derives its status', async () => {
        const request = await create({
          email: '  Ada.Lovelace@Example.COM ',
          template: 'SIGNUP',
          templateVariables: { company: 'Acme', team: 'R&D' },
        });
        const found = await store.findAuthRequest(request.id, T0 + 1);
        expect(found).toEqual({
          id: request.id,
          clientId: 'client-a',
          email: 'Ada.Lovelace@Example.COM',
          emailKey: 'ada.lovelace@example.com',
          template: 'SIGNUP',
          type: 'LINK_OTP',
          magiclinkAuthUri: 'https://app.example.com/auth/verify',
          state: 'state-123',
          templateVariables: { company: 'Acme', team: 'R&D' },
          createdAt: T0,
          expiresAt: T0 + 5 * MINUTE,
          attempts: 0,
          sends: 1,
          consumedAt: null,
          status: 'pending',
        });
        expect(await store.findAuthRequestByLinkLookup(await linkLookup(request.linkToken!), T0 + 1)).toEqual(found);
        expect(await store.outboxDepth()).toBe(1);
        expect(await store.deliveryTimeline(request.id)).toEqual([
          { outboxId: request.email.id, authRequestId: request.id, at: T0, kind: 'queued', attempt: null, detail: null },
        ]);
      });

      it('keeps null fields null (OTP only, no state, no variables)', async () => {
        const request = await create({ type: 'OTP', state: null, templateVariables: {} });
        const found = await store.findAuthRequest(request.id, T0);
        expect(found).toMatchObject({ type: 'OTP', magiclinkAuthUri: null, state: null, templateVariables: {} });
      });

      it('verifies by code once; then the code, the link and the request all say already used', async () => {
        const request = await create();
        const now = T0 + 10_000;
        const result = await consumeOtp(request, request.otp, now);
        expect(result).toMatchObject({
          outcome: 'verified',
          request: { id: request.id, status: 'verified', consumedAt: now, attempts: 0 },
        });
        expect(await consumeOtp(request, request.otp, now + 1)).toEqual({ outcome: 'already_used' });
        expect(await consumeOtp(request, wrongCode(request.otp), now + 1)).toEqual({ outcome: 'already_used' });
        expect(await consumeLink(request, request.linkToken, now + 1)).toEqual({ outcome: 'already_used' });
        expect((await store.findAuthRequest(request.id, now + 1))?.status).toBe('verified');
        // A verified request stays verified after its expiry: never reported as merely expired.
        expect((await store.findAuthRequest(request.id, T0 + DAY))?.status).toBe('verified');
        expect((await store.findAuthRequest(request.id, now + 1))?.attempts).toBe(0);
      });

      it('verifies by link once, and keeps the link lookup so a second click finds a used request', async () => {
        const request = await create();
        const now = T0 + 20_000;
        expect(await consumeLink(request, request.linkToken, now)).toMatchObject({
          outcome: 'verified',
          request: { id: request.id, email: request.command.request.email, state: 'state-123', status: 'verified', consumedAt: now },
        });
        expect(await consumeLink(request, request.linkToken, now + 1)).toEqual({ outcome: 'already_used' });
        expect(await consumeOtp(request, request.otp, now + 1)).toEqual({ outcome: 'already_used' });
        const again = await store.findAuthRequestByLinkLookup(await linkLookup(request.linkToken!), now + 1);
        expect(again).toMatchObject({ id: request.id, status: 'verified' });
      });

      it('refuses a wrong link token without counting an attempt, and the right one still works', async () => {
        const request = await create();
        const other = await create();
        expect(await consumeLink(request, other.linkToken, T0 + 1)).toEqual({ outcome: 'invalid_credential', attemptsLeft: MAX_ATTEMPTS });
        expect((await store.findAuthRequest(request.id, T0 + 1))?.attempts).toBe(0);
        expect(await consumeLink(request, request.linkToken, T0 + 2)).toMatchObject({ outcome: 'verified' });
        expect((await store.findAuthRequest(other.id, T0 + 2))?.status).toBe('pending');
      });

      it('never matches a credential the request does not have', async () => {
        const otpOnly = await create({ type: 'OTP' });
        const linkOnly = await create({ type: 'LINK' });
        // The empty string digest stands for "no link token"; a NULL digest column must not match it.
        expect(await consumeLink(otpOnly, null, T0 + 1)).toEqual({ outcome: 'invalid_credential', attemptsLeft: MAX_ATTEMPTS });
        expect(await consumeOtp(linkOnly, null, T0 + 1)).toEqual({ outcome: 'invalid_credential', attemptsLeft: MAX_ATTEMPTS - 1 });
        expect(await consumeOtp(linkOnly, '000000', T0 + 1)).toEqual({ outcome: 'invalid_credential', attemptsLeft: MAX_ATTEMPTS - 2 });
        expect(await consumeOtp(otpOnly, otpOnly.otp, T0 + 2)).toMatchObject({ outcome: 'verified' });
        expect(await consumeLink(linkOnly, linkOnly.linkToken, T0 + 2)).toMatchObject({ outcome: 'verified' });
      });

      it('does not accept one request’s code for another', async () => {
        const a = await create();
        const b = await create();
        // Same code text, but digests are bound to the request id.
        const hash = await otpDigest(a.id, a.otp!);
        expect(
          await store.consumeWithOtp({
            id: b.id,
            clientId: 'client-a',
            otpHash: hash,
            now: T0 + 1,
            maxAttempts: MAX_ATTEMPTS,
            addressFailureLimit: ADDRESS_FAILURES,
          }),
        ).toEqual({
          outcome: 'invalid_credential',
          attemptsLeft: MAX_ATTEMPTS - 1,
        });
      });

      it('answers not_found for unknown ids everywhere', async () => {
        const ghost = await newRequest();
        expect(await store.findAuthRequest(ghost.id, T0)).toBeNull();
        expect(await store.findAuthRequestByLinkLookup(await linkLookup(ghost.linkToken!), T0)).toBeNull();
        expect(await consumeOtp(ghost, ghost.otp, T0)).toEqual({ outcome: 'not_found' });
        expect(await consumeLink(ghost, ghost.linkToken, T0)).toEqual({ outcome: 'not_found' });
        expect((await reissue(ghost, T0)).result).toEqual({ outcome: 'not_found' });
        expect(await store.outboxDepth()).toBe(0);
      });
    });

    // ---- expiry ----------------------------------------------------------------------------

    describe('expiry', () => {
      it('is valid until the instant before expiresAt', async () => {
        const request = await create({ ttlMs: 5 * MINUTE });
        const last = request.command.request.expiresAt - 1;
        expect((await store.findAuthRequest(request.id, last))?.status).toBe('pending');
        expect(await consumeOtp(request, request.otp, last)).toMatchObject({ outcome: 'verified', request: { consumedAt: last } });
      });

      it('is expired at expiresAt exactly, for codes, links, resends and reads', async () => {
        const request = await create({ ttlMs: 5 * MINUTE });
        const at = request.command.request.expiresAt;
        expect((await store.findAuthRequest(request.id, at))?.status).toBe('expired');
        expect((await store.findAuthRequestByLinkLookup(await linkLookup(request.linkToken!), at))?.status).toBe('expired');
        expect(await consumeOtp(request, request.otp, at)).toEqual({ outcome: 'expired' });
        expect(await consumeOtp(request, wrongCode(request.otp), at)).toEqual({ outcome: 'expired' });
        expect(await consumeLink(request, request.linkToken, at)).toEqual({ outcome: 'expired' });
        expect((await reissue(request, at)).result).toEqual({ outcome: 'expired' });
        const after = await store.findAuthRequest(request.id, at);
        // A wrong code against an expired request is not a counted failure, and nothing was resent.
        expect(after).toMatchObject({ attempts: 0, sends: 1, consumedAt: null, status: 'expired' });
        expect(await store.outboxDepth()).toBe(1);
      });

      it('does not count a wrong code on an expired request against the address', async () => {
        const limit: WindowLimit = { max: 1, windowMs: DAY };
        const expired = await create({ email: 'exp@example.com', ttlMs: MINUTE });
        const live = await create({ email: 'exp@example.com', ttlMs: 10 * MINUTE });
        expect(await consumeOtp(expired, wrongCode(expired.otp), T0 + MINUTE, { addressFailureLimit: limit })).toEqual({
          outcome: 'expired',
        });
        expect(await consumeOtp(live, live.otp, T0 + MINUTE, { addressFailureLimit: limit })).toMatchObject({ outcome: 'verified' });
      });
    });

    // ---- attempts and locking --------------------------------------------------------------

    describe('attempts', () => {
      it(`locks after ${MAX_ATTEMPTS} wrong codes; then even the right code, the link and a resend are refused`, async () => {
        const request = await create();
        const wrong = wrongCode(request.otp);
        const left: number[] = [];
        for (let i = 0; i < MAX_ATTEMPTS; i++) {
          const result = await consumeOtp(request, wrong, T0 + 1000 + i);
          expect(result.outcome).toBe('invalid_credential');
          if (result.outcome === 'invalid_credential') left.push(result.attemptsLeft);
        }
        expect(left).toEqual([4, 3, 2, 1, 0]);
        expect(await store.findAuthRequest(request.id, T0 + 2000)).toMatchObject({
          attempts: MAX_ATTEMPTS,
          status: 'locked',
          consumedAt: null,
        });
        expect(await consumeOtp(request, request.otp, T0 + 2000)).toEqual({ outcome: 'locked' });
        expect(await consumeOtp(request, wrong, T0 + 2000)).toEqual({ outcome: 'locked' });
        expect(await consumeLink(request, request.linkToken, T0 + 2000)).toEqual({ outcome: 'locked' });
        expect((await reissue(request, T0 + 2000)).result).toEqual({ outcome: 'locked' });
        // Locked stays locked, also once the expiry has passed.
        expect((await store.findAuthRequest(request.id, T0 + DAY))?.status).toBe('locked');
        expect((await store.findAuthRequest(request.id, T0 + 2000))?.attempts).toBe(MAX_ATTEMPTS);
      });

      it('lets the right code through below the cap and keeps the failures counted', async () => {
        const request = await create();
        await consumeOtp(request, wrongCode(request.otp), T0 + 1);
        await consumeOtp(request, wrongCode(request.otp), T0 + 2);
        expect(await consumeOtp(request, request.otp, T0 + 3)).toMatchObject({ outcome: 'verified', request: { attempts: 2 } });
      });

      it('refuses a request already at a cap that was lowered since', async () => {
        const request = await create();
        for (let i = 0; i < 3; i++) await consumeOtp(request, wrongCode(request.otp), T0 + i);
        expect(await consumeOtp(request, request.otp, T0 + 10, { maxAttempts: 3 })).toEqual({ outcome: 'locked' });
        expect((await store.findAuthRequest(request.id, T0 + 10))?.attempts).toBe(3);
      });
    });

    describe('failed codes per address', () => {
      const limit: WindowLimit = { max: 3, windowMs: 10 * MINUTE };

      it('refuses OTP verify for the address at the cap, with the exact retry-after, and links still work', async () => {
        const a = await create({ email: 'Cap@Example.com', ttlMs: 60 * MINUTE });
        const b = await create({ email: 'cap@example.com', ttlMs: 60 * MINUTE });
        const c = await create({ email: 'cap@example.com', ttlMs: 60 * MINUTE });
        const other = await create({ email: 'other@example.com', ttlMs: 60 * MINUTE });
        expect((await consumeOtp(a, wrongCode(a.otp), T0, { addressFailureLimit: limit })).outcome).toBe('invalid_credential');
        expect((await consumeOtp(a, wrongCode(a.otp), T0 + 1000, { addressFailureLimit: limit })).outcome).toBe('invalid_credential');
        expect((await consumeOtp(b, wrongCode(b.otp), T0 + 2000, { addressFailureLimit: limit })).outcome).toBe('invalid_credential');

        // Three failures in the window: the first ages out at T0 + 10 min.
        expect(await consumeOtp(b, b.otp, T0 + 3000, { addressFailureLimit: limit })).toEqual({
          outcome: 'address_limited',
          retryAfterMs: 10 * MINUTE - 3000,
        });
        expect(await consumeOtp(c, c.otp, T0 + 10 * MINUTE - 1, { addressFailureLimit: limit })).toEqual({
          outcome: 'address_limited',
          retryAfterMs: 1,
        });
        // A refused try is not itself counted, and does not touch the request.
        expect((await store.findAuthRequest(b.id, T0 + 3000))?.attempts).toBe(1);
        expect((await store.findAuthRequest(c.id, T0 + 3000))?.attempts).toBe(0);
        // Other addresses and links are not affected.
        expect(await consumeOtp(other, other.otp, T0 + 3000, { addressFailureLimit: limit })).toMatchObject({ outcome: 'verified' });
        expect(await consumeLink(c, c.linkToken, T0 + 3000)).toMatchObject({ outcome: 'verified' });
        // At T0 + 10 min the first failure has aged out.
        expect(await consumeOtp(b, b.otp, T0 + 10 * MINUTE, { addressFailureLimit: limit })).toMatchObject({ outcome: 'verified' });
      });
    });

    // ---- send limits -----------------------------------------------------------------------

    describe('send limits', () => {
      const limit: WindowLimit = { max: 2, windowMs: MINUTE };

      it('allows max sends per window and answers the exact retry-after, writing nothing when refused', async () => {
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
        const email = 'lowered@example.com';
        const wide: WindowLimit = { max: 3, windowMs: MINUTE };
        for (const at of [T0, T0 + 1000, T0 + 2000]) await create({ email, now: at, sendLimit: wide });
        const refused = await newRequest({ email, now: T0 + 3000, sendLimit: limit });
        // Three in the window, max two: two must age out, the second of them at T0 + 1000 + 1 min.
        expect(await store.createAuthRequest(refused.command)).toEqual({ ok: false, retryAfterMs: MINUTE - 2000, scope: 'address' });
      });

      it('counts sends and resends together', async () => {
        const email = 'resend-limit@example.com';
        const request = await create({ email, now: T0, sendLimit: limit });
        const first = await reissue(request, T0 + 5_000, limit);
        expect(first.result).toMatchObject({ outcome: 'reissued', request: { sends: 2 } });
        const second = await reissue(request, T0 + 6_000, limit);
        expect(second.result).toEqual({ outcome: 'send_limited', retryAfterMs: 54_000, scope: 'address' });
        const another = await newRequest({ email, now: T0 + 7_000, sendLimit: limit });
        expect(await store.createAuthRequest(another.command)).toEqual({ ok: false, retryAfterMs: 53_000, scope: 'address' });
        // The refused resend changed nothing: the credentials of the first resend still work.
        expect(await store.findAuthRequest(request.id, T0 + 8_000)).toMatchObject({ sends: 2 });
        expect(await consumeOtp(request, second.fresh.otp, T0 + 8_000)).toMatchObject({ outcome: 'invalid_credential' });
        expect(await consumeOtp(request, first.fresh.otp, T0 + 8_000)).toMatchObject({ outcome: 'verified' });
      });

      it('does not count a resend that was refused for the request’s state', async () => {
        const email = 'terminal@example.com';
        const used = await create({ email, now: T0, sendLimit: limit });
        await consumeOtp(used, used.otp, T0 + 1);
        for (let i = 0; i < 3; i++) expect((await reissue(used, T0 + 2 + i, limit)).result).toEqual({ outcome: 'already_used' });
        await create({ email, now: T0 + 10, sendLimit: limit });
        const third = await newRequest({ email, now: T0 + 20, sendLimit: limit });
        expect((await store.createAuthRequest(third.command)).ok).toBe(false);
      });
    });

    // ---- resend ----------------------------------------------------------------------------

    describe('resend', () => {
      it('replaces the credentials: old code and link stop working, new ones work, nothing else resets', async () => {
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

    // ---- outbox ----------------------------------------------------------------------------

    describe('outbox', () => {
      async function queue(count: number): Promise<NewRequest[]> {
        const requests: NewRequest[] = [];
        for (let i = 0; i < count; i++) requests.push(await create({ now: T0 + i }));
        return requests;
      }

      it('claims due rows oldest first with what the worker needs, and never one under a live lease', async () => {
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
        expect((await store.claimOutbox({ owner: 'b', now: T0 + 10, leaseMs: 30_000, limit: 10 })).map((c) => c.id)).toEqual([
          r2!.email.id,
        ]);
        expect(await store.claimOutbox({ owner: 'c', now: T0 + 20, leaseMs: 30_000, limit: 10 })).toEqual([]);
        // Leased rows are still undelivered.
        expect(await store.outboxDepth()).toBe(3);
      });

      it('does not claim a row before it is due', async () => {
        await queue(1);
        expect(await store.claimOutbox({ owner: 'a', now: T0 - 1, leaseMs: 30_000, limit: 10 })).toEqual([]);
        expect(await store.claimOutbox({ owner: 'a', now: T0, leaseMs: 30_000, limit: 10 })).toHaveLength(1);
      });

      it('records attempts, retries when due, and settles as sent only for the lease owner', async () => {
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
        const [request] = await queue(1);
        await store.claimOutbox({ owner: 'a', now: T0 + 1000, leaseMs: 1000, limit: 1 });
        expect(await store.markOutboxSent({ id: request!.email.id, owner: 'a', now: T0 + 5000, detail: null })).toBe(true);
        expect(await store.outboxDepth()).toBe(0);
      });

      it('an email written with a lease is claimed by no one while it lasts; its owner settles it without a claim', async () => {
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
        const fresh = await issue(leased.id, 'LINK_OTP', T0 + 1_000);
        const email = { ...fresh.email, lease: { owner: 'a', until: T0 + 31_000 } };
        const result = await store.reissueCredentials({
          id: leased.id,
          clientId: 'client-a',
          digests: fresh.digests,
          email,
          sendLimit: GENEROUS,
          budgets: [],
          now: T0 + 1_000,
        });
        expect(result.outcome).toBe('reissued');
        expect(await store.claimOutbox({ owner: 'b', now: T0 + 30_999, leaseMs: 30_000, limit: 10 })).toEqual([]);
        const taken = await store.claimOutbox({ owner: 'b', now: T0 + 31_000, leaseMs: 30_000, limit: 10 });
        expect(taken.map((claim) => [claim.id, claim.attempts])).toEqual([[fresh.email.id, 0]]);
        expect(await store.markOutboxSent({ id: fresh.email.id, owner: 'a', now: T0 + 31_001, detail: null })).toBe(false);
        expect(await store.markOutboxSent({ id: fresh.email.id, owner: 'b', now: T0 + 31_001, detail: null })).toBe(true);
      });

      it('claims by next attempt time, then keeps the timeline in time order', async () => {
        const [r0, r1] = await queue(2);
        await store.claimOutbox({ owner: 'a', now: T0 + 10, leaseMs: 1000, limit: 1 });
        expect(await store.markOutboxRetry({ id: r0!.email.id, owner: 'a', now: T0 + 20, detail: null, nextAttemptAt: T0 + 5000 })).toBe(
          true,
        );
        const claims = await store.claimOutbox({ owner: 'b', now: T0 + 6000, leaseMs: 1000, limit: 2 });
        expect(claims.map((c) => c.id)).toEqual([r1!.email.id, r0!.email.id]);
      });
    });

    // ---- sweep -----------------------------------------------------------------------------

    describe('sweep', () => {
      it('deletes expired requests with their emails and events, in bounded batches', async () => {
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
        const request = await create({ ttlMs: MINUTE });
        await consumeOtp(request, request.otp, T0 + 1);
        const after = T0 + MINUTE + 1;
        expect(await store.sweepExpired({ expiredBefore: after, now: after, batchSize: 10, sendLogBefore: after })).toMatchObject({
          authRequests: 1,
        });
        expect(await store.findAuthRequestByLinkLookup(await linkLookup(request.linkToken!), T0 + MINUTE + 1)).toBeNull();
      });

      it('prunes the sliding-window logs before the given cutoffs, in batches, and counts what it pruned', async () => {
        const limit: WindowLimit = { max: 10, windowMs: MINUTE };
        // One send and four resends to one address at T0 … T0 + 4 s (the request lives an hour:
        // only the log is swept). The send log holds the resends; the send counts through its request.
        const request = await create({ email: 'logs@example.com', now: T0, sendLimit: limit, ttlMs: 60 * MINUTE });
        for (let i = 1; i < 5; i++) expect((await reissue(request, T0 + i * 1000, limit)).result).toMatchObject({ outcome: 'reissued' });
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
        expect(
          await store.createAuthRequest((await newRequest({ email: 'logs@example.com', now, sendLimit: tight })).command),
        ).toMatchObject({ ok: false });
        expect(await store.sweepExpired({ ...sweep, otpFailuresBefore: T0 + 10_001, batchSize: 10 })).toEqual({
          authRequests: 0,
          sendLog: 0,
          otpFailures: 3,
        });
      });

      it('keeps a request that still counts toward a send window, however long ago it expired', async () => {
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
    });

    // ---- small tables ----------------------------------------------------------------------

    describe('dev inbox, clients, admins, settings', () => {
      it('stores dev inbox messages, newest first', async () => {
        const message = (n: number, outboxId: string | null) => ({
          id: `m${n}`,
          outboxId,
          to: `to${n}@example.com`,
          from: 'Sesame <no-reply@example.com>',
          subject: `Subject ${n} – ünïcode`,
          text: `text ${n}`,
          html: `<p>html ${n}</p>`,
          createdAt: T0 + n,
        });
        await store.putDevInboxMessage(message(1, 'o1'));
        await store.putDevInboxMessage(message(3, null));
        await store.putDevInboxMessage(message(2, 'o2'));
        expect(await store.listDevInbox({ limit: 2 })).toEqual([message(3, null), message(2, 'o2')]);
        expect(await store.listDevInbox({ limit: 10 })).toHaveLength(3);
        expect(await store.getDevInboxMessage('m1')).toEqual(message(1, 'o1'));
        expect(await store.getDevInboxMessage('nope')).toBeNull();
      });

      it('creates, lists, rotates, touches and revokes API clients', async () => {
        const client = {
          id: 'c1',
          name: 'App',
          secretHash: 'hash-1',
          redirectUris: [
            { uri: 'https://app.example.com/auth/', match: 'prefix' as const },
            { uri: 'https://app.example.com/cb', match: 'exact' as const },
          ],
          createdAt: T0,
          revokedAt: null,
          lastUsedAt: null,
          secretVersion: 1,
          sendsPerMinute: null,
        };
        await store.createApiClient(client);
        await store.createApiClient({ ...client, id: 'c2', name: 'Other', redirectUris: [], createdAt: T0 + 1 });
        await expect(store.createApiClient(client)).rejects.toThrow();
        expect(await store.findApiClient('c1')).toEqual(client);
        expect(await store.findApiClient('nope')).toBeNull();
        expect((await store.listApiClients()).map((c) => c.id)).toEqual(['c1', 'c2']);
        expect(await store.updateApiClientSecret('c1', 'hash-2')).toBe(2);
        await store.touchApiClient('c1', T0 + 50);
        expect(await store.findApiClient('c1')).toMatchObject({ secretHash: 'hash-2', lastUsedAt: T0 + 50, revokedAt: null });
        expect(await store.revokeApiClient('c1', T0 + 100)).toBe(true);
        expect(await store.revokeApiClient('c1', T0 + 200)).toBe(false);
        expect(await store.revokeApiClient('nope', T0 + 200)).toBe(false);
        expect(await store.updateApiClientSecret('c1', 'hash-3')).toBeNull();
        expect(await store.updateApiClientSecret('nope', 'hash-3')).toBeNull();
        expect(await store.findApiClient('c1')).toMatchObject({ secretHash: 'hash-2', secretVersion: 2, revokedAt: T0 + 100 });
        expect(await store.findApiClient('c2')).toMatchObject({ revokedAt: null, redirectUris: [] });
      });

      it('sees a client or setting changed through another connection from the next turn of the event loop', async () => {
        // A backend may memoise these reads (every API call makes them); a change committed
        // elsewhere, such as `sesame clients revoke` in another process, must still apply to
        // every request that arrives after it, i.e. to reads in any later turn of the event loop.
        const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
        const other = openStore(opened.url);
        try {
          await store.createApiClient({
            id: 'c1',
            name: 'App',
            secretHash: 'h',
            redirectUris: [],
            createdAt: T0,
            revokedAt: null,
            lastUsedAt: null,
            secretVersion: 1,
            sendsPerMinute: null,
          });
          await store.putSetting('policy', '{"a":1}', T0);
          expect(await store.findApiClient('c1')).toMatchObject({ revokedAt: null });
          expect(await store.findApiClient('c1')).toMatchObject({ revokedAt: null });
          expect(await store.getSetting('policy')).toBe('{"a":1}');
          expect(await store.getSetting('policy')).toBe('{"a":1}');
          expect(await other.revokeApiClient('c1', T0 + 1)).toBe(true);
          await other.putSetting('policy', '{"a":2}', T0 + 1);
          await nextTurn();
          expect(await store.findApiClient('c1')).toMatchObject({ revokedAt: T0 + 1 });
          expect(await store.getSetting('policy')).toBe('{"a":2}');
          expect(await store.findApiClient('c2')).toBeNull();
          await other.createApiClient({
            id: 'c2',
            name: 'Later',
            secretHash: 'h',
            redirectUris: [],
            createdAt: T0,
            revokedAt: null,
            lastUsedAt: null,
            secretVersion: 1,
            sendsPerMinute: null,
          });
          await nextTurn();
          expect(await store.findApiClient('c2')).toMatchObject({ name: 'Later' });
        } finally {
          await other.close();
        }
      });

      it('adds admins once, keyed by the normalised email', async () => {
        await store.addAdmin({ emailKey: 'root@example.com', email: 'Root@Example.com', createdAt: T0 });
        await store.addAdmin({ emailKey: 'root@example.com', email: 'ROOT@example.com', createdAt: T0 + 5 });
        await store.addAdmin({ emailKey: 'ops@example.com', email: 'ops@example.com', createdAt: T0 + 1 });
        expect(await store.findAdmin('root@example.com')).toEqual({
          emailKey: 'root@example.com',
          email: 'Root@Example.com',
          createdAt: T0,
        });
        expect(await store.findAdmin('nobody@example.com')).toBeNull();
        expect((await store.listAdmins()).map((a) => a.emailKey)).toEqual(['root@example.com', 'ops@example.com']);
      });

      it('gets and replaces settings', async () => {
        expect(await store.getSetting('policy')).toBeNull();
        await store.putSetting('policy', '{"a":1}', T0);
        await store.putSetting('branding', '{"name":"Acme"}', T0);
        await store.putSetting('policy', '{"a":2}', T0 + 1);
        expect(await store.getSetting('policy')).toBe('{"a":2}');
        expect(await store.getSetting('branding')).toBe('{"name":"Acme"}');
      });
    });

    // ---- admin views ------------------------------------------------------------------------

    describe('admin: activity, audit, settings with their change record', () => {
      it('lists auth requests newest first, in pages whose cursor names no auth request', async () => {
        const a = await create({ email: 'Ada@Example.com', now: T0 });
        const b = await create({ email: 'bob@example.com', now: T0 + 1 });
        // Two at the same instant: insertion order breaks the tie.
        const c = await create({ email: 'ada@example.com', now: T0 + 2 });
        const d = await create({ email: 'carol@example.com', now: T0 + 2 });
        const first = await store.listAuthRequests({ limit: 3, now: T0 + 10 });
        expect(first.items.map((item) => item.request.id)).toEqual([d.id, c.id, b.id]);
        expect(first.nextCursor).not.toBeNull();
        for (const request of [a, b, c, d]) expect(first.nextCursor).not.toContain(request.id);
        const second = await store.listAuthRequests({ limit: 3, now: T0 + 10, cursor: first.nextCursor! });
        expect(second.items.map((item) => item.request.id)).toEqual([a.id]);
        expect(second.nextCursor).toBeNull();
        const exact = await store.listAuthRequests({ limit: 4, now: T0 + 10 });
        expect(exact.items).toHaveLength(4);
        expect(exact.nextCursor).toBeNull();
        // By address: the normalised key matches both spellings.
        const ada = await store.listAuthRequests({ emailKey: 'ada@example.com', limit: 10, now: T0 + 10 });
        expect(ada.items.map((item) => item.request.id)).toEqual([c.id, a.id]);
        expect(ada.items[1]!.request).toMatchObject({ email: 'Ada@Example.com', emailKey: 'ada@example.com', status: 'pending', sends: 1 });
        expect((await store.listAuthRequests({ emailKey: 'nobody@example.com', limit: 10, now: T0 })).items).toEqual([]);
        await expect(store.listAuthRequests({ limit: 10, now: T0, cursor: 'not a cursor' })).rejects.toThrow();
      });

      it('filters by status, expired derived from the time given', async () => {
        const verified = await create({ now: T0 });
        const locked = await create({ now: T0 + 1 });
        const pending = await create({ now: T0 + 2, ttlMs: 10 * MINUTE });
        const expiring = await create({ now: T0 + 3, ttlMs: MINUTE });
        expect((await consumeOtp(verified, verified.otp, T0 + 100)).outcome).toBe('verified');
        for (let i = 0; i < MAX_ATTEMPTS; i++) await consumeOtp(locked, wrongCode(locked.otp), T0 + 200 + i);
        const now = T0 + 2 * MINUTE;
        const ids = async (status: 'pending' | 'verified' | 'expired' | 'locked') =>
          (await store.listAuthRequests({ status, limit: 10, now })).items.map((item) => item.request.id);
        expect(await ids('verified')).toEqual([verified.id]);
        expect(await ids('locked')).toEqual([locked.id]);
        expect(await ids('pending')).toEqual([pending.id]);
        expect(await ids('expired')).toEqual([expiring.id]);
        const [item] = (await store.listAuthRequests({ status: 'locked', limit: 10, now })).items;
        expect(item!.request).toMatchObject({ status: 'locked', attempts: MAX_ATTEMPTS });
        const [done] = (await store.listAuthRequests({ status: 'verified', emailKey: verified.command.request.emailKey, limit: 10, now }))
          .items;
        expect(done!.request.consumedAt).toBe(T0 + 100);
      });

      it('carries the newest email’s delivery status and the whole timeline, oldest first', async () => {
        const request = await create({ now: T0 });
        const id = request.email.id;
        await store.claimOutbox({ owner: 'w', now: T0 + 10, leaseMs: 30_000, limit: 10 });
        await store.recordDeliveryAttempt({ id, owner: 'w', now: T0 + 20, detail: null });
        await store.markOutboxRetry({ id, owner: 'w', now: T0 + 30, detail: '451 4.3.0 try again later', nextAttemptAt: T0 + 1_000 });
        const queued = (await store.listAuthRequests({ limit: 10, now: T0 + 40 })).items[0]!;
        expect(queued.delivery).toBe('queued');
        await store.claimOutbox({ owner: 'w', now: T0 + 1_000, leaseMs: 30_000, limit: 10 });
        await store.recordDeliveryAttempt({ id, owner: 'w', now: T0 + 1_010, detail: null });
        await store.markOutboxSent({ id, owner: 'w', now: T0 + 1_020, detail: '250 2.0.0 OK queued' });
        const other = await create({ now: T0 + 5 });
        const page = await store.listAuthRequests({ limit: 10, now: T0 + 2_000 });
        expect(page.items.map((item) => item.request.id)).toEqual([other.id, request.id]);
        expect(page.items[0]).toMatchObject({ delivery: 'queued', timeline: [{ kind: 'queued', outboxId: other.email.id }] });
        const sent = page.items[1]!;
        expect(sent.delivery).toBe('sent');
        expect(sent.timeline).toEqual(await store.deliveryTimeline(request.id));
        expect(sent.timeline.map((event) => [event.kind, event.attempt, event.detail])).toEqual([
          ['queued', null, null],
          ['attempt', 1, null],
          ['retry_scheduled', 1, '451 4.3.0 try again later'],
          ['attempt', 2, null],
          ['sent', 2, '250 2.0.0 OK queued'],
        ]);

        // A resend supersedes the queued email: the newest one is what the view shows.
        const resent = await create({ now: T0 + 3_000 });
        const { fresh } = await reissue(resent, T0 + 3_000);
        const [latest] = (await store.listAuthRequests({ limit: 1, now: T0 + 3_001 })).items;
        expect(latest!.request).toMatchObject({ id: resent.id, sends: 2 });
        expect(latest!.delivery).toBe('queued');
        expect(latest!.timeline.map((event) => [event.kind, event.outboxId])).toEqual([
          ['queued', resent.email.id],
          ['superseded', resent.email.id],
          ['queued', fresh.email.id],
        ]);
      });

      it('appends audit entries and lists them newest first, paging back by id', async () => {
        for (let i = 1; i <= 3; i++) {
          await store.appendAudit({
            at: T0 + i,
            actor: 'root@example.com',
            action: `test.${i}`,
            before: i === 1 ? null : `{"n":${i - 1}}`,
            after: `{"n":${i}}`,
          });
        }
        const newest = await store.listAudit({ limit: 2 });
        expect(newest.map((entry) => entry.action)).toEqual(['test.3', 'test.2']);
        expect(newest[0]).toMatchObject({ at: T0 + 3, actor: 'root@example.com', before: '{"n":2}', after: '{"n":3}' });
        expect(newest[0]!.id).toBeGreaterThan(newest[1]!.id);
        const older = await store.listAudit({ limit: 2, beforeId: newest[1]!.id });
        expect(older).toEqual([
          { id: older[0]!.id, at: T0 + 1, actor: 'root@example.com', action: 'test.1', before: null, after: '{"n":1}' },
        ]);
      });

      it('changes and removes a setting together with its audit entry', async () => {
        expect(await store.getSettingEntry('policy')).toBeNull();
        const audit = { at: T0, actor: 'root@example.com', action: 'policy.update', before: null, after: '{"a":1}' };
        await store.changeSetting({ key: 'policy', value: '{"a":1}', now: T0, audit });
        await store.changeSetting({
          key: 'policy',
          value: '{"a":2}',
          now: T0 + 5,
          audit: { ...audit, at: T0 + 5, before: '{"a":1}', after: '{"a":2}' },
        });
        expect(await store.getSettingEntry('policy')).toEqual({ value: '{"a":2}', updatedAt: T0 + 5 });
        expect(await store.getSetting('policy')).toBe('{"a":2}');
        await store.changeSetting({
          key: 'policy',
          value: null,
          now: T0 + 9,
          audit: { ...audit, at: T0 + 9, action: 'policy.reset', before: '{"a":2}', after: null },
        });
        expect(await store.getSettingEntry('policy')).toBeNull();
        expect((await store.listAudit({ limit: 10 })).map((entry) => [entry.action, entry.after])).toEqual([
          ['policy.reset', null],
          ['policy.update', '{"a":2}'],
          ['policy.update', '{"a":1}'],
        ]);
      });
    });

    // ---- client binding, send budgets, client lifecycle, admin sessions (one file each) ------

    const context: SuiteContext = { store: () => store, opened: () => opened, race };
    registerClientBindingSuite(context);
    registerSendBudgetSuite(context);
    registerClientLifecycleSuite(context);
    registerAdminSessionSuite(context);

    // ---- races -----------------------------------------------------------------------------

    describe('races between connections', () => {
      function outcomes(results: RaceResult[][]): ConsumeResult[] {
        return results.flat().map((entry) => {
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
        const request = await create();
        const command = await otpCommand(request, request.otp, T0 + 1000);
        const results = outcomes(
          await race(
            opened.url,
            spread(
              Array.from({ length: RACE_OPS }, (): RaceOp => ({ kind: 'consumeWithOtp', command })),
              RACE_WORKERS,
            ),
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
        const request = await create();
        const command = await otpCommand(request, wrongCode(request.otp), T0 + 1000);
        const results = outcomes(
          await race(
            opened.url,
            spread(
              Array.from({ length: RACE_OPS }, (): RaceOp => ({ kind: 'consumeWithOtp', command })),
              RACE_WORKERS,
            ),
          ),
        );
        expect(count(results)).toEqual({ invalid_credential: MAX_ATTEMPTS, locked: RACE_OPS - MAX_ATTEMPTS });
        const left = results.flatMap((result) => (result.outcome === 'invalid_credential' ? [result.attemptsLeft] : [])).sort();
        expect(left).toEqual([0, 1, 2, 3, 4]);
        expect(await store.findAuthRequest(request.id, T0 + 1000)).toMatchObject({ status: 'locked', attempts: MAX_ATTEMPTS });
        expect(await consumeOtp(request, request.otp, T0 + 1001)).toEqual({ outcome: 'locked' });
      });

      it('concurrent wrong codes across requests of one address stop exactly at the address cap', async () => {
        const limit: WindowLimit = { max: 10, windowMs: DAY };
        const requests: NewRequest[] = [];
        for (let i = 0; i < RACE_OPS; i++) requests.push(await create({ email: 'racer@example.com' }));
        const ops = await Promise.all(
          requests.map(async (request): Promise<RaceOp> => ({
            kind: 'consumeWithOtp',
            command: await otpCommand(request, wrongCode(request.otp), T0 + 1000, { addressFailureLimit: limit }),
          })),
        );
        const results = outcomes(await race(opened.url, spread(ops, RACE_WORKERS)));
        expect(count(results)).toEqual({ invalid_credential: limit.max, address_limited: RACE_OPS - limit.max });
        let attempts = 0;
        for (const request of requests) attempts += (await store.findAuthRequest(request.id, T0 + 1000))?.attempts ?? 0;
        expect(attempts).toBe(limit.max);
      });

      it('concurrent sends for one address never exceed the send limit', async () => {
        const limit: WindowLimit = { max: 3, windowMs: MINUTE };
        const requests: NewRequest[] = [];
        for (let i = 0; i < RACE_OPS; i++)
          requests.push(await newRequest({ email: 'flood@example.com', now: T0 + 1000, sendLimit: limit }));
        const results = (
          await race(
            opened.url,
            spread(
              requests.map((r): RaceOp => ({ kind: 'createAuthRequest', command: r.command })),
              RACE_WORKERS,
            ),
          )
        ).flat();
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
        const limit: WindowLimit = { max: 4, windowMs: MINUTE };
        const original = await create({ email: 'mixed@example.com', now: T0, sendLimit: limit });
        const ops: RaceOp[] = [];
        for (let i = 0; i < RACE_OPS / 2; i++) {
          const fresh = await issue(original.id, 'LINK_OTP', T0 + 1000);
          ops.push({
            kind: 'reissueCredentials',
            command: {
              id: original.id,
              clientId: 'client-a',
              digests: fresh.digests,
              email: fresh.email,
              sendLimit: limit,
              budgets: [],
              now: T0 + 1000,
            },
          });
          ops.push({
            kind: 'createAuthRequest',
            command: (await newRequest({ email: 'mixed@example.com', now: T0 + 1000, sendLimit: limit })).command,
          });
        }
        const results = (await race(opened.url, spread(ops, RACE_WORKERS))).flat();
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
        const results = await race(opened.url, [[drain('w1')], [drain('w2')], [drain('w3')]]);
        const ids = results.flat().flatMap((entry) => (entry.kind === 'drainOutbox' ? [...entry.claimedIds] : []));
        expect(ids).toHaveLength(total);
        expect(new Set(ids).size).toBe(total);
      });

      // The same properties again in rounds: in round r every worker runs its operation of that
      // round, and all workers meet before each round. A race that a free run may miss when its
      // threads happen not to overlap gets ROUNDS fresh chances here.
      describe('in lockstep rounds', () => {
        const ROUNDS = 20;

        /** `ops[r][w]` runs on worker w in round r; answers `results[r][w]`. */
        async function inRounds(ops: readonly (readonly RaceOp[])[]): Promise<RaceResult[][]> {
          const perWorker = Array.from({ length: RACE_WORKERS }, (_, w) => ops.map((round) => round[w]!));
          const results = await race(opened.url, perWorker, { lockstep: true });
          return ops.map((_, r) => results.map((ofWorker) => ofWorker[r]!));
        }

        async function rounds(build: (round: number) => Promise<RaceOp[]>): Promise<RaceOp[][]> {
          const ops: RaceOp[][] = [];
          for (let round = 0; round < ROUNDS; round++) ops.push(await build(round));
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
          const requests: NewRequest[] = [];
          const ops = await rounds(async () => {
            const request = await create();
            requests.push(request);
            const command = await otpCommand(request, request.otp, T0 + 1000);
            return Array.from({ length: RACE_WORKERS }, (): RaceOp => ({ kind: 'consumeWithOtp', command }));
          });
          for (const results of await inRounds(ops))
            expect(count(outcomes([results]))).toEqual({ verified: 1, already_used: RACE_WORKERS - 1 });
          for (const request of requests) expect((await store.findAuthRequest(request.id, T0 + 1000))?.status).toBe('verified');
        });

        it('wrong codes: attempts stop exactly at the cap every round', async () => {
          const cap = 3;
          const requests: NewRequest[] = [];
          const ops = await rounds(async () => {
            const request = await create();
            requests.push(request);
            const command = await otpCommand(request, wrongCode(request.otp), T0 + 1000, { maxAttempts: cap });
            return Array.from({ length: RACE_WORKERS }, (): RaceOp => ({ kind: 'consumeWithOtp', command }));
          });
          for (const results of await inRounds(ops))
            expect(count(outcomes([results]))).toEqual({ invalid_credential: cap, locked: RACE_WORKERS - cap });
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
            expect(count(outcomes([results]))).toEqual({ invalid_credential: limit.max, address_limited: RACE_WORKERS - limit.max });
          }
        });

        it('sends for one address: exactly the limit every round', async () => {
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
          expect(await store.outboxDepth()).toBe(ROUNDS * limit.max);
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
          expect(new Set(all).size).toBe(ROUNDS * perRound);
        });

        it('sends and resends for one address: exactly the limit every round', async () => {
          const limit: WindowLimit = { max: 3, windowMs: MINUTE };
          const originals: NewRequest[] = [];
          const ops = await rounds(async (round) => {
            const email = `mix-${round}@example.com`;
            const original = await create({ email, now: T0, sendLimit: limit });
            originals.push(original);
            const ofRound: RaceOp[] = [];
            for (let w = 0; w < RACE_WORKERS; w++) {
              if (w % 2 === 0) {
                const fresh = await issue(original.id, 'LINK_OTP', T0 + 1000);
                ofRound.push({
                  kind: 'reissueCredentials',
                  command: {
                    id: original.id,
                    clientId: 'client-a',
                    digests: fresh.digests,
                    email: fresh.email,
                    sendLimit: limit,
                    budgets: [],
                    now: T0 + 1000,
                  },
                });
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
  });
}
