/**
 * The SQLite store's API clients, admins and admin sessions. Each change and its audit entry
 * share one `BEGIN IMMEDIATE` transaction. Client reads go through the config read cache
 * (./config-cache.ts): its triggers on `api_clients` empty it as any of these writes lands, so a
 * rotation, a send-limit change or a revocation is never answered from a stale memo. Admin
 * sessions are read from the table every time: sign-out must end a session at once.
 */
import type Database from 'better-sqlite3';
import type { NewAuditEntry, Store } from '@sesame/core';
import { CLIENT_REVOKED_DETAIL, type ClientMethods } from '../client-methods.js';
import {
  API_CLIENT_COLUMNS,
  toAdmin,
  toAdminSession,
  toApiClient,
  type AdminRow,
  type AdminSessionRow,
  type ApiClientRow,
} from '../rows.js';
import type { ConfigReadCache } from './config-cache.js';
import { statementCache } from './statements.js';

export function sqliteClientMethods(db: Database.Database, memo: ConfigReadCache): ClientMethods {
  const sql = statementCache(db);

  function insertAudit(audit: NewAuditEntry | undefined): void {
    if (!audit) return;
    sql(`INSERT INTO audit_log (at, actor, action, before_json, after_json) VALUES (@at, @actor, @action, @before, @after)`).run({
      at: audit.at,
      actor: audit.actor,
      action: audit.action,
      before: audit.before,
      after: audit.after,
    });
  }

  const createClient = db.transaction((client: Parameters<Store['createApiClient']>[0], audit?: NewAuditEntry): void => {
    sql(
      `INSERT INTO api_clients (id, name, secret_hash, redirect_uris, created_at, revoked_at, last_used_at, secret_version, sends_per_minute)
       VALUES (@id, @name, @secretHash, @redirectUris, @createdAt, @revokedAt, @lastUsedAt, @secretVersion, @sendsPerMinute)`,
    ).run({
      id: client.id,
      name: client.name,
      secretHash: client.secretHash,
      redirectUris: JSON.stringify(client.redirectUris),
      createdAt: client.createdAt,
      revokedAt: client.revokedAt,
      lastUsedAt: client.lastUsedAt,
      secretVersion: client.secretVersion,
      sendsPerMinute: client.sendsPerMinute,
    });
    insertAudit(audit);
  });

  const revoke = db.transaction((id: string, now: number, audit?: NewAuditEntry): boolean => {
    const revoked = sql('UPDATE api_clients SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL').run({ id, now }).changes > 0;
    if (!revoked) return false;
    // Its queued emails (leased ones included: a worker holding one is refused at its attempt)
    // are failed, not delivered. The queued-only index keeps this to the backlog's size.
    const failed = sql(
      `UPDATE outbox SET status = 'failed', sealed_payload = NULL, lease_owner = NULL, lease_until = NULL
       WHERE status = 'queued' AND EXISTS (SELECT 1 FROM auth_requests a WHERE a.id = outbox.auth_request_id AND a.client_id = @id)
       RETURNING id, auth_request_id, attempts`,
    ).all({ id }) as { id: string; auth_request_id: string; attempts: number }[];
    const event = sql(
      `INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind, attempt, detail)
       VALUES (@outboxId, @authRequestId, @at, 'failed', @attempt, @detail)`,
    );
    for (const row of failed) {
      event.run({
        outboxId: row.id,
        authRequestId: row.auth_request_id,
        at: now,
        attempt: row.attempts > 0 ? row.attempts : null,
        detail: CLIENT_REVOKED_DETAIL,
      });
    }
    insertAudit(audit);
    return true;
  });

  const rotate = db.transaction((id: string, secretHash: string, audit?: NewAuditEntry): number | null => {
    const row = sql(
      `UPDATE api_clients SET secret_hash = @secretHash, secret_version = secret_version + 1
       WHERE id = @id AND revoked_at IS NULL RETURNING secret_version`,
    ).get({ id, secretHash }) as { secret_version: number } | undefined;
    if (!row) return null;
    insertAudit(audit);
    return row.secret_version;
  });

  const setSendLimit = db.transaction((id: string, sendsPerMinute: number | null, audit?: NewAuditEntry): boolean => {
    const changed =
      sql('UPDATE api_clients SET sends_per_minute = @sendsPerMinute WHERE id = @id AND revoked_at IS NULL').run({ id, sendsPerMinute })
        .changes > 0;
    if (changed) insertAudit(audit);
    return changed;
  });

  const removeAdmin = db.transaction((emailKey: string): boolean => {
    sql('DELETE FROM admin_sessions WHERE email_key = @emailKey').run({ emailKey });
    return sql('DELETE FROM admins WHERE email_key = @emailKey').run({ emailKey }).changes > 0;
  });

  return {
    async createApiClient(client, audit) {
      createClient.immediate(client, audit);
      return Promise.resolve();
    },
    async findApiClient(id) {
      return Promise.resolve(
        memo.read(`client:${id}`, () => {
          const row = sql(`SELECT ${API_CLIENT_COLUMNS} FROM api_clients WHERE id = @id`).get({ id }) as ApiClientRow | undefined;
          if (!row) return null;
          // Frozen: every caller shares the memoised record.
          const client = toApiClient(row);
          return Object.freeze({ ...client, redirectUris: Object.freeze(client.redirectUris.map((rule) => Object.freeze(rule))) });
        }),
      );
    },
    async listApiClients() {
      const rows = sql(`SELECT ${API_CLIENT_COLUMNS} FROM api_clients ORDER BY created_at, id`).all() as ApiClientRow[];
      return Promise.resolve(rows.map(toApiClient));
    },
    async revokeApiClient(id, now, audit) {
      return Promise.resolve(revoke.immediate(id, now, audit));
    },
    async updateApiClientSecret(id, secretHash, audit) {
      return Promise.resolve(rotate.immediate(id, secretHash, audit));
    },
    async updateApiClientSendLimit(id, sendsPerMinute, audit) {
      return Promise.resolve(setSendLimit.immediate(id, sendsPerMinute, audit));
    },
    async touchApiClient(id, now) {
      sql('UPDATE api_clients SET last_used_at = @now WHERE id = @id').run({ id, now });
      return Promise.resolve();
    },

    async addAdmin(admin) {
      sql(
        'INSERT INTO admins (email_key, email, created_at) VALUES (@emailKey, @email, @createdAt) ON CONFLICT (email_key) DO NOTHING',
      ).run({
        emailKey: admin.emailKey,
        email: admin.email,
        createdAt: admin.createdAt,
      });
      return Promise.resolve();
    },
    async findAdmin(emailKey) {
      const row = sql('SELECT email_key, email, created_at FROM admins WHERE email_key = @emailKey').get({ emailKey }) as
        AdminRow | undefined;
      return Promise.resolve(row ? toAdmin(row) : null);
    },
    async listAdmins() {
      const rows = sql('SELECT email_key, email, created_at FROM admins ORDER BY created_at, email_key').all() as AdminRow[];
      return Promise.resolve(rows.map(toAdmin));
    },
    async removeAdmin(emailKey) {
      return Promise.resolve(removeAdmin.immediate(emailKey));
    },

    async createAdminSession(session) {
      sql(
        'INSERT INTO admin_sessions (id_hash, email_key, created_at, expires_at) VALUES (@idHash, @emailKey, @createdAt, @expiresAt)',
      ).run({
        idHash: session.idHash,
        emailKey: session.emailKey,
        createdAt: session.createdAt,
        expiresAt: session.expiresAt,
      });
      return Promise.resolve();
    },
    async findAdminSession(idHash, now) {
      // Valid while now < expiresAt, and only while its admin exists.
      const row = sql(
        `SELECT s.id_hash, s.email_key, s.created_at, s.expires_at FROM admin_sessions s
         JOIN admins a ON a.email_key = s.email_key
         WHERE s.id_hash = @idHash AND s.expires_at > @now`,
      ).get({ idHash, now }) as AdminSessionRow | undefined;
      return Promise.resolve(row ? toAdminSession(row) : null);
    },
    async deleteAdminSession(idHash) {
      sql('DELETE FROM admin_sessions WHERE id_hash = @idHash').run({ idHash });
      return Promise.resolve();
    },
  };
}
