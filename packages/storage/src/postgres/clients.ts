/**
 * The PostgreSQL store's API clients, admins and admin sessions: the SQLite ones
 * (../sqlite/clients.ts) in this dialect. A change and its audit entry commit together; a
 * revocation fails the client's queued emails in the same transaction.
 */
import type { NewAuditEntry } from '@sesame/core';
import {
  API_CLIENT_COLUMNS,
  toAdmin,
  toAdminSession,
  toApiClient,
  type AdminRow,
  type AdminSessionRow,
  type ApiClientRow,
} from '../rows.js';
import type { AdminRunners, AdminSession } from './admin.js';
import { CLIENT_REVOKED_DETAIL, type ClientMethods } from '../client-methods.js';

/** PostgreSQL text cannot hold NUL: no row has such a key, as on SQLite. */
const unstorable = (key: string): boolean => key.includes('\u0000');

async function insertAudit(s: AdminSession, audit: NewAuditEntry | undefined): Promise<void> {
  if (!audit) return;
  await s.count(
    `INSERT INTO audit_log (at, actor, action, before_json, after_json) VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::text)`,
    [audit.at, audit.actor, audit.action, audit.before, audit.after],
  );
}

export function postgresClientMethods(runners: AdminRunners): ClientMethods {
  const read = <T>(work: (s: AdminSession) => Promise<T>): Promise<T> => runners.read(work);
  const write = <T>(work: (s: AdminSession) => Promise<T>): Promise<T> => runners.write(work);
  const transaction = <T>(work: (s: AdminSession) => Promise<T>): Promise<T> => runners.transaction(work);
  return {
    async createApiClient(client, audit) {
      await transaction(async (s) => {
        await s.count(
          `INSERT INTO api_clients (id, name, secret_hash, redirect_uris, created_at, revoked_at, last_used_at, secret_version, sends_per_minute)
           VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, $7::bigint, $8::integer, $9::integer)`,
          [
            client.id,
            client.name,
            client.secretHash,
            JSON.stringify(client.redirectUris),
            client.createdAt,
            client.revokedAt,
            client.lastUsedAt,
            client.secretVersion,
            client.sendsPerMinute,
          ],
        );
        await insertAudit(s, audit);
      });
    },
    async findApiClient(id) {
      if (unstorable(id)) return null;
      const [row] = await read((s) => s.rows<ApiClientRow>(`SELECT ${API_CLIENT_COLUMNS} FROM api_clients WHERE id = $1::text`, [id]));
      return row ? toApiClient(row) : null;
    },
    async listApiClients() {
      const rows = await read((s) => s.rows<ApiClientRow>(`SELECT ${API_CLIENT_COLUMNS} FROM api_clients ORDER BY created_at, id`));
      return rows.map(toApiClient);
    },
    async revokeApiClient(id, now, audit) {
      if (unstorable(id)) return false;
      return transaction(async (s) => {
        // The client's row lock first: a concurrent revoke waits here and then finds nothing to do.
        const revoked = await s.count('UPDATE api_clients SET revoked_at = $2::bigint WHERE id = $1::text AND revoked_at IS NULL', [
          id,
          now,
        ]);
        if (revoked === 0) return false;
        // Its queued emails (leased ones included: a worker holding one is refused at its
        // attempt) are failed, not delivered, each with the reason on its timeline.
        await s.count(
          `WITH failed AS (
             UPDATE outbox o SET status = 'failed', sealed_payload = NULL, lease_owner = NULL, lease_until = NULL
             FROM auth_requests a
             WHERE o.status = 'queued' AND a.id = o.auth_request_id AND a.client_id = $1::text
             RETURNING o.id, o.auth_request_id, o.attempts)
           INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind, attempt, detail)
           SELECT id, auth_request_id, $2::bigint, 'failed', CASE WHEN attempts > 0 THEN attempts END, $3::text FROM failed`,
          [id, now, CLIENT_REVOKED_DETAIL],
        );
        await insertAudit(s, audit);
        return true;
      });
    },
    async updateApiClientSecret(id, secretHash, audit) {
      if (unstorable(id)) return null;
      return transaction(async (s) => {
        const [row] = await s.rows<{ secret_version: number }>(
          `UPDATE api_clients SET secret_hash = $2::text, secret_version = secret_version + 1
           WHERE id = $1::text AND revoked_at IS NULL RETURNING secret_version`,
          [id, secretHash],
        );
        if (!row) return null;
        await insertAudit(s, audit);
        return row.secret_version;
      });
    },
    async updateApiClientSendLimit(id, sendsPerMinute, audit) {
      if (unstorable(id)) return false;
      return transaction(async (s) => {
        const changed = await s.count('UPDATE api_clients SET sends_per_minute = $2::integer WHERE id = $1::text AND revoked_at IS NULL', [
          id,
          sendsPerMinute,
        ]);
        if (changed === 0) return false;
        await insertAudit(s, audit);
        return true;
      });
    },
    async touchApiClient(id, now) {
      if (unstorable(id)) return;
      await write((s) => s.count('UPDATE api_clients SET last_used_at = $2::bigint WHERE id = $1::text', [id, now]));
    },

    async addAdmin(admin) {
      await write((s) =>
        s.count(
          'INSERT INTO admins (email_key, email, created_at) VALUES ($1::text, $2::text, $3::bigint) ON CONFLICT (email_key) DO NOTHING',
          [admin.emailKey, admin.email, admin.createdAt],
        ),
      );
    },
    async findAdmin(emailKey) {
      if (unstorable(emailKey)) return null;
      const [row] = await read((s) =>
        s.rows<AdminRow>('SELECT email_key, email, created_at FROM admins WHERE email_key = $1::text', [emailKey]),
      );
      return row ? toAdmin(row) : null;
    },
    async listAdmins() {
      const rows = await read((s) => s.rows<AdminRow>('SELECT email_key, email, created_at FROM admins ORDER BY created_at, email_key'));
      return rows.map(toAdmin);
    },
    async removeAdmin(emailKey) {
      if (unstorable(emailKey)) return false;
      return transaction(async (s) => {
        await s.count('DELETE FROM admin_sessions WHERE email_key = $1::text', [emailKey]);
        return (await s.count('DELETE FROM admins WHERE email_key = $1::text', [emailKey])) > 0;
      });
    },

    async createAdminSession(session) {
      await write((s) =>
        s.count(
          'INSERT INTO admin_sessions (id_hash, email_key, created_at, expires_at) VALUES ($1::text, $2::text, $3::bigint, $4::bigint)',
          [session.idHash, session.emailKey, session.createdAt, session.expiresAt],
        ),
      );
    },
    async findAdminSession(idHash, now) {
      if (unstorable(idHash)) return null;
      // Valid while now < expiresAt, and only while its admin exists.
      const [row] = await read((s) =>
        s.rows<AdminSessionRow>(
          `SELECT s.id_hash, s.email_key, s.created_at, s.expires_at FROM admin_sessions s
           JOIN admins a ON a.email_key = s.email_key
           WHERE s.id_hash = $1::text AND s.expires_at > $2::bigint`,
          [idHash, now],
        ),
      );
      return row ? toAdminSession(row) : null;
    },
    async deleteAdminSession(idHash) {
      if (unstorable(idHash)) return;
      await write((s) => s.count('DELETE FROM admin_sessions WHERE id_hash = $1::text', [idHash]));
    },
  };
}
