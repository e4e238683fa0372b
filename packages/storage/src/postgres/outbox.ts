/**
 * The outbox on PostgreSQL. Claims take rows with `FOR UPDATE SKIP LOCKED` plus a lease, so
 * workers never wait on each other and never share a row; an expired lease may be taken over.
 * Each state change writes its timeline event in the same statement.
 */
import type { ClaimOutboxCommand, Outbox, OutboxClaim, OutboxRetryCommand, OutboxSettleCommand } from '@sesame/core';
import { claimOrder, toDeliveryEvent, toOutboxClaim, type ClaimedOutboxRow, type ClaimRequestRow, type DeliveryEventRow } from '../rows.js';
import { unstorable, type Values } from './session.js';
import type { Runners } from './transactions.js';

/** A claimed outbox row joined with what its email is rendered from. */
interface ClaimRow extends ClaimedOutboxRow, ClaimRequestRow {
  sealed_payload: Uint8Array | null;
}

/**
 * True, inside a statement on `outbox`, when the row's auth request belongs to a revoked client.
 * Revoking fails the client's queued emails in its own transaction; this also stops one queued
 * by a send that raced the revocation. Callers that are not API clients (the built-in admin
 * sign-in) have no `api_clients` row and are never revoked.
 */
const REVOKED_CLIENT = `EXISTS (SELECT 1 FROM auth_requests a JOIN api_clients c ON c.id = a.client_id COLLATE "C"
  WHERE a.id = outbox.auth_request_id AND c.revoked_at IS NOT NULL)`;

export function postgresOutbox(db: Runners): Outbox {
  async function claimOutbox(command: ClaimOutboxCommand): Promise<OutboxClaim[]> {
    const { owner, now, leaseMs, limit } = command;
    const rows = await db.write((s) =>
      // A live lease belongs to another worker; an expired one was abandoned and may be taken
      // over. SKIP LOCKED: a row another claimer is taking right now is simply not ours.
      s.rows<ClaimRow>(
        `WITH picked AS (
             SELECT id FROM outbox
             WHERE status = 'queued' AND next_attempt_at <= $2::bigint AND (lease_until IS NULL OR lease_until <= $2::bigint)
               AND NOT ${REVOKED_CLIENT}
             ORDER BY next_attempt_at, id
             LIMIT $4::bigint
             FOR UPDATE SKIP LOCKED),
           claimed AS (
             UPDATE outbox SET lease_owner = $1::text, lease_until = $3::bigint
             FROM picked WHERE outbox.id = picked.id
             RETURNING outbox.id, outbox.auth_request_id, outbox.sealed_payload, outbox.attempts, outbox.created_at, outbox.next_attempt_at)
           SELECT claimed.*, a.email, a.template, a.type, a.magiclink_auth_uri, a.template_variables, a.expires_at, a.client_id
           FROM claimed JOIN auth_requests a ON a.id = claimed.auth_request_id`,
        [owner, now, now + leaseMs, Math.max(0, Math.trunc(limit))],
      ),
    );
    rows.sort(claimOrder);
    return rows.map((row) => toOutboxClaim(row, row, row.sealed_payload ?? new Uint8Array()));
  }

  /**
   * One statement that changes an email and records the change on its timeline: true when it
   * changed the row. Completion calls succeed only for the worker named in `lease_owner`; an
   * expired lease that no one took over is still honoured: the email was handled, and refusing
   * would resend it.
   */
  async function leaseHolderWrite(text: string, values: Values): Promise<boolean> {
    return (await db.write((s) => s.count(text, values))) > 0;
  }

  function recordDeliveryAttempt(command: OutboxSettleCommand): Promise<boolean> {
    return leaseHolderWrite(
      `WITH attempt AS (
             UPDATE outbox SET attempts = attempts + 1
             WHERE id = $1::text AND lease_owner = $2::text AND status = 'queued' AND NOT ${REVOKED_CLIENT}
             RETURNING id, auth_request_id, attempts)
           INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind, attempt, detail)
           SELECT id, auth_request_id, $3::bigint, 'attempt', attempts, $4::text FROM attempt`,
      [command.id, command.owner, command.now, command.detail],
    );
  }

  function settleOutbox(command: OutboxSettleCommand, status: 'sent' | 'failed'): Promise<boolean> {
    return leaseHolderWrite(
      `WITH settled AS (
             UPDATE outbox SET status = $3::text, sealed_payload = NULL, lease_owner = NULL, lease_until = NULL
             WHERE id = $1::text AND lease_owner = $2::text AND status = 'queued'
             RETURNING id, auth_request_id, attempts)
           INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind, attempt, detail)
           SELECT id, auth_request_id, $4::bigint, $3::text, CASE WHEN attempts > 0 THEN attempts END, $5::text FROM settled`,
      [command.id, command.owner, status, command.now, command.detail],
    );
  }

  function retryOutbox(command: OutboxRetryCommand): Promise<boolean> {
    return leaseHolderWrite(
      `WITH retried AS (
             UPDATE outbox SET next_attempt_at = $3::bigint, lease_owner = NULL, lease_until = NULL
             WHERE id = $1::text AND lease_owner = $2::text AND status = 'queued'
             RETURNING id, auth_request_id, attempts)
           INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind, attempt, detail)
           SELECT id, auth_request_id, $4::bigint, 'retry_scheduled', CASE WHEN attempts > 0 THEN attempts END, $5::text FROM retried`,
      [command.id, command.owner, command.nextAttemptAt, command.now, command.detail],
    );
  }

  return {
    claimOutbox,
    markOutboxSent: (command) => settleOutbox(command, 'sent'),
    markOutboxFailed: (command) => settleOutbox(command, 'failed'),
    markOutboxRetry: retryOutbox,
    recordDeliveryAttempt,
    async deliveryTimeline(authRequestId) {
      if (unstorable(authRequestId)) return [];
      const rows = await db.read((s) =>
        s.rows<DeliveryEventRow>(
          `SELECT outbox_id, auth_request_id, at, kind, attempt, detail FROM delivery_events
           WHERE auth_request_id = $1::text ORDER BY at, seq`,
          [authRequestId],
        ),
      );
      return rows.map(toDeliveryEvent);
    },
    async outboxDepth() {
      const [row] = await db.read((s) => s.rows<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE status = 'queued'"));
      return row?.n ?? 0;
    },
    async oldestQueuedEmailAt() {
      const [row] = await db.read((s) => s.rows<{ at: number | null }>("SELECT min(created_at) AS at FROM outbox WHERE status = 'queued'"));
      return row?.at ?? null;
    },
  };
}
