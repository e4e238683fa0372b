/**
 * Auth requests on PostgreSQL. Every guarantee is decided inside the database, so any number of
 * instances agree:
 *
 * - Single use and attempt caps: one guarded `UPDATE … RETURNING` per verify. Under READ
 *   COMMITTED a racing UPDATE waits for the row and re-checks its WHERE on the committed version,
 *   so two verifies of one code yield one success and concurrent wrong codes stop at the cap.
 * - Per-address windows and send budgets: checked and counted under locks held to the end of the
 *   transaction (./send-limits.ts).
 *
 * Lock order is always address lock, then auth request row, then outbox rows, so these
 * transactions cannot deadlock one another; the rare deadlock with a sweep is retried.
 */
import type {
  AuthRequests,
  ConsumeLinkCommand,
  ConsumeOtpCommand,
  ConsumeResult,
  CreateAuthRequestCommand,
  LimitResult,
  ReissueCommand,
  ReissueResult,
  SweepCommand,
  SweepResult,
} from '@sesame/core';
import { SEND_BUDGET_RETENTION_MS } from '../budgets.js';
import { OTP_FAILURE_RETENTION_MS, SEND_LOG_RETENTION_MS } from '../retention.js';
import { AUTH_REQUEST_COLUMNS, toRecord, unusableOutcome, type AuthRequestRow } from '../rows.js';
import { countBudgets, lockAddress, windowRetryAfter, withinBudgets } from './send-limits.js';
import { unstorable, type Session } from './session.js';
import type { Runners } from './transactions.js';

/** The request, when `clientId` created it: another client's request is, to it, not there. */
async function findRow(s: Session, id: string, clientId: string | null = null, lock = false): Promise<AuthRequestRow | undefined> {
  if (unstorable(id) || (clientId !== null && unstorable(clientId))) return undefined;
  const [row] = await s.rows<AuthRequestRow>(
    `SELECT ${AUTH_REQUEST_COLUMNS} FROM auth_requests WHERE id = $1::text AND ($2::text IS NULL OR client_id = $2::text)${lock ? ' FOR NO KEY UPDATE' : ''}`,
    [id, clientId],
  );
  return row;
}

