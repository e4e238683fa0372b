/**
 * API clients on PostgreSQL. A change and its audit entry commit together; a revocation fails
 * the client's queued emails in the same transaction.
 */
import type { ApiClients, NewAuditEntry } from '@sesame/core';
import { CLIENT_REVOKED_DETAIL } from '../revoked-client.js';
import { API_CLIENT_COLUMNS, toApiClient, type ApiClientRow } from '../rows.js';
import { insertAudit } from './activity.js';
import { unstorable, type Session } from './session.js';
import type { Runners } from './transactions.js';

export function postgresApiClients(db: Runners): ApiClients {
  /**
   * A change to one client and its audit entry in one transaction. `change` answers `unchanged`
   * when there was no such active client: nothing is audited then.
   */
  async function auditedChange<T>(
    id: string,
    unchanged: T,
    audit: NewAuditEntry | undefined,
    change: (s: Session) => Promise<T>,
  ): Promise<T> {
    if (unstorable(id)) return unchanged;
    return db.transaction(async (s) => {
      const result = await change(s);
      if (result !== unchanged) await insertAudit(s, audit);
      return result;
    });
  }

  return {
    async createApiClient(client, audit) {
      await db.transaction(async (s) => {
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
      const [row] = await db.read((s) => s.rows<ApiClientRow>(`SELECT ${API_CLIENT_COLUMNS} FROM api_clients WHERE id = $1::text`, [id]));
      return row ? toApiClient(row) : null;
    },
    async listApiClients() {
      const rows = await db.read((s) => s.rows<ApiClientRow>(`SELECT ${API_CLIENT_COLUMNS} FROM api_clients ORDER BY created_at, id`));
      return rows.map(toApiClient);
    },
    revokeApiClient: (id, now, audit) =>
      auditedChange(id, false, audit, async (s) => {
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
        return true;
      }),
    updateApiClientSecret: (id, secretHash, audit) =>
      auditedChange(id, null, audit, async (s) => {
        const [row] = await s.rows<{ secret_version: number }>(
          `UPDATE api_clients SET secret_hash = $2::text, secret_version = secret_version + 1
           WHERE id = $1::text AND revoked_at IS NULL RETURNING secret_version`,
          [id, secretHash],
        );
        return row ? row.secret_version : null;
      }),
    // Same secret, same version: not a change an operator made, so no audit entry.
    async rehashApiClientSecret(id, fromHash, toHash) {
      if (unstorable(id)) return false;
      const changed = await db.write((s) =>
        s.count('UPDATE api_clients SET secret_hash = $3::text WHERE id = $1::text AND secret_hash = $2::text AND revoked_at IS NULL', [
          id,
          fromHash,
          toHash,
        ]),
      );
      return changed > 0;
    },
    updateApiClientSendLimit: (id, sendsPerMinute, audit) =>
      auditedChange(id, false, audit, async (s) => {
        const changed = await s.count('UPDATE api_clients SET sends_per_minute = $2::integer WHERE id = $1::text AND revoked_at IS NULL', [
          id,
          sendsPerMinute,
        ]);
        return changed > 0;
      }),
    async touchApiClient(id, now) {
      if (unstorable(id)) return;
      await db.write((s) => s.count('UPDATE api_clients SET last_used_at = $2::bigint WHERE id = $1::text', [id, now]));
    },
  };
}
