/**
 * API clients through the admin API: create, rotate, revoke and the send limit, each with its
 * audit entry written in the same transaction as the change (a refused audit write leaves the
 * client as it was); rotation ends earlier tokens; revoking a client fails the mail it queued.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, REDIRECT, stopPostgres, type Harness } from './helpers.js';
import { AdminBrowser, errorCode, freshAdminEachTest, startSmtpOutbox } from './admin-helpers.js';
import { cliMain } from '../src/index.js';

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
  secret_version: number;
  sends_per_minute: number | null;
}

interface AuditJson {
  entries: { action: string; actor: string; before: WireClient | null; after: WireClient }[];
}

/** Makes every insert into the audit log fail (or stop failing), as a full disk or a broken table would. */
async function refuseAuditWrites(h: Harness, refuse: boolean): Promise<void> {
  if (h.databaseUrl.startsWith('file:')) {
    const db = new Database(h.databaseUrl.slice('file:'.length));
    try {
      db.exec(
        refuse
          ? "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log refused'); END;"
          : 'DROP TRIGGER refuse_audit;',
      );
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: h.databaseUrl });
  await client.connect();
  try {
    await client.query(
      refuse
        ? `CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit log refused'; END $$ LANGUAGE plpgsql;
           CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit();`
        : 'DROP TRIGGER refuse_audit ON audit_log; DROP FUNCTION refuse_audit();',
    );
  } finally {
    await client.end();
  }
}