export function postgresAuthRequests(db: Runners): AuthRequests {
  async function createAuthRequest(command: CreateAuthRequestCommand): Promise<LimitResult> {
    const { request, email, sendLimit, budgets, now } = command;
    if (email.authRequestId !== request.id) throw new Error('The outbox email must belong to the auth request it is created with.');
    return withinBudgets<LimitResult>(
      () =>
        db.transaction(async (s): Promise<LimitResult> => {
          await lockAddress(s, request.emailKey);
          const retryAfterMs = await windowRetryAfter(s, 'send', request.emailKey, sendLimit, now);
          if (retryAfterMs !== null) return { ok: false, retryAfterMs, scope: 'address' };
          await countBudgets(s, budgets, now);
          // The request, its email and the email's first event: one statement. The send counts
          // toward the limit through the request's own row (./send-limits.ts).
          await s.count(
            `WITH request AS (
           INSERT INTO auth_requests (id, client_id, email, email_key, template, type, magiclink_auth_uri, state,
             template_variables, otp_hash, link_token_hash, link_lookup, created_at, expires_at, attempts, sends, status)
           VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
             $9::text, $10::bytea, $11::bytea, $12::bytea, $13::bigint, $14::bigint, 0, 1, 'pending')
           RETURNING id),
         email AS (
           INSERT INTO outbox (id, auth_request_id, status, sealed_payload, attempts, created_at, next_attempt_at, lease_owner, lease_until)
           SELECT $15::text, id, 'queued', $16::bytea, 0, $17::bigint, $18::bigint, $19::text, $20::bigint FROM request
           RETURNING id, auth_request_id)
         INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind) SELECT id, auth_request_id, $18::bigint, 'queued' FROM email`,
            [
              request.id,
              request.clientId,
              request.email,
              request.emailKey,
              request.template,
              request.type,
              request.magiclinkAuthUri,
              request.state,
              JSON.stringify(request.templateVariables),
              request.otpHash,
              request.linkTokenHash,
              request.linkLookup,
              request.createdAt,
              request.expiresAt,
              email.id,
              email.sealedPayload,
              email.createdAt,
              now,
              email.lease?.owner ?? null,
              email.lease?.until ?? null,
            ],
          );
          return { ok: true };
        }),
      (refused) => ({ ok: false, retryAfterMs: refused.retryAfterMs, scope: refused.scope }),
    );
  }

  async function consumeWithOtp(command: ConsumeOtpCommand): Promise<ConsumeResult> {
    const { id, clientId, otpHash, now, maxAttempts, addressFailureLimit } = command;
    if (unstorable(id) || unstorable(clientId)) return { outcome: 'not_found' };
    return db.transaction(async (s): Promise<ConsumeResult> => {
      // Finds the address and locks it in one round trip (email_key never changes). Another
      // client's request is not found: no lock, no attempt, no failure counted.
      const [owner] = await s.rows<{ email_key: string }>(
        `SELECT email_key, pg_advisory_xact_lock(hashtextextended('sesame:address:' || email_key, 0))::text AS locked
         FROM auth_requests WHERE id = $1::text AND client_id = $2::text`,
        [id, clientId],
      );
      if (!owner) return { outcome: 'not_found' };
      const retryAfterMs = await windowRetryAfter(s, 'otpFailure', owner.email_key, addressFailureLimit, now);
      if (retryAfterMs !== null) return { outcome: 'address_limited', retryAfterMs };

      // One statement decides: it consumes on a match, or counts the failure (and locks at the cap)
      // in SQL, and logs the failure against the address. Every SET expression sees the row as it
      // was before this UPDATE; a racing UPDATE re-checks the WHERE on the committed row.
      // `otp_hash = $2` is NULL, so false, for a request without a code. Comparing keyed digests
      // leaks nothing usable: an attacker cannot choose the digest's bytes without the secret.
      // Fallback-secret digests (rotation) widen the match; without them the statement is the usual one.
      const fallbacks = command.otpHashFallbacks ?? [];
      const matches = fallbacks.length === 0 ? 'otp_hash = $2::bytea' : '(otp_hash = $2::bytea OR otp_hash = ANY($6::bytea[]))';
      const [updated] = await s.rows<AuthRequestRow>(
        `WITH updated AS (
           UPDATE auth_requests SET
             consumed_at = CASE WHEN ${matches} THEN $3::bigint ELSE consumed_at END,
             status = CASE WHEN ${matches} THEN 'verified'
                           WHEN attempts + 1 >= $4::integer THEN 'locked'
                           ELSE status END,
             attempts = CASE WHEN ${matches} THEN attempts ELSE attempts + 1 END
           WHERE id = $1::text AND client_id = $5::text
             AND consumed_at IS NULL AND status = 'pending' AND expires_at > $3::bigint AND attempts < $4::integer
           RETURNING ${AUTH_REQUEST_COLUMNS}),
         failure AS (
           INSERT INTO otp_failures (email_key, at) SELECT email_key, $3::bigint FROM updated WHERE status <> 'verified')
         SELECT * FROM updated`,
        fallbacks.length === 0 ? [id, otpHash, now, maxAttempts, clientId] : [id, otpHash, now, maxAttempts, clientId, fallbacks],
      );
      if (updated) {
        if (updated.status === 'verified') return { outcome: 'verified', request: toRecord(updated, now) };
        return { outcome: 'invalid_credential', attemptsLeft: Math.max(0, maxAttempts - updated.attempts) };
      }
      // A fresh statement sees what beat us. Every way out of 'pending' is final and attempts only
      // grow, so a request the UPDATE refused is still refused here.
      const terminal = unusableOutcome(await findRow(s, id, clientId), now, maxAttempts);
      if (terminal === null) throw new Error(`Auth request ${id} matched no consume condition yet is usable.`);
      return { outcome: terminal };
    });
  }

  async function consumeWithLink(command: ConsumeLinkCommand): Promise<ConsumeResult> {
    const { id, clientId, linkTokenHash, now, maxAttempts } = command;
    if (unstorable(id) || unstorable(clientId)) return { outcome: 'not_found' };
    return db.write(async (s): Promise<ConsumeResult> => {
      const [updated] = await s.rows<AuthRequestRow>(
        `UPDATE auth_requests SET consumed_at = $3::bigint, status = 'verified'
         WHERE id = $1::text AND client_id = $5::text AND link_token_hash = $2::bytea
           AND consumed_at IS NULL AND status = 'pending' AND expires_at > $3::bigint AND attempts < $4::integer
         RETURNING ${AUTH_REQUEST_COLUMNS}`,
        [id, linkTokenHash, now, maxAttempts, clientId],
      );
      if (updated) return { outcome: 'verified', request: toRecord(updated, now) };
      const row = await findRow(s, id, clientId);
      const terminal = unusableOutcome(row, now, maxAttempts);
      if (terminal !== null) return { outcome: terminal };
      // Still usable, so the digest differed. A wrong link burns nothing: attempts count codes only.
      return { outcome: 'invalid_credential', attemptsLeft: Math.max(0, maxAttempts - (row?.attempts ?? 0)) };
    });
  }

  async function reissueCredentials(command: ReissueCommand): Promise<ReissueResult> {
    const { id, clientId, digests, email, sendLimit, budgets, now } = command;
    if (email.authRequestId !== id) throw new Error('The outbox email must belong to the auth request it is reissued for.');
    if (unstorable(id) || unstorable(clientId)) return { outcome: 'not_found' };
    return withinBudgets<ReissueResult>(
      () =>
        db.transaction(async (s): Promise<ReissueResult> => {
          const [owner] = await s.rows<{ email_key: string }>(
            'SELECT email_key FROM auth_requests WHERE id = $1::text AND client_id = $2::text',
            [id, clientId],
          );
          if (!owner) return { outcome: 'not_found' };
          await lockAddress(s, owner.email_key);
          // Address first, then the row (the order every transaction uses): nothing can finish the
          // request between this classification and the UPDATE below.
          const row = await findRow(s, id, clientId, true);
          // A finished request answers as finished, whatever the send limit says: no send is counted.
          const terminal = unusableOutcome(row, now, Number.POSITIVE_INFINITY);
          if (terminal !== null || !row) return { outcome: terminal ?? 'not_found' };
          const retryAfterMs = await windowRetryAfter(s, 'send', row.email_key, sendLimit, now);
          if (retryAfterMs !== null) return { outcome: 'send_limited', retryAfterMs, scope: 'address' };
          await countBudgets(s, budgets, now);

          // New credentials, and the old email carries dead ones: never deliver it, drop its sealed copy.
          const [updated] = await s.rows<AuthRequestRow>(
            `WITH updated AS (
           UPDATE auth_requests SET otp_hash = $2::bytea, link_token_hash = $3::bytea, link_lookup = $4::bytea, sends = sends + 1
           WHERE id = $1::text AND client_id = $6::text AND consumed_at IS NULL AND status = 'pending' AND expires_at > $5::bigint
           RETURNING ${AUTH_REQUEST_COLUMNS}),
         superseded AS (
           UPDATE outbox SET status = 'superseded', sealed_payload = NULL, lease_owner = NULL, lease_until = NULL
           WHERE auth_request_id = $1::text AND status = 'queued' AND EXISTS (SELECT 1 FROM updated)
           RETURNING id),
         events AS (
           INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind) SELECT id, $1::text, $5::bigint, 'superseded' FROM superseded)
         SELECT * FROM updated`,
            [id, digests.otpHash, digests.linkTokenHash, digests.linkLookup, now, clientId],
          );
          if (!updated) throw new Error(`Auth request ${id} was usable but could not be reissued.`);
          // A statement of its own, so the new email's 'queued' event follows the 'superseded' ones.
          await s.count(
            `WITH email AS (
           INSERT INTO outbox (id, auth_request_id, status, sealed_payload, attempts, created_at, next_attempt_at, lease_owner, lease_until)
           VALUES ($1::text, $2::text, 'queued', $3::bytea, 0, $4::bigint, $5::bigint, $7::text, $8::bigint)
           RETURNING id, auth_request_id),
         queued AS (
           INSERT INTO delivery_events (outbox_id, auth_request_id, at, kind) SELECT id, auth_request_id, $5::bigint, 'queued' FROM email)
         INSERT INTO send_log (email_key, at) VALUES ($6::text, $5::bigint)`,
            [
              email.id,
              id,
              email.sealedPayload,
              email.createdAt,
              now,
              updated.email_key,
              email.lease?.owner ?? null,
              email.lease?.until ?? null,
            ],
          );
          return { outcome: 'reissued', request: toRecord(updated, now) };
        }),
      (refused) => ({ outcome: 'send_limited', retryAfterMs: refused.retryAfterMs, scope: refused.scope }),
    );
  }

  async function sweepExpired(command: SweepCommand): Promise<SweepResult> {
    const batchSize = Math.max(0, Math.trunc(command.batchSize));
    const sendLogBefore = command.sendLogBefore ?? command.now - SEND_LOG_RETENTION_MS;
    return db.transaction(async (s) => {
      // SKIP LOCKED: sweepers of several instances take disjoint batches and never wait on each other.
      const ids = (
        await s.rows<{ id: string }>(
          // A request created within a send window still counts toward the limit: it stays.
          `SELECT id FROM auth_requests WHERE expires_at < $1::bigint AND created_at < $3::bigint
           ORDER BY expires_at LIMIT $2::bigint FOR UPDATE SKIP LOCKED`,
          [command.expiredBefore, batchSize, sendLogBefore],
        )
      ).map((row) => row.id);
      // Their outbox rows and delivery events go with them (ON DELETE CASCADE).
      if (ids.length > 0) await s.count('DELETE FROM auth_requests WHERE id = ANY($1::text[])', [ids]);
      const sendLog = await s.count(
        'DELETE FROM send_log WHERE ctid = ANY (ARRAY(SELECT ctid FROM send_log WHERE at < $1::bigint LIMIT $2::bigint))',
        [sendLogBefore, batchSize],
      );
      const otpFailures = await s.count(
        'DELETE FROM otp_failures WHERE ctid = ANY (ARRAY(SELECT ctid FROM otp_failures WHERE at < $1::bigint LIMIT $2::bigint))',
        [command.otpFailuresBefore ?? command.now - OTP_FAILURE_RETENTION_MS, batchSize],
      );
      // Budget windows over for a day, and admin sessions past their expiry: neither is read again.
      await s.count(
        `DELETE FROM send_budget WHERE (key, window_start) IN
           (SELECT key, window_start FROM send_budget WHERE window_end < $1::bigint LIMIT $2::bigint FOR UPDATE SKIP LOCKED)`,
        [command.now - SEND_BUDGET_RETENTION_MS, batchSize],
      );
      await s.count(
        'DELETE FROM admin_sessions WHERE id_hash IN (SELECT id_hash FROM admin_sessions WHERE expires_at <= $1::bigint LIMIT $2::bigint)',
        [command.now, batchSize],
      );
      return { authRequests: ids.length, sendLog, otpFailures };
    });
  }

  return {
    createAuthRequest,
    async findAuthRequest(id, now) {
      const row = await db.read((s) => findRow(s, id));
      return row ? toRecord(row, now) : null;
    },
    async findAuthRequestByLinkLookup(linkLookup, now) {
      const [row] = await db.read((s) =>
        s.rows<AuthRequestRow>(`SELECT ${AUTH_REQUEST_COLUMNS} FROM auth_requests WHERE link_lookup = $1::bytea`, [linkLookup]),
      );
      return row ? toRecord(row, now) : null;
    },
    consumeWithOtp,
    consumeWithLink,
    reissueCredentials,
    sweepExpired,
  };
}
