/**
 * An auth request belongs to the API client that created it: another client's verify (by code
 * or by link, with or without the auth request id, right or wrong credential, whatever the
 * request's state) and resend answer AUTH_REQUEST_NOT_FOUND exactly as an unknown request does,
 * and change nothing: no attempt counted, no token burnt, no email sent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallerClient } from '@sesame/core';
import { errorOf, openHarness, type Harness } from './helpers/harness.js';

const LINK_URI = 'http://localhost:3000/api/auth/verify';
const owner: CallerClient = { id: 'client_owner', redirectUris: [] };
const other: CallerClient = { id: 'client_other', redirectUris: [] };

let h: Harness;
beforeEach(async () => {
  h = await openHarness();
});
afterEach(async () => {
  await h.close();
});

async function sendAsOwner(email = 'ada@example.com') {
  const sent = await h.engine().send({ email, magiclinkAuthUri: LINK_URI, state: 'owner-state' }, owner);
  const payload = (await h.mailbox()).get(sent.authRequestId);
  if (!payload?.otp || !payload.linkToken) throw new Error('no email queued');
  return { id: sent.authRequestId, otp: payload.otp, linkToken: payload.linkToken };
}

type Credentials = Awaited<ReturnType<typeof sendAsOwner>>;
const wrongCode = (otp: string) => (otp === '000000' ? '111111' : '000000');

/** Every way another client may present a request of the owner's. */
const FOREIGN_VERIFIES: ReadonlyArray<[string, (c: Credentials) => Record<string, unknown>]> = [
  ['the right code', (c) => ({ code: c.otp, authRequestId: c.id })],
  ['a wrong code', (c) => ({ code: wrongCode(c.otp), authRequestId: c.id })],
  ['the link with its auth request id', (c) => ({ linkToken: c.linkToken, authRequestId: c.id })],
  ['the link alone', (c) => ({ linkToken: c.linkToken })],
  ['the link with another id', (c) => ({ linkToken: c.linkToken, authRequestId: 'someone-else' })],
];

describe('another client cannot reach a request', () => {
  for (const enforcement of [true, false]) {
    it.each(FOREIGN_VERIFIES)(
      `verify with %s (same-browser enforcement ${enforcement ? 'on' : 'off'}) → 404, nothing spent`,
      async (_name, body) => {
        h.policy = { ...h.policy, sameBrowserEnforcement: enforcement };
        const credentials = await sendAsOwner();
        const error = await errorOf(h.engine().verify(body(credentials), other));
        expect(error.code).toBe('AUTH_REQUEST_NOT_FOUND');
        expect(error.spec.http).toBe(404);
        // The answer is the one an unknown request gets, and tells nothing of the owner's request.
        const unknown = await errorOf(h.engine().verify({ code: credentials.otp, authRequestId: 'ZZZZZZZZZZ-unknown' }, other));
        expect({ code: error.code, message: error.message }).toEqual({ code: unknown.code, message: unknown.message });
        expect(JSON.stringify({ message: error.message, details: error.details })).not.toMatch(/ada@|owner-state/);
        expect(await h.store.findAuthRequest(credentials.id, h.now)).toMatchObject({ status: 'pending', attempts: 0, sends: 1 });
        // The owner's code and link both still work (the link proves no token was burnt).
        await expect(h.engine().verify({ linkToken: credentials.linkToken, authRequestId: credentials.id }, owner)).resolves.toMatchObject({
          email: 'ada@example.com',
          state: 'owner-state',
        });
      },
    );
  }

  it('wrong codes from another client never lock the owner out, however many', async () => {
    const credentials = await sendAsOwner();
    for (let i = 0; i < h.policy.otpAttemptsPerRequest * 3; i++) {
      expect((await errorOf(h.engine().verify({ code: wrongCode(credentials.otp), authRequestId: credentials.id }, other))).code).toBe(
        'AUTH_REQUEST_NOT_FOUND',
      );
    }
    expect(await h.store.findAuthRequest(credentials.id, h.now)).toMatchObject({ status: 'pending', attempts: 0 });
    await expect(h.engine().verify({ code: credentials.otp, authRequestId: credentials.id }, owner)).resolves.toMatchObject({
      authRequestId: credentials.id,
    });
  });

  it('resend by another client → 404: no new credentials, no email, the owner’s still work', async () => {
    const credentials = await sendAsOwner();
    const error = await errorOf(h.engine().resend({ authRequestId: credentials.id }, other));
    expect(error.code).toBe('AUTH_REQUEST_NOT_FOUND');
    expect(await h.mailbox()).toEqual(new Map());
    expect(await h.store.findAuthRequest(credentials.id, h.now)).toMatchObject({ sends: 1, status: 'pending' });
    await expect(h.engine().verify({ code: credentials.otp, authRequestId: credentials.id }, owner)).resolves.toMatchObject({
      authRequestId: credentials.id,
    });
  });

  it.each([
    [
      'verified',
      async (c: Credentials) => {
        await h.engine().verify({ code: c.otp, authRequestId: c.id }, owner);
      },
    ],
    [
      'locked',
      async (c: Credentials) => {
        for (let i = 0; i < h.policy.otpAttemptsPerRequest; i++)
          await errorOf(h.engine().verify({ code: wrongCode(c.otp), authRequestId: c.id }, owner));
      },
    ],
    [
      'expired',
      (): Promise<void> => {
        h.now += 3_600_000;
        return Promise.resolve();
      },
    ],
  ])('a %s request is, to another client, not found (its state is not told)', async (_state, finish) => {
    const credentials = await sendAsOwner();
    await finish(credentials);
    for (const body of FOREIGN_VERIFIES.map(([, make]) => make(credentials))) {
      expect((await errorOf(h.engine().verify(body, other))).code).toBe('AUTH_REQUEST_NOT_FOUND');
    }
    expect((await errorOf(h.engine().resend({ authRequestId: credentials.id }, other))).code).toBe('AUTH_REQUEST_NOT_FOUND');
  });

  it('the owner keeps every earlier behaviour: its resend and its verify by link work', async () => {
    const first = await sendAsOwner();
    h.now += 1_000;
    await h.engine().resend({ authRequestId: first.id }, owner);
    const second = (await h.mailbox()).get(first.id);
    await expect(h.engine().verify({ linkToken: second?.linkToken, authRequestId: first.id }, owner)).resolves.toMatchObject({
      authRequestId: first.id,
    });
  });
});
