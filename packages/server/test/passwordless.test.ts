import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REDIRECT, errorOf, BACKENDS, harness, stopPostgres, type Harness } from './helpers.js';

let h: Harness;
afterAll(stopPostgres);

interface SendJson {
  auth_request_id: string;
  expires_at: number;
  expires_in: number;
  passwordless_type: string;
}

async function send(email: string, extra: Record<string, unknown> = {}): Promise<SendJson> {
  const res = await h.api('send', { email, magiclink_auth_uri: REDIRECT, ...extra });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as SendJson;
}

// One test body, both stores: the route behaviour must not depend on the backend.
describe.each(BACKENDS)('%s', (backend) => {
  beforeEach(async () => {
    h = await harness({ backend, seedRedirectUris: ['https://seeded.example.com/cb'] });
  });
  afterEach(async () => {
    await h.close();
  });

  describe('POST /api/v1/passwordless/email/send', () => {
    it('queues a sign-in and answers in snake_case with expires_at in epoch seconds', async () => {
      const res = await h.api('send', {
        email: 'ada@example.com',
        template: 'SIGNIN',
        magiclink_auth_uri: REDIRECT,
        state: 's1',
        expires_in: 600,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as SendJson;
      expect(Object.keys(body).sort()).toEqual(['auth_request_id', 'expires_at', 'expires_in', 'passwordless_type']);
      expect(body.expires_in).toBe(600);
      expect(body.expires_at).toBe(Math.floor(h.clock.now() / 1000) + 600);
      expect(body.passwordless_type).toBe('LINK_OTP');
      const mail = await h.latestMail('ada@example.com');
      expect(mail.code).toMatch(/^\d{6}$/);
      expect(mail.linkToken).toBeTruthy();
    });

    it('accepts lowerCamelCase names', async () => {
      const res = await h.api('send', {
        email: 'camel@example.com',
        magiclinkAuthUri: REDIRECT,
        expiresIn: 120,
        templateVariables: { team: 'Acme' },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as SendJson).expires_in).toBe(120);
    });

    it('allows the policy list seeded from SESAME_ALLOWED_REDIRECT_URIS and the client’s own URIs, and nothing else', async () => {
      expect((await h.api('send', { email: 'a@example.com', magiclink_auth_uri: 'https://seeded.example.com/cb' })).status).toBe(200);
      expect((await h.api('send', { email: 'b@example.com', magiclink_auth_uri: 'http://localhost:3000/api/auth/verify' })).status).toBe(
        200,
      );
      const res = await h.api('send', { email: 'c@example.com', magiclink_auth_uri: 'https://evil.example.net/cb' });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe('REDIRECT_URI_NOT_ALLOWED');
    });

    it('lists field violations for a malformed body, without echoing values', async () => {
      const res = await h.api('send', { email: 'not-an-email<script>', magiclink_auth_uri: REDIRECT, expires_in: 5, state: '' });
      expect(res.status).toBe(400);
      const error = await errorOf(res);
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.request_id).toBe(res.headers.get('x-request-id'));
      expect(error.field_violations.map((v) => v.field).sort()).toEqual(['email', 'expires_in', 'state']);
      expect(JSON.stringify(error)).not.toContain('<script>');
    });

    it('refuses a non-JSON content type and malformed JSON with INVALID_ARGUMENT', async () => {
      const token = await h.token();
      const plain = await h.request('/api/v1/passwordless/email/send', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: `Bearer ${token}` },
        body: '{"email":"a@example.com"}',
      });
      expect(plain.status).toBe(400);
      expect((await errorOf(plain)).field_violations[0]?.field).toBe('body');
      const broken = await h.api('send', '{"email": ');
      expect(broken.status).toBe(400);
      expect((await errorOf(broken)).code).toBe('INVALID_ARGUMENT');
      const array = await h.api('send', '[]');
      expect((await errorOf(array)).code).toBe('INVALID_ARGUMENT');
    });

    it('answers 429 SEND_LIMIT_EXCEEDED with Retry-After on the third email to one address within a minute', async () => {
      await send('limit@example.com');
      await send('LIMIT@example.com');
      const third = await h.api('send', { email: 'limit@example.com', magiclink_auth_uri: REDIRECT });
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(third.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect((await errorOf(third)).code).toBe('SEND_LIMIT_EXCEEDED');
      h.clock.advance(61_000);
      await send('limit@example.com');
    });

    it('requires a valid Bearer token of an active client', async () => {
      const none = await h.request('/api/v1/passwordless/email/send', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'a@example.com' }),
      });
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await errorOf(none)).code).toBe('UNAUTHENTICATED');

      const forged = await h.api(
        'send',
        { email: 'a@example.com', magiclink_auth_uri: REDIRECT },
        'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl',
      );
      expect(forged.status).toBe(401);

      const token = await h.token();
      h.clock.advance(3601_000);
      const expired = await h.api('send', { email: 'a@example.com', magiclink_auth_uri: REDIRECT }, token);
      expect(expired.status).toBe(401);

      const fresh = await h.token();
      expect((await h.api('send', { email: 'a@example.com', magiclink_auth_uri: REDIRECT }, fresh)).status).toBe(200);
      await h.store.revokeApiClient(h.clientId, h.clock.now());
      const revoked = await h.api('send', { email: 'b@example.com', magiclink_auth_uri: REDIRECT }, fresh);
      expect(revoked.status).toBe(401);
      expect((await errorOf(revoked)).code).toBe('UNAUTHENTICATED');
    });
  });

  describe('POST /api/v1/passwordless/email/verify', () => {
    it('verifies a code once, then answers ALREADY_USED', async () => {
      const sent = await send('grace@example.com', { state: 'xyz', template: 'SIGNUP' });
      const { code } = await h.latestMail('grace@example.com');
      const ok = await h.api('verify', { code, auth_request_id: sent.auth_request_id });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ email: 'grace@example.com', state: 'xyz', template: 'SIGNUP', passwordless_type: 'LINK_OTP' });
      const again = await h.api('verify', { code, auth_request_id: sent.auth_request_id });
      expect(again.status).toBe(400);
      expect((await errorOf(again)).code).toBe('ALREADY_USED');
    });

    it('verifies a link token with its auth_request_id (camelCase too) and omits an absent state', async () => {
      const sent = await send('link@example.com');
      const { linkToken } = await h.latestMail('link@example.com');
      const alone = await h.api('verify', { link_token: linkToken });
      expect(alone.status).toBe(400);
      expect((await errorOf(alone)).code).toBe('SAME_BROWSER_REQUIRED');
      const ok = await h.api('verify', { linkToken, authRequestId: sent.auth_request_id });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ email: 'link@example.com', template: 'SIGNIN', passwordless_type: 'LINK_OTP' });
    });

    it('maps wrong, unknown, expired and locked to their codes', async () => {
      const sent = await send('wrong@example.com');
      const { code } = await h.latestMail('wrong@example.com');
      const wrongCode = code === '000000' ? '111111' : '000000';
      const wrong = await h.api('verify', { code: wrongCode, auth_request_id: sent.auth_request_id });
      expect(wrong.status).toBe(400);
      expect((await errorOf(wrong)).code).toBe('INVALID_CREDENTIAL');

      const unknown = await h.api('verify', { code: '123456', auth_request_id: 'no-such-request' });
      expect(unknown.status).toBe(404);
      expect((await errorOf(unknown)).code).toBe('AUTH_REQUEST_NOT_FOUND');

      const badLink = await h.api('verify', { link_token: 'x'.repeat(43) });
      expect((await errorOf(badLink)).code).toBe('INVALID_CREDENTIAL');

      for (let i = 0; i < 4; i++) await h.api('verify', { code: wrongCode, auth_request_id: sent.auth_request_id });
      const locked = await h.api('verify', { code, auth_request_id: sent.auth_request_id });
      expect(locked.status).toBe(429);
      expect((await errorOf(locked)).code).toBe('TOO_MANY_ATTEMPTS');

      const later = await send('late@example.com');
      const late = await h.latestMail('late@example.com');
      h.clock.advance(301_000);
      const expired = await h.api('verify', { code: late.code, auth_request_id: later.auth_request_id });
      expect(expired.status).toBe(400);
      expect((await errorOf(expired)).code).toBe('EXPIRED');
    });

    it('refuses a body with both or neither credential', async () => {
      const both = await h.api('verify', { code: '123456', link_token: 'abc', auth_request_id: 'x' });
      expect((await errorOf(both)).code).toBe('INVALID_ARGUMENT');
      const neither = await h.api('verify', {});
      expect(neither.status).toBe(400);
      expect((await errorOf(neither)).field_violations.length).toBeGreaterThan(0);
    });
  });

  describe('POST /api/v1/passwordless/email/resend', () => {
    it('issues fresh credentials (the old code stops working) for the same auth request', async () => {
      const sent = await send('resend@example.com');
      const first = await h.latestMail('resend@example.com');
      const res = await h.api('resend', { auth_request_id: sent.auth_request_id });
      expect(res.status).toBe(200);
      const body = (await res.json()) as SendJson;
      expect(body.auth_request_id).toBe(sent.auth_request_id);
      expect(body.expires_at).toBe(sent.expires_at);
      const second = await h.latestMail('resend@example.com');
      expect(second.code).not.toBeNull();
      if (first.code !== second.code) {
        const old = await h.api('verify', { code: first.code, auth_request_id: sent.auth_request_id });
        expect((await errorOf(old)).code).toBe('INVALID_CREDENTIAL');
      }
      const ok = await h.api('verify', { code: second.code, auth_request_id: sent.auth_request_id });
      expect(ok.status).toBe(200);
    });

    it('counts against the per-address limit and refuses unknown or missing ids', async () => {
      const sent = await send('r2@example.com');
      expect((await h.api('resend', { authRequestId: sent.auth_request_id })).status).toBe(200);
      const limited = await h.api('resend', { auth_request_id: sent.auth_request_id });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
      const unknown = await h.api('resend', { auth_request_id: 'nope' });
      expect(unknown.status).toBe(404);
      expect((await errorOf(unknown)).code).toBe('AUTH_REQUEST_NOT_FOUND');
      const missing = await h.api('resend', {});
      expect(missing.status).toBe(400);
      expect((await errorOf(missing)).field_violations[0]?.field).toBe('auth_request_id');
    });
  });
});
