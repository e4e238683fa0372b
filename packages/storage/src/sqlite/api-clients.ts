/**
 * The SQLite store's API clients. Each change and its audit entry share one `BEGIN IMMEDIATE`
 * transaction. `findApiClient` goes through the config read cache (./config-cache.ts): its
 * triggers on `api_clients` empty it as any of these writes lands, so a rotation, a send-limit
 * change or a revocation is never answered from a stale memo.
 */
import type { ApiClientRecord, ApiClients, NewAuditEntry } from '@sesame/core';
import { CLIENT_REVOKED_DETAIL } from '../revoked-client.js';
import { API_CLIENT_COLUMNS, toApiClient, type ApiClientRow } from '../rows.js';
import { auditWriter } from './audit.js';
import type { SqliteContext } from './context.js';
import { attemptOf, outboxWrites } from './outbox-writes.js';

export function sqliteApiClients(ctx: SqliteContext): ApiClients {
  const { get, all, run, immediate, memo } = ctx;
  const insertAudit = auditWriter(ctx);
  const { appendEvent } = outboxWrites(ctx);

  const createClient = immediate((client: ApiClientRecord, audit?: NewAuditEntry): void => {
    run(
      `INSERT INTO api_clients (id, name, secret_hash, redirect_uris, created_at, revoked_at, last_used_at, secret_version, sends_per_minute)
       VALUES (@id, @name, @secretHash, @redirectUris, @createdAt, @revokedAt, @lastUsedAt, @secretVersion, @sendsPerMinute)`,
      {
        id: client.id,
        name: client.name,
        secretHash: client.secretHash,
        redirectUris: JSON.stringify(client.redirectUris),
        createdAt: client.createdAt,
        revokedAt: client.revokedAt,
        lastUsedAt: client.lastUsedAt,
        secretVersion: client.secretVersion,
        sendsPerMinute: client.sendsPerMinute,
      },
    );
    insertAudit(audit);
  });

  const revoke = immediate((id: string, now: number, audit?: NewAuditEntry): boolean => {
    const revoked = run('UPDATE api_clients SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL', { id, now }).changes > 0;
    if (!revoked) return false;
    // Its queued emails (leased ones included: a worker holding one is refused at its attempt)
    // are failed, not delivered. The queued-only index keeps this to the backlog's size.
    const failed = all(
      `UPDATE outbox SET status = 'failed', sealed_payload = NULL, lease_owner = NULL, lease_until = NULL
       WHERE status = 'queued' AND EXISTS (SELECT 1 FROM auth_requests a WHERE a.id = outbox.auth_request_id AND a.client_id = @id)
       RETURNING id, auth_request_id, attempts`,
      { id },
    ) as { id: string; auth_request_id: string; attempts: number }[];
    for (const row of failed) appendEvent(row.id, row.auth_request_id, now, 'failed', attemptOf(row.attempts), CLIENT_REVOKED_DETAIL);
    insertAudit(audit);
    return true;
  });

  const rotate = immediate((id: string, secretHash: string, audit?: NewAuditEntry): number | null => {
    const row = get(
      `UPDATE api_clients SET secret_hash = @secretHash, secret_version = secret_version + 1
       WHERE id = @id AND revoked_at IS NULL RETURNING secret_version`,
      { id, secretHash },
    ) as { secret_version: number } | undefined;
    if (!row) return null;
    insertAudit(audit);
    return row.secret_version;
  });

  const setSendLimit = immediate((id: string, sendsPerMinute: number | null, audit?: NewAuditEntry): boolean => {
    const changed =
      run('UPDATE api_clients SET sends_per_minute = @sendsPerMinute WHERE id = @id AND revoked_at IS NULL', { id, sendsPerMinute })
        .changes > 0;
    if (changed) insertAudit(audit);
    return changed;
  });

  return {
    async createApiClient(client, audit) {
      createClient(client, audit);
      return Promise.resolve();
    },
    async findApiClient(id) {
      return Promise.resolve(
        memo.read(`client:${id}`, () => {
          const row = get(`SELECT ${API_CLIENT_COLUMNS} FROM api_clients WHERE id = @id`, { id }) as ApiClientRow | undefined;
          if (!row) return null;
          // Frozen: every caller shares the memoised record.
          const client = toApiClient(row);
          return Object.freeze({ ...client, redirectUris: Object.freeze(client.redirectUris.map((rule) => Object.freeze(rule))) });
        }),
      );
    },
    async listApiClients() {
      const rows = all(`SELECT ${API_CLIENT_COLUMNS} FROM api_clients ORDER BY created_at, id`) as ApiClientRow[];
      return Promise.resolve(rows.map(toApiClient));
    },
    async revokeApiClient(id, now, audit) {
      return Promise.resolve(revoke(id, now, audit));
    },
    async updateApiClientSecret(id, secretHash, audit) {
      return Promise.resolve(rotate(id, secretHash, audit));
    },
    async rehashApiClientSecret(id, fromHash, toHash) {
      // Same secret, same version: not a change an operator made, so no audit entry.
      const changed = run(
        'UPDATE api_clients SET secret_hash = @toHash WHERE id = @id AND secret_hash = @fromHash AND revoked_at IS NULL',
        { id, fromHash, toHash },
      ).changes;
      return Promise.resolve(changed > 0);
    },
    async updateApiClientSendLimit(id, sendsPerMinute, audit) {
      return Promise.resolve(setSendLimit(id, sendsPerMinute, audit));
    },
    async touchApiClient(id, now) {
      run('UPDATE api_clients SET last_used_at = @now WHERE id = @id', { id, now });
      return Promise.resolve();
    },
  };
}
