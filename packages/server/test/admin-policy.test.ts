import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '@sesame/storage';
import { createApp, createClient } from '../src/index.js';
import { BACKENDS, REDIRECT, stopPostgres, type Harness } from './helpers.js';
import { AdminBrowser, errorCode, freshAdminEachTest } from './admin-helpers.js';

let h: Harness;
let browser: AdminBrowser;
afterAll(stopPostgres);

const ADMIN = 'root@example.com';

interface WirePolicy {
  passwordless_type: string;
  expiry_seconds: number;
  otp_format: string;
  otp_length: number;
  same_browser_enforcement: boolean;
  otp_attempts_per_request: number;
  emails_per_address: { max: number; window_seconds: number };
  failed_otp_per_address: { max: number; window_seconds: number };
  allowed_redirect_uris: { uri: string; match: string }[];
}

interface PolicyAnswer {
  policy: WirePolicy;
  defaults: WirePolicy;
  ranges: Record<string, unknown>;
  updated_at: string | null;
}

interface AuditAnswer {
  entries: { id: string; at: string; actor: string; action: string; before: unknown; after: unknown }[];
  next_before: string | null;
}

describe.each(BACKENDS)('%s', (backend) => {
  freshAdminEachTest(backend, ADMIN, (fixture) => ({ h, browser } = fixture), true);

  it('GET answers the policy in force, the defaults and the ranges, never saved yet', async () => {
    const answer = await browser.json<PolicyAnswer>('/admin/api/policy');
    expect(answer.updated_at).toBeNull();
    expect(answer.policy).toEqual(answer.defaults);
    expect(answer.policy).toEqual({
      passwordless_type: 'LINK_OTP',
      expiry_seconds: 300,
      otp_format: 'NUMERIC',
      otp_length: 6,
      same_browser_enforcement: true,
      otp_attempts_per_request: 5,
      emails_per_address: { max: 2, window_seconds: 60 },
      failed_otp_per_address: { max: 50, window_seconds: 86_400 },
      allowed_redirect_uris: [{ uri: 'http://localhost:3000/', match: 'prefix' }],
    });
    expect(answer.ranges).toMatchObject({
      expiry_seconds: { min: 60, max: 3600 },
      otp_length: { min: 6, max: 8 },
      emails_per_address: { max: { min: 1, max: 60 }, window_seconds: { min: 1, max: 86_400 } },
      passwordless_type: ['OTP', 'LINK', 'LINK_OTP'],
    });
  });

  it('a saved policy (OTP, 120 s) applies to the next REST send at once, and is audited', async () => {
    const { policy } = await browser.json<PolicyAnswer>('/admin/api/policy');
    const changed = {
      ...policy,
      passwordless_type: 'OTP',
      expiry_seconds: 120,
      allowed_redirect_uris: [...policy.allowed_redirect_uris, { uri: REDIRECT, match: 'exact' }],
    };
    const saved = await browser.json<{ policy: WirePolicy; updated_at: string }>('/admin/api/policy', { method: 'PUT', json: changed });
    expect(saved.policy).toEqual(changed);
    expect(saved.updated_at).toBe(new Date(h.clock.now()).toISOString());
    expect((await browser.json<PolicyAnswer>('/admin/api/policy')).updated_at).toBe(saved.updated_at);

    const res = await h.api('send', { email: 'ada@example.com' });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ expires_in: 120, passwordless_type: 'OTP' });
    const mail = await h.latestMail('ada@example.com');
    expect(mail.code).toMatch(/^\d{6}$/);
    expect(mail.linkToken).toBeNull();
    expect(mail.text).not.toContain('link_token');
    expect(mail.html).not.toContain('link_token');
    expect(mail.text).toContain('2 minutes');

    const audit = await browser.json<AuditAnswer>('/admin/api/audit');
    expect(audit.entries).toHaveLength(1);
    expect(audit.entries[0]).toMatchObject({ actor: ADMIN, action: 'policy.update', at: saved.updated_at, before: policy, after: changed });
    expect(audit.next_before).toBeNull();
  });

  it('refuses an out-of-range or malformed policy, naming each field, and changes nothing', async () => {
    const { policy } = await browser.json<PolicyAnswer>('/admin/api/policy');
    const bad = { ...policy, expiry_seconds: 5, emails_per_address: { max: 2, window_seconds: 0 }, passwordless_type: 'SMS' };
    const res = await browser.fetch('/admin/api/policy', { method: 'PUT', json: bad });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; field_violations: { field: string; description: string }[] } };
    expect(body.error.code).toBe('INVALID_ARGUMENT');
    expect(body.error.field_violations.map((v) => v.field).sort()).toEqual([
      'emails_per_address.window_seconds',
      'expiry_seconds',
      'passwordless_type',
    ]);
    expect(body.error.field_violations.find((v) => v.field === 'expiry_seconds')!.description).toBe('must be at least 60');
    const badUri = await browser.fetch('/admin/api/policy', {
      method: 'PUT',
      json: { ...policy, allowed_redirect_uris: [{ uri: 'javascript:alert(1)', match: 'exact' }] },
    });
    expect(badUri.status).toBe(400);
    expect(await errorCode(badUri)).toBe('INVALID_ARGUMENT');
    expect((await browser.json<PolicyAnswer>('/admin/api/policy')).updated_at).toBeNull();
    expect((await browser.json<AuditAnswer>('/admin/api/audit')).entries).toEqual([]);
  });

  it('a change made through one instance applies to a send through another on the same database', async () => {
    // Instance B: its own app and store connection on the same database, its own API client.
    const storeB = openStore(h.databaseUrl);
    try {
      const b = createApp({
        store: storeB,
        secret: randomBytes(32),
        production: false,
        publicUrl: 'http://127.0.0.1:8081',
        devInbox: false,
        clock: h.clock,
      });
      const client = await createClient(storeB, { key: b.clientSecretKey, name: 'b', redirectUris: [REDIRECT], now: h.clock.now() });
      const tokenRes = await b.app.request('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: client.record.id,
          client_secret: client.secret,
        }).toString(),
      });
      const { access_token } = (await tokenRes.json()) as { access_token: string };
      const sendB = () =>
        b.app.request('/api/v1/passwordless/email/send', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${access_token}` },
          body: JSON.stringify({ email: `b${Math.random()}@example.com`.replace('0.', ''), magiclink_auth_uri: REDIRECT }),
        });
      expect(await (await sendB()).json()).toMatchObject({ expires_in: 300, passwordless_type: 'LINK_OTP' });

      const { policy } = await browser.json<PolicyAnswer>('/admin/api/policy');
      await browser.json('/admin/api/policy', { method: 'PUT', json: { ...policy, passwordless_type: 'OTP', expiry_seconds: 120 } });
      expect(await (await sendB()).json()).toMatchObject({ expires_in: 120, passwordless_type: 'OTP' });
    } finally {
      await storeB.close();
    }
  });

  it('audit pages back, newest first', async () => {
    const { policy } = await browser.json<PolicyAnswer>('/admin/api/policy');
    for (const expiry of [100, 200, 300]) {
      h.clock.advance(1000);
      await browser.json('/admin/api/policy', { method: 'PUT', json: { ...policy, expiry_seconds: expiry } });
    }
    const first = await browser.json<AuditAnswer>('/admin/api/audit?limit=2');
    expect(first.entries.map((e) => (e.after as WirePolicy).expiry_seconds)).toEqual([300, 200]);
    expect(first.next_before).toBe(first.entries[1]!.id);
    const rest = await browser.json<AuditAnswer>(`/admin/api/audit?limit=2&before=${first.next_before!}`);
    expect(rest.entries.map((e) => (e.after as WirePolicy).expiry_seconds)).toEqual([100]);
    expect(rest.next_before).toBeNull();
    expect((await browser.fetch('/admin/api/audit?limit=0')).status).toBe(400);
  });
});
