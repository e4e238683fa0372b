/**
 * The SQLite store's outbox: claims under a lease, the worker's steps on a claimed email, and
 * the delivery timeline. Writes are group-committed (./group-commit.ts).
 */
import type { ClaimOutboxCommand, Outbox, OutboxClaim, OutboxRetryCommand, OutboxSettleCommand } from '@sesame/core';
import { claimOrder, toDeliveryEvent, toOutboxClaim } from '../rows.js';
import type { ClaimedOutboxRow, ClaimRequestRow, DeliveryEventRow } from '../rows.js';
import type { SqliteContext } from './context.js';
import { attemptOf, outboxWrites } from './outbox-writes.js';

/**
 * True, inside a statement on `outbox`, when the row's auth request belongs to a revoked client.
 * Revoking fails the client's queued emails in its own transaction; this also stops one queued
 * by a send that raced the revocation. Callers that are not API clients (the built-in admin
 * sign-in) have no `api_clients` row and are never revoked. Two primary-key lookups per row.
 */
const REVOKED_CLIENT = `EXISTS (SELECT 1 FROM auth_requests a JOIN api_clients c ON c.id = a.client_id
  WHERE a.id = outbox.auth_request_id AND c.revoked_at IS NOT NULL)`;

/** What a worker's step on one email returns: the row's request and attempts so far. */
type SteppedRow = { auth_request_id: string; attempts: number } | undefined;

export function sqliteOutbox(ctx: SqliteContext): Outbox {
  const { get, all, grouped } = ctx;
  const { appendEvent } = outboxWrites(ctx);

  const claimOutbox = grouped((command: ClaimOutboxCommand): OutboxClaim[] => {
    const { owner, now, leaseMs, limit } = command;
    // A live lease belongs to another worker; an expired one was abandoned and may be taken over.
    const rows = all(
      `UPDATE outbox SET lease_owner = @owner, lease_until = @leaseUntil
       WHERE id IN (
         SELECT id FROM outbox
         WHERE status = 'queued' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)
           AND NOT ${REVOKED_CLIENT}
         ORDER BY next_attempt_at, id
         LIMIT @limit)
       RETURNING id, auth_request_id, sealed_payload, attempts, created_at, next_attempt_at`,
      { owner, now, leaseUntil: now + leaseMs, limit: Math.max(0, Math.trunc(limit)) },
    ) as (ClaimedOutboxRow & { sealed_payload: Buffer | null })[];
    rows.sort(claimOrder);
    // The auth requests of the whole batch in one statement, not one lookup per row.
    const requests = new Map(
      (
        all(
          `SELECT id, email, template, type, magiclink_auth_uri, template_variables, expires_at, client_id
           FROM auth_requests WHERE id IN (SELECT value FROM json_each(@ids))`,
          { ids: JSON.stringify(rows.map((row) => row.auth_request_id)) },
        ) as (ClaimRequestRow & { id: string })[]
      ).map((request) => [request.id, request]),
    );
    return rows.map((row) => {
      const request = requests.get(row.auth_request_id);
      // outbox.auth_request_id references auth_requests (foreign keys on): it cannot be missing.
      if (!request) throw new Error(`Outbox row ${row.id} has no auth request.`);
      // A plain Uint8Array copy, so callers never hold a Node Buffer (or compare unequal to one).
      return toOutboxClaim(row, request, row.sealed_payload === null ? new Uint8Array() : Uint8Array.from(row.sealed_payload));
    });
  });

  // Completion calls succeed only for the worker named in `lease_owner`. An expired lease that no
  // one took over is still honoured: the email was handled, and refusing would resend it.

  const recordDeliveryAttempt = grouped((command: OutboxSettleCommand): boolean => {
    const row = get(
      `UPDATE outbox SET attempts = attempts + 1
       WHERE id = @id AND lease_owner = @owner AND status = 'queued' AND NOT ${REVOKED_CLIENT}
       RETURNING auth_request_id, attempts`,
      { id: command.id, owner: command.owner },
    ) as SteppedRow;
    if (!row) return false;
    appendEvent(command.id, row.auth_request_id, command.now, 'attempt', row.attempts, command.detail);
    return true;
  });

  const settleOutbox = grouped((command: OutboxSettleCommand, status: 'sent' | 'failed'): boolean => {
    const row = get(
      `UPDATE outbox SET status = @status, sealed_payload = NULL, lease_owner = NULL, lease_until = NULL
       WHERE id = @id AND lease_owner = @owner AND status = 'queued'
       RETURNING auth_request_id, attempts`,
      { id: command.id, owner: command.owner, status },
    ) as SteppedRow;
    if (!row) return false;
    appendEvent(command.id, row.auth_request_id, command.now, status, attemptOf(row.attempts), command.detail);
    return true;
  });

  const retryOutbox = grouped((command: OutboxRetryCommand): boolean => {
    const row = get(
      `UPDATE outbox SET next_attempt_at = @nextAttemptAt, lease_owner = NULL, lease_until = NULL
       WHERE id = @id AND lease_owner = @owner AND status = 'queued'
       RETURNING auth_request_id, attempts`,
      { id: command.id, owner: command.owner, nextAttemptAt: command.nextAttemptAt },
    ) as SteppedRow;
    if (!row) return false;
    appendEvent(command.id, row.auth_request_id, command.now, 'retry_scheduled', attemptOf(row.attempts), command.detail);
    return true;
  });

  return {
    async claimOutbox(command) {
      return claimOutbox(command);
    },
    async markOutboxSent(command) {
      return settleOutbox(command, 'sent');
    },
    async markOutboxFailed(command) {
      return settleOutbox(command, 'failed');
    },
    async markOutboxRetry(command) {
      return retryOutbox(command);
    },
    async recordDeliveryAttempt(command) {
      return recordDeliveryAttempt(command);
    },
    async deliveryTimeline(authRequestId) {
      const rows = all(
        `SELECT outbox_id, auth_request_id, at, kind, attempt, detail FROM delivery_events
         WHERE auth_request_id = @authRequestId ORDER BY at, seq`,
        { authRequestId },
      ) as DeliveryEventRow[];
      return Promise.resolve(rows.map(toDeliveryEvent));
    },
    async outboxDepth() {
      const row = get("SELECT count(*) AS n FROM outbox WHERE status = 'queued'") as { n: number };
      return Promise.resolve(row.n);
    },
    async oldestQueuedEmailAt() {
      const row = get("SELECT min(created_at) AS at FROM outbox WHERE status = 'queued'") as { at: number | null };
      return Promise.resolve(row.at);
    },
  };
}
