/**
 * The outbox writes that several roles make inside their own transactions: queueing an email
 * (a send, a resend) and appending to a request's delivery timeline (the outbox's steps, a
 * resend superseding an email, a revocation failing one).
 */
import type { DeliveryEventKind, NewOutboxEmail } from '@sesame/core';
import type { Statements } from './statements.js';

export function outboxWrites({ run }: Statements) {
  function appendEvent(
    outboxId: string,
    authRequestId: string,
    at: number,
    kind: DeliveryEventKind,
    attempt: number | null,
    detail: string | null,
  ): void {
    run(
      `INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind, attempt, detail)
       VALUES (@outboxId, @authRequestId, @at, @kind, @attempt, @detail)`,
      { outboxId, authRequestId, at, kind, attempt, detail },
    );
  }

  /** Queues `email` (already leased when it carries a lease) and records `queued`. */
  function insertOutbox(email: NewOutboxEmail, now: number): void {
    run(
      `INSERT INTO outbox (id, auth_request_id, status, sealed_payload, attempts, created_at, next_attempt_at, lease_owner, lease_until)
       VALUES (@id, @authRequestId, 'queued', @sealedPayload, 0, @createdAt, @now, @leaseOwner, @leaseUntil)`,
      {
        id: email.id,
        authRequestId: email.authRequestId,
        sealedPayload: email.sealedPayload,
        createdAt: email.createdAt,
        now,
        leaseOwner: email.lease?.owner ?? null,
        leaseUntil: email.lease?.until ?? null,
      },
    );
    appendEvent(email.id, email.authRequestId, now, 'queued', null, null);
  }

  return { insertOutbox, appendEvent };
}

/** The attempt number an event of a settled or rescheduled email carries: none before the first attempt. */
export function attemptOf(attempts: number): number | null {
  return attempts > 0 ? attempts : null;
}
