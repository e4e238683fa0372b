/**
 * The engine against the real SQLite store: every invariant of docs/ARCHITECTURE.md that the
 * engine decides, end to end through `send` / `verify` / `resend`. Only the clock is fake.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  defaultPolicy,
  openOutboxPayload,
  updatePolicy,
  type AdoptedEmail,
  type CallerClient,
  type Engine,
  type OutboxLease,
  type Store,
} from '@sesame/core';
import { T0, errorOf, openHarness, type Harness } from './helpers/harness.js';

const client: CallerClient = { id: 'client_test', redirectUris: [{ uri: 'https://app.example.com/auth/verify', match: 'exact' }] };
const LINK_URI = 'http://localhost:3000/api/auth/verify';

let h: Harness;
let store: Store;
let engine: Engine;

beforeEach(async () => {
  h = await openHarness();
  // The deployment defaults, limits included: several tests are about them.
  h.policy = defaultPolicy({ production: false });
  store = h.store;
  engine = h.engine();
});

afterEach(async () => {
  await h.close();
});

async function sendAndRead(email = 'ada@example.com', extra: Record<string, unknown> = {}) {
  const sent = await engine.send({ email, magiclinkAuthUri: LINK_URI, ...extra }, client);
  const payload = (await h.mailbox()).get(sent.authRequestId);
  if (!payload) throw new Error('no email queued');
  return { sent, otp: payload.otp ?? '', linkToken: payload.linkToken ?? '' };
}

describe('send', () => {
  it('answers at once with the id, expiry and type, and queues one email', async () => {
    const sent = await engine.send({ email: 'Ada@Example.com', magiclinkAuthUri: LINK_URI, state: 's1' }, client);
    expect(sent.authRequestId).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}[A-Za-z0-9_-]{22}$/);
    expect(sent).toMatchObject({ expiresIn: 300, expiresAt: T0 + 300_000, passwordlessType: 'LINK_OTP' });
    expect(await store.outboxDepth()).toBe(1);
    const record = await store.findAuthRequest(sent.authRequestId, h.now);
    expect(record).toMatchObject({
      email: 'Ada@Example.com',
      emailKey: 'ada@example.com',
      clientId: 'client_test',
      status: 'pending',
      sends: 1,
    });
  });

  it('honours expires_in per request', async () => {
    const sent = await engine.send({ email: 'a@example.com', magiclinkAuthUri: LINK_URI, expiresIn: 60 }, client);
    expect(sent.expiresIn).toBe(60);
    expect(sent.expiresAt).toBe(T0 + 60_000);
  });

  it('refuses a redirect URI outside the policy and the client list, and allows the client one', async () => {
    expect((await errorOf(engine.send({ email: 'a@example.com', magiclinkAuthUri: 'https://evil.test/verify' }, client))).code).toBe(
      'REDIRECT_URI_NOT_ALLOWED',
    );
    await expect(
      engine.send({ email: 'a@example.com', magiclinkAuthUri: 'https://app.example.com/auth/verify' }, client),
    ).resolves.toBeDefined();
    expect(await store.outboxDepth()).toBe(1);
  });

  it('needs a magic link URI when the type includes a link, but not for OTP', async () => {
    const error = await errorOf(engine.send({ email: 'a@example.com' }, client));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.fieldViolations[0]?.field).toBe('magiclink_auth_uri');
    h.policy = updatePolicy(h.policy, { passwordlessType: 'OTP' });
    const { otp, linkToken } = await sendAndRead('b@example.com', { magiclinkAuthUri: undefined });
    expect(otp).toMatch(/^\d{6}$/);
    expect(linkToken).toBe('');
  });

  it('LINK type issues no code', async () => {
    h.policy = updatePolicy(h.policy, { passwordlessType: 'LINK' });
    const { sent, otp, linkToken } = await sendAndRead();
    expect(otp).toBe('');
    expect(linkToken).toHaveLength(43);
    expect((await errorOf(engine.verify({ code: '000000', authRequestId: sent.authRequestId }, client))).code).toBe('INVALID_CREDENTIAL');
  });

  it('limits emails per address (sends and resends together) with a retryAfter, per address key', async () => {
    const first = await engine.send({ email: 'Limit@Example.com', magiclinkAuthUri: LINK_URI }, client);
    h.now += 10_000;
    await engine.resend({ authRequestId: first.authRequestId }, client);
    h.now += 5_000;
    const limited = await errorOf(engine.send({ email: ' limit@example.COM ', magiclinkAuthUri: LINK_URI }, client));
    expect(limited.code).toBe('SEND_LIMIT_EXCEEDED');
    expect(limited.retryAfterMs).toBe(45_000);
    expect((await errorOf(engine.resend({ authRequestId: first.authRequestId }, client))).code).toBe('SEND_LIMIT_EXCEEDED');
    // Another address is not affected; the same one is free again once the window has passed.
    await expect(engine.send({ email: 'other@example.com', magiclinkAuthUri: LINK_URI }, client)).resolves.toBeDefined();
    h.now += 45_000;
    await expect(engine.send({ email: 'limit@example.com', magiclinkAuthUri: LINK_URI }, client)).resolves.toBeDefined();
  });

  it('answers every address the same way (no enumeration: Sesame has no users)', async () => {
    const a = await engine.send({ email: 'known@example.com', magiclinkAuthUri: LINK_URI }, client);
    const b = await engine.send({ email: 'never-seen@example.com', magiclinkAuthUri: LINK_URI }, client);
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    expect({ ...a, authRequestId: '' }).toEqual({ ...b, authRequestId: '' });
  });
});

describe('verify by code', () => {
  it('verifies once, answers the request fields, then ALREADY_USED', async () => {
    const { sent, otp } = await sendAndRead('ada@example.com', { state: 'st-1', template: 'SIGNUP' });
    const result = await engine.verify({ code: otp, authRequestId: sent.authRequestId }, client);
    expect(result).toEqual({
      authRequestId: sent.authRequestId,
      email: 'ada@example.com',
      state: 'st-1',
      template: 'SIGNUP',
      passwordlessType: 'LINK_OTP',
    });
    expect((await errorOf(engine.verify({ code: otp, authRequestId: sent.authRequestId }, client))).code).toBe('ALREADY_USED');
  });

  it('expires at the exact boundary', async () => {
    const { sent, otp } = await sendAndRead();
    h.now = sent.expiresAt;
    expect((await errorOf(engine.verify({ code: otp, authRequestId: sent.authRequestId }, client))).code).toBe('EXPIRED');
    h.now = sent.expiresAt - 1;
    await expect(engine.verify({ code: otp, authRequestId: sent.authRequestId }, client)).resolves.toBeDefined();
  });

  it('locks the request after 5 wrong codes: the right code no longer works', async () => {
    const { sent, otp } = await sendAndRead();
    const wrong = otp === '000000' ? '111111' : '000000';
    for (let left = 4; left >= 0; left--) {
      const error = await errorOf(engine.verify({ code: wrong, authRequestId: sent.authRequestId }, client));
      expect(error.code).toBe('INVALID_CREDENTIAL');
      expect(error.message).toContain(left > 0 ? `${left} attempt` : 'No attempts left');
    }
    expect((await errorOf(engine.verify({ code: otp, authRequestId: sent.authRequestId }, client))).code).toBe('TOO_MANY_ATTEMPTS');
    expect((await store.findAuthRequest(sent.authRequestId, h.now))?.status).toBe('locked');
    expect((await errorOf(engine.resend({ authRequestId: sent.authRequestId }, client))).code).toBe('TOO_MANY_ATTEMPTS');
  });

  it('caps failed codes per address across requests; links still work', async () => {
    h.policy = updatePolicy(h.policy, {
      failedOtpPerAddress: { max: 3, windowMs: 86_400_000 },
      emailsPerAddress: { max: 60, windowMs: 60_000 },
    });
    for (let i = 0; i < 3; i++) {
      const { sent } = await sendAndRead('victim@example.com');
      expect((await errorOf(engine.verify({ code: 'ABCDEF', authRequestId: sent.authRequestId }, client))).code).toBe('INVALID_CREDENTIAL');
      h.now += 1_000;
    }
    const { sent, otp, linkToken } = await sendAndRead('VICTIM@example.com');
    const capped = await errorOf(engine.verify({ code: otp, authRequestId: sent.authRequestId }, client));
    expect(capped.code).toBe('TOO_MANY_ATTEMPTS');
    expect(capped.retryAfterMs).toBe(86_400_000 - 3_000);
    await expect(engine.verify({ linkToken, authRequestId: sent.authRequestId }, client)).resolves.toMatchObject({
      email: 'VICTIM@example.com',
    });
  });

  it('an unknown auth request is AUTH_REQUEST_NOT_FOUND', async () => {
    expect((await errorOf(engine.verify({ code: '123456', authRequestId: 'nope' }, client))).code).toBe('AUTH_REQUEST_NOT_FOUND');
    expect((await errorOf(engine.resend({ authRequestId: 'nope' }, client))).code).toBe('AUTH_REQUEST_NOT_FOUND');
  });
});

describe('verify by link', () => {
  it('with same-browser enforcement, needs the matching auth_request_id and does not burn the token', async () => {
    const { sent, linkToken, otp } = await sendAndRead();
    expect((await errorOf(engine.verify({ linkToken }, client))).code).toBe('SAME_BROWSER_REQUIRED');
    expect((await errorOf(engine.verify({ linkToken, authRequestId: 'someone-else' }, client))).code).toBe('SAME_BROWSER_REQUIRED');
    const record = await store.findAuthRequest(sent.authRequestId, h.now);
    expect(record).toMatchObject({ status: 'pending', attempts: 0 });
    // Both credentials still work in the original browser.
    await expect(engine.verify({ linkToken, authRequestId: sent.authRequestId }, client)).resolves.toMatchObject({
      email: 'ada@example.com',
    });
    expect((await errorOf(engine.verify({ code: otp, authRequestId: sent.authRequestId }, client))).code).toBe('ALREADY_USED');
  });

  it('after a failed same-browser check the code still works', async () => {
    const { sent, linkToken, otp } = await sendAndRead();
    expect((await errorOf(engine.verify({ linkToken }, client))).code).toBe('SAME_BROWSER_REQUIRED');
    await expect(engine.verify({ code: otp, authRequestId: sent.authRequestId }, client)).resolves.toBeDefined();
  });

  it('without enforcement, the token alone verifies; a re-click says ALREADY_USED', async () => {
    h.policy = updatePolicy(h.policy, { sameBrowserEnforcement: false });
    const { linkToken } = await sendAndRead();
    await expect(engine.verify({ linkToken }, client)).resolves.toMatchObject({ email: 'ada@example.com' });
    expect((await errorOf(engine.verify({ linkToken }, client))).code).toBe('ALREADY_USED');
  });

  it('a wrong or unknown token is INVALID_CREDENTIAL and costs the request nothing', async () => {
    const { sent } = await sendAndRead();
    const wrong = 'A'.repeat(43);
    expect((await errorOf(engine.verify({ linkToken: wrong, authRequestId: sent.authRequestId }, client))).code).toBe('INVALID_CREDENTIAL');
    expect((await store.findAuthRequest(sent.authRequestId, h.now))?.attempts).toBe(0);
  });

  it('expires at the exact boundary', async () => {
    const { sent, linkToken } = await sendAndRead();
    h.now = sent.expiresAt;
    expect((await errorOf(engine.verify({ linkToken, authRequestId: sent.authRequestId }, client))).code).toBe('EXPIRED');
  });
});

describe('resend', () => {
  it('issues new credentials for the same id; the old code and link stop working; expiry is unchanged', async () => {
    const first = await sendAndRead();
    h.now += 30_000;
    const again = await engine.resend({ authRequestId: first.sent.authRequestId }, client);
    expect(again).toMatchObject({ authRequestId: first.sent.authRequestId, expiresAt: first.sent.expiresAt, expiresIn: 270 });
    const second = (await h.mailbox()).get(first.sent.authRequestId);
    expect(second?.otp).toBeTruthy();
    expect(second?.linkToken).not.toBe(first.linkToken);
    const id = first.sent.authRequestId;
    if (first.otp !== second?.otp) {
      expect((await errorOf(engine.verify({ code: first.otp, authRequestId: id }, client))).code).toBe('INVALID_CREDENTIAL');
    }
    expect((await errorOf(engine.verify({ linkToken: first.linkToken, authRequestId: id }, client))).code).toBe('INVALID_CREDENTIAL');
    await expect(engine.verify({ code: second?.otp, authRequestId: id }, client)).resolves.toMatchObject({ email: 'ada@example.com' });
    expect((await store.findAuthRequest(id, h.now))?.sends).toBe(2);
  });

  it('refuses a verified or expired request', async () => {
    const { sent, otp } = await sendAndRead();
    await engine.verify({ code: otp, authRequestId: sent.authRequestId }, client);
    h.now += 60_000;
    expect((await errorOf(engine.resend({ authRequestId: sent.authRequestId }, client))).code).toBe('ALREADY_USED');
    const other = await sendAndRead('late@example.com');
    h.now = other.sent.expiresAt;
    expect((await errorOf(engine.resend({ authRequestId: other.sent.authRequestId }, client))).code).toBe('EXPIRED');
  });
});

describe('at rest', () => {
  it('the database files never hold a raw code or link token', async () => {
    const issued: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { otp, linkToken } = await sendAndRead(`user${i}@example.com`);
      issued.push(otp, linkToken);
    }
    await store.close();
    const dir = dirname(h.dbFile);
    const bytes = readdirSync(dir)
      .map((name) => readFileSync(join(dir, name)).toString('latin1'))
      .join('\n');
    expect(bytes.length).toBeGreaterThan(1000);
    for (const value of issued) expect(bytes).not.toContain(value);
  });
});

describe('handing new emails to an in-process worker (OutboxHandoff)', () => {
  function withHandoff(leaseFor: (at: number) => OutboxLease | null) {
    const adopted: AdoptedEmail[] = [];
    const handed = h.engine({ outbox: { lease: leaseFor, adopt: (email) => adopted.push(email) } });
    return { handed, adopted };
  }

  it('writes the email leased to the worker, then gives it what a claim would return, payload open', async () => {
    const lease = { owner: 'worker-1', until: T0 + 120_000 };
    const { handed, adopted } = withHandoff(() => lease);
    const sent = await handed.send({ email: 'Ada@Example.com', magiclinkAuthUri: LINK_URI, templateVariables: { team: 'Blue' } }, client);
    expect(adopted).toHaveLength(1);
    const [email] = adopted;
    expect(email?.lease).toEqual(lease);
    expect(email?.claim).toMatchObject({
      authRequestId: sent.authRequestId,
      attempts: 0,
      createdAt: T0,
      request: {
        email: 'Ada@Example.com',
        template: 'SIGNIN',
        type: 'LINK_OTP',
        magiclinkAuthUri: LINK_URI,
        templateVariables: { team: 'Blue' },
        expiresAt: sent.expiresAt,
        clientId: client.id,
      },
    });
    // The open payload is the sealed one, and its code verifies.
    expect(await openOutboxPayload(h.sealer, email!.claim.id, email!.claim.sealedPayload)).toEqual(email?.payload);
    // Leased: no other worker claims it while the lease lasts; after it lapses, any may.
    expect(await store.claimOutbox({ owner: 'other', now: h.now, leaseMs: 60_000, limit: 10 })).toEqual([]);
    const later = await store.claimOutbox({ owner: 'other', now: lease.until, leaseMs: 60_000, limit: 10 });
    expect(later.map((claim) => claim.id)).toEqual([email?.claim.id]);
    await expect(handed.verify({ code: email?.payload.otp, authRequestId: sent.authRequestId }, client)).resolves.toMatchObject({
      email: 'Ada@Example.com',
    });
  });

  it('hands over a resend too, and nothing for a send or resend that was refused', async () => {
    h.policy = { ...h.policy, emailsPerAddress: { max: 2, windowMs: 60_000 } };
    const { handed, adopted } = withHandoff((at) => ({ owner: 'worker-1', until: at + 120_000 }));
    const sent = await handed.send({ email: 'ada@example.com', magiclinkAuthUri: LINK_URI }, client);
    h.now += 1_000;
    await handed.resend({ authRequestId: sent.authRequestId }, client);
    expect(adopted.map((email) => [email.claim.authRequestId, email.claim.createdAt, email.lease.until])).toEqual([
      [sent.authRequestId, T0, T0 + 120_000],
      [sent.authRequestId, T0 + 1_000, T0 + 121_000],
    ]);
    expect(adopted[1]?.claim.request).toEqual({ ...adopted[0]?.claim.request });
    expect((await errorOf(handed.resend({ authRequestId: sent.authRequestId }, client))).code).toBe('SEND_LIMIT_EXCEEDED');
    expect((await errorOf(handed.send({ email: 'ada@example.com', magiclinkAuthUri: LINK_URI }, client))).code).toBe('SEND_LIMIT_EXCEEDED');
    expect(adopted).toHaveLength(2);
  });

  it('leaves the email unleased for a claim when the worker takes no more', async () => {
    const { handed, adopted } = withHandoff(() => null);
    const sent = await handed.send({ email: 'ada@example.com', magiclinkAuthUri: LINK_URI }, client);
    expect(adopted).toEqual([]);
    const claims = await store.claimOutbox({ owner: 'other', now: h.now, leaseMs: 60_000, limit: 10 });
    expect(claims.map((claim) => claim.authRequestId)).toEqual([sent.authRequestId]);
  });
});