/** `sesame …` in process, on the harness's database. */
async function cli(h: Harness, ...argv: string[]): Promise<{ code: number; stdout: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sesame-cli-'));
  let stdout = '';
  try {
    const code = await cliMain(argv, {
      stdout: (t) => (stdout += t),
      stderr: () => undefined,
      env: { SESAME_DATABASE_URL: h.databaseUrl, SESAME_DATA_DIR: dataDir },
    });
    return { code, stdout };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
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
  freshAdminEachTest(backend, ADMIN, (fixture) => ({ h, browser } = fixture), true);

  it('creates a client whose secret is shown once and works at /oauth/token; revoking it stops its tokens at once (401)', async () => {
    const created = await browser.json<{ client: WireClient; client_secret: string }>(
      '/admin/api/clients',
      { json: { name: ' Shop ', redirect_uris: ['https://shop.example.com/auth/*', REDIRECT] } },
      201,
    );
    expect(created.client).toMatchObject({
      name: 'Shop',
      redirect_uris: ['https://shop.example.com/auth/*', REDIRECT],
      revoked_at: null,
      last_used_at: null,
    });
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
    const created = await browser.json<{ client: WireClient; client_secret: string }>(
      '/admin/api/clients',
      { json: { name: 'Rotating' } },
      201,
    );
    expect(created.client.redirect_uris).toEqual([]);
    const rotated = await browser.json<{ client: WireClient; client_secret: string }>(`/admin/api/clients/${created.client.id}/rotate`, {
      method: 'POST',
    });
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
    const res = await browser.fetch('/admin/api/clients', {
      json: { name: '', redirect_uris: ['https://ok.example.com/cb', 'not a url'] },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; field_violations: { field: string }[] } };
    expect(body.error.code).toBe('INVALID_ARGUMENT');
    expect(body.error.field_violations.map((v) => v.field)).toEqual(['name', 'redirect_uris.1']);
    expect((await browser.json<{ clients: WireClient[] }>('/admin/api/clients')).clients).toHaveLength(1);
  });

  it('rotating ends every token issued before, on send, verify and resend; the new secret’s token works', async () => {
    const created = await browser.json<{ client: WireClient; client_secret: string }>(
      '/admin/api/clients',
      { json: { name: 'Leaked', redirect_uris: [REDIRECT] } },
      201,
    );
    expect(created.client.secret_version).toBe(1);
    const before = await token(created.client.id, created.client_secret);
    const sent = await h.api('send', { email: 'leak@example.com', magiclink_auth_uri: REDIRECT }, before);
    expect(sent.status).toBe(200);
    const { auth_request_id } = (await sent.json()) as { auth_request_id: string };
    const calls = (bearer: string) => [
      h.api('send', { email: 'other@example.com', magiclink_auth_uri: REDIRECT }, bearer),
      h.api('verify', { auth_request_id, code: '000000' }, bearer),
      h.api('resend', { auth_request_id }, bearer),
    ];
    for (const res of await Promise.all(calls(before))) expect(res.status).not.toBe(401);
    const rotated = await browser.json<{ client: WireClient; client_secret: string }>(`/admin/api/clients/${created.client.id}/rotate`, {
      method: 'POST',
    });
    expect(rotated.client.secret_version).toBe(2);
    for (const res of await Promise.all(calls(before))) {
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe('UNAUTHENTICATED');
    }
    const after = await token(created.client.id, rotated.client_secret);
    for (const res of await Promise.all(calls(after))) expect(res.status).not.toBe(401);
  });

  it('sets a client’s send limit (create and PUT), refuses bad values by field, and audits before and after', async () => {
    const created = await browser.json<{ client: WireClient }>(
      '/admin/api/clients',
      { json: { name: 'Budgeted', sends_per_minute: 120 } },
      201,
    );
    expect(created.client.sends_per_minute).toBe(120);
    const list = await browser.json<{ clients: WireClient[]; default_sends_per_minute: number }>('/admin/api/clients');
    expect(list.default_sends_per_minute).toBe(1000);
    const path = `/admin/api/clients/${created.client.id}/send-limit`;
    expect(
      (await browser.json<{ client: WireClient }>(path, { method: 'PUT', json: { sends_per_minute: 30 } })).client.sends_per_minute,
    ).toBe(30);
    expect(
      (await browser.json<{ client: WireClient }>(path, { method: 'PUT', json: { sends_per_minute: null } })).client.sends_per_minute,
    ).toBeNull();
    for (const bad of [0, -5, 1.5, 1_000_001, '60', true, [60], { n: 1 }, Number.MAX_SAFE_INTEGER + 2]) {
      for (const [where, res] of [
        ['PUT', await browser.fetch(path, { method: 'PUT', json: { sends_per_minute: bad } })],
        ['create', await browser.fetch('/admin/api/clients', { json: { name: 'Bad', sends_per_minute: bad } })],
      ] as const) {
        expect(res.status, `${where} ${JSON.stringify(bad)}`).toBe(400);
        const body = (await res.json()) as { error: { code: string; field_violations: { field: string }[] } };
        expect(body.error.code).toBe('INVALID_ARGUMENT');
        expect(body.error.field_violations.map((v) => v.field)).toEqual(['sends_per_minute']);
      }
    }
    const missing = await browser.fetch(path, { method: 'PUT', json: {} });
    expect(missing.status).toBe(400);
    expect((await browser.fetch('/admin/api/clients/skc_nope/send-limit', { method: 'PUT', json: { sends_per_minute: 5 } })).status).toBe(
      404,
    );
    const audit = await browser.json<AuditJson>('/admin/api/audit');
    const limits = audit.entries.filter((e) => e.action === 'client.send_limit');
    expect(limits.map((e) => [e.before?.sends_per_minute, e.after.sends_per_minute])).toEqual([
      [30, null],
      [120, 30],
    ]);
  });

  it('a change whose audit entry cannot be written is not made: create, rotate, revoke and the send limit', async () => {
    const created = await browser.json<{ client: WireClient; client_secret: string }>(
      '/admin/api/clients',
      { json: { name: 'Kept' } },
      201,
    );
    const id = created.client.id;
    const bearer = await token(id, created.client_secret);
    const entries = async () => (await browser.json<AuditJson>('/admin/api/audit')).entries.length;
    const auditedBefore = await entries();
    const statuses: Record<string, number> = {};
    await refuseAuditWrites(h, true);
    try {
      const attempts: [string, () => Promise<Response>][] = [
        ['create', () => browser.fetch('/admin/api/clients', { json: { name: 'Unaudited' } })],
        ['rotate', () => browser.fetch(`/admin/api/clients/${id}/rotate`, { method: 'POST' })],
        ['revoke', () => browser.fetch(`/admin/api/clients/${id}/revoke`, { method: 'POST' })],
        ['send limit', () => browser.fetch(`/admin/api/clients/${id}/send-limit`, { method: 'PUT', json: { sends_per_minute: 7 } })],
      ];
      for (const [name, attempt] of attempts) statuses[name] = (await attempt()).status;
    } finally {
      await refuseAuditWrites(h, false);
    }
    const { clients } = await browser.json<{ clients: WireClient[] }>('/admin/api/clients');
    expect(clients.map((c) => c.name).sort()).toEqual(['Kept', 'test app']);
    expect(clients.find((c) => c.id === id)).toMatchObject({ revoked_at: null, secret_version: 1, sends_per_minute: null });
    expect(await tokenStatus(id, created.client_secret)).toBe(200);
    expect((await h.api('send', { email: 'kept@example.com' }, bearer)).status).not.toBe(401);
    expect(await entries()).toBe(auditedBefore);
    // The failure is the server's (500), reported as such, not a refusal of the request.
    expect(statuses).toEqual({ create: 500, rotate: 500, revoke: 500, 'send limit': 500 });
  });

  it('revoking a client fails the mail it queued while SMTP was down (dashboard and CLI); nothing is delivered when SMTP is back', async () => {
    const PER_CLIENT = 3;
    const make = async (name: string) => {
      const created = await browser.json<{ client: WireClient; client_secret: string }>(
        '/admin/api/clients',
        { json: { name, redirect_uris: [REDIRECT] } },
        201,
      );
      return { id: created.client.id, bearer: await token(created.client.id, created.client_secret), addresses: [] as string[] };
    };
    const clients = { dashboard: await make('Revoked here'), cli: await make('Revoked by CLI'), control: await make('Kept') };
    const send = async (which: keyof typeof clients, tag: string) => {
      const address = `${which}-${tag}@example.com`;
      const res = await h.api('send', { email: address, magiclink_auth_uri: REDIRECT }, clients[which].bearer);
      expect(res.status).toBe(200);
      clients[which].addresses.push(address);
    };
    // SMTP answers 451 to every first attempt (down for these emails), then accepts.
    const outbox = await startSmtpOutbox(h, 3 * PER_CLIENT);
    const { smtp, worker } = outbox;
    try {
      for (let i = 0; i < PER_CLIENT; i++) for (const which of ['dashboard', 'cli', 'control'] as const) await send(which, `tried-${i}`);
      expect(await worker.runOnce()).toMatchObject({ claimed: 3 * PER_CLIENT, retried: 3 * PER_CLIENT });
      // More queued after, never attempted at all.
      for (const which of ['dashboard', 'cli', 'control'] as const) await send(which, 'untried');

      await browser.json(`/admin/api/clients/${clients.dashboard.id}/revoke`, { method: 'POST' });
      expect((await cli(h, 'clients', 'revoke', clients.cli.id)).code).toBe(0);

      h.clock.advance(10_000);
      for (let round = 0; round < 3; round++) await worker.runOnce();
      const delivered = smtp.mails.flatMap((m) =>
        (Array.isArray(m.to) ? m.to : [m.to]).flatMap((to) => to?.value.map((v) => v.address) ?? []),
      );
      expect(delivered.sort()).toEqual([...clients.control.addresses].sort());
      for (const which of ['dashboard', 'cli'] as const) {
        for (const address of clients[which].addresses) {
          const page = await browser.json<{ auth_requests: { delivery: string; timeline: { kind: string; detail: string | null }[] }[] }>(
            `/admin/api/activity?email=${encodeURIComponent(address)}`,
          );
          expect(page.auth_requests, address).toHaveLength(1);
          const [item] = page.auth_requests;
          expect(item!.delivery, address).toBe('failed');
          expect(item!.timeline.at(-1), address).toMatchObject({ kind: 'failed', detail: 'client revoked' });
        }
      }
      const revokes = (await browser.json<AuditJson>('/admin/api/audit')).entries.filter((e) => e.action === 'client.revoke');
      expect(revokes.map((e) => [e.actor, e.after.id])).toEqual([
        ['cli', clients.cli.id],
        [ADMIN, clients.dashboard.id],
      ]);
    } finally {
      await outbox.close();
    }
  });
});
