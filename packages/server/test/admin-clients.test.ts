import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, REDIRECT, stopPostgres, type Harness } from './helpers.js';
import { AdminBrowser, errorCode, signedInAdmin } from './admin-helpers.js';

let h: Harness;
let browser: AdminBrowser;
afterAll(stopPostgres);

const ADMIN = 'root@example.com';

interface WireClient {
  id: string;
  name: string;
  redirect_uris: string[];
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

async function tokenStatus(id: string, secret: string): Promise<number> {
  const res = await h.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString(),
  });
  return res.status;
}

async function token(id: string, secret: string): Promise<string> {
  const res = await h.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

describe.each(BACKENDS)('%s', (backend) => {
  beforeEach(async () => {
    ({ h, browser } = await signedInAdmin(backend, ADMIN));
  });
  afterEach(async () => {
    await h.close();
  });

  it('creates a client whose secret is shown once and works at /oauth/token; revoking it stops its tokens at once (401)', async () => {
    const created = await browser.json<{ client: WireClient; client_secret: string }>(
      '/admin/api/clients',
      { json: { name: ' Shop ', redirect_uris: ['https://shop.example.com/auth/*', REDIRECT] } },
      201,
    );
    expect(created.client).toMatchObject({ name: 'Shop', redirect_uris: ['https://shop.example.com/auth/*', REDIRECT], revoked_at: null, last_used_at: null });
    expect(created.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const bearer = await token(created.client.id, created.client_secret);
    const send = (auth: string) =>
      h.api('send', { email: 'ada@example.com', magiclink_auth_uri: 'https://shop.example.com/auth/cb' }, auth);
    expect((await send(bearer)).status).toBe(200);

    const { clients } = await browser.json<{ clients: WireClient[] }>('/admin/api/clients');
    const listed = clients.find((c) => c.id === created.client.id)!;
    expect(listed.last_used_at).toBe(new Date(h.clock.now()).toISOString());
    expect(JSON.stringify(clients)).not.toContain(created.client_secret);
    expect(clients).toHaveLength(2);

    const revoked = await browser.json<{ client: WireClient }>(`/admin/api/clients/${created.client.id}/revoke`, { method: 'POST' });
    expect(revoked.client.revoked_at).toBe(new Date(h.clock.now()).toISOString());
    const after = await send(bearer);
    expect(after.status).toBe(401);
    expect(await errorCode(after)).toBe('UNAUTHENTICATED');
    expect(await tokenStatus(created.client.id, created.client_secret)).toBe(401);
    // Idempotent, and audited once.
    expect((await browser.fetch(`/admin/api/clients/${created.client.id}/revoke`, { method: 'POST' })).status).toBe(200);
    const audit = await browser.json<{ entries: { action: string; actor: string; after: { id: string } }[] }>('/admin/api/audit');
    expect(audit.entries.map((e) => e.action)).toEqual(['client.revoke', 'client.create']);
    expect(audit.entries.every((e) => e.actor === ADMIN && e.after.id === created.client.id)).toBe(true);
    expect(JSON.stringify(audit)).not.toContain(created.client_secret);
  });

  it('rotates a secret: the old one gets 401, the new one works', async () => {
    const created = await browser.json<{ client: WireClient; client_secret: string }>('/admin/api/clients', { json: { name: 'Rotating' } }, 201);
    expect(created.client.redirect_uris).toEqual([]);
    const rotated = await browser.json<{ client: WireClient; client_secret: string }>(`/admin/api/clients/${created.client.id}/rotate`, { method: 'POST' });
    expect(rotated.client.id).toBe(created.client.id);
    expect(rotated.client_secret).not.toBe(created.client_secret);
    expect(await tokenStatus(created.client.id, created.client_secret)).toBe(401);
    expect(await tokenStatus(created.client.id, rotated.client_secret)).toBe(200);
    const revoked = await browser.fetch(`/admin/api/clients/${created.client.id}/revoke`, { method: 'POST' });
    expect(revoked.status).toBe(200);
    expect((await browser.fetch(`/admin/api/clients/${created.client.id}/rotate`, { method: 'POST' })).status).toBe(404);
    expect((await browser.fetch('/admin/api/clients/skc_nope/revoke', { method: 'POST' })).status).toBe(404);
  });

  it('refuses a bad name or redirect URI, naming the field', async () => {
    const res = await browser.fetch('/admin/api/clients', { json: { name: '', redirect_uris: ['https://ok.example.com/cb', 'not a url'] } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; field_violations: { field: string }[] } };
    expect(body.error.code).toBe('INVALID_ARGUMENT');
    expect(body.error.field_violations.map((v) => v.field)).toEqual(['name', 'redirect_uris.1']);
    expect((await browser.json<{ clients: WireClient[] }>('/admin/api/clients')).clients).toHaveLength(1);
  });
});
