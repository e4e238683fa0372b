/**
 * Auth requests from creation to their end: stored as given, verified once by code or link,
 * expired at `expiresAt` exactly, locked after too many wrong codes, and refused by code for an
 * address with too many failed codes. Resends and send limits have files of their own.
 */
import { describe, expect, it } from 'vitest';
import type { WindowLimit } from '@sesame/core';
import { ADDRESS_FAILURES, DAY, MAX_ATTEMPTS, MINUTE, T0, linkLookup, newRequest, otpDigest, wrongCode } from './fixtures.js';
import { requestActions, type SuiteContext } from './context.js';

export function registerAuthRequestSuite(ctx: SuiteContext): void {
  const { create, consumeOtp, consumeLink, reissue } = requestActions(ctx);

  describe('lifecycle', () => {
    it('stores the request as given and derives its status', async () => {
      const store = ctx.store();
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
      const store = ctx.store();
      const request = await create({ type: 'OTP', state: null, templateVariables: {} });
      const found = await store.findAuthRequest(request.id, T0);
      expect(found).toMatchObject({ type: 'OTP', magiclinkAuthUri: null, state: null, templateVariables: {} });
    });

    it('verifies by code once; then the code, the link and the request all say already used', async () => {
      const store = ctx.store();
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
      const store = ctx.store();
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
      const store = ctx.store();
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
      const store = ctx.store();
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
      const store = ctx.store();
      const ghost = await newRequest();
      expect(await store.findAuthRequest(ghost.id, T0)).toBeNull();
      expect(await store.findAuthRequestByLinkLookup(await linkLookup(ghost.linkToken!), T0)).toBeNull();
      expect(await consumeOtp(ghost, ghost.otp, T0)).toEqual({ outcome: 'not_found' });
      expect(await consumeLink(ghost, ghost.linkToken, T0)).toEqual({ outcome: 'not_found' });
      expect((await reissue(ghost, T0)).result).toEqual({ outcome: 'not_found' });
      expect(await store.outboxDepth()).toBe(0);
    });
  });

  describe('expiry', () => {
    it('is valid until the instant before expiresAt', async () => {
      const store = ctx.store();
      const request = await create({ ttlMs: 5 * MINUTE });
      const last = request.command.request.expiresAt - 1;
      expect((await store.findAuthRequest(request.id, last))?.status).toBe('pending');
      expect(await consumeOtp(request, request.otp, last)).toMatchObject({ outcome: 'verified', request: { consumedAt: last } });
    });

    it('is expired at expiresAt exactly, for codes, links, resends and reads', async () => {
      const store = ctx.store();
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

  describe('attempts', () => {
    it(`locks after ${MAX_ATTEMPTS} wrong codes; then even the right code, the link and a resend are refused`, async () => {
      const store = ctx.store();
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

    it('matches a code by any of its fallback digests, and counts a miss as one failed try', async () => {
      const store = ctx.store();
      const request = await create();
      const other = (code: string) => new Uint8Array(32).fill(code.length + 7);
      const wrong = wrongCode(request.otp);
      // A miss against the current digest and two fallback digests: one try, not three.
      const missed = await consumeOtp(request, wrong, T0 + 1, { otpHashFallbacks: [other('a'), await otpDigest(request.id, wrong)] });
      expect(missed).toEqual({ outcome: 'invalid_credential', attemptsLeft: MAX_ATTEMPTS - 1 });
      // The right code's digest as the second fallback, the current one wrong: verified.
      const fallbacks = [other('b'), await otpDigest(request.id, request.otp!)];
      expect(await consumeOtp(request, wrong, T0 + 2, { otpHashFallbacks: fallbacks })).toMatchObject({
        outcome: 'verified',
        request: { attempts: 1 },
      });
      expect((await store.findAuthRequest(request.id, T0 + 3))?.status).toBe('verified');
    });

    it('refuses a request already at a cap that was lowered since', async () => {
      const store = ctx.store();
      const request = await create();
      for (let i = 0; i < 3; i++) await consumeOtp(request, wrongCode(request.otp), T0 + i);
      expect(await consumeOtp(request, request.otp, T0 + 10, { maxAttempts: 3 })).toEqual({ outcome: 'locked' });
      expect((await store.findAuthRequest(request.id, T0 + 10))?.attempts).toBe(3);
    });
  });

  describe('failed codes per address', () => {
    const limit: WindowLimit = { max: 3, windowMs: 10 * MINUTE };

    it('refuses OTP verify for the address at the cap, with the exact retry-after, and links still work', async () => {
      const store = ctx.store();
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
}
