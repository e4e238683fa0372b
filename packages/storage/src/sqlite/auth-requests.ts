/**
 * The SQLite store's auth requests: send, verify, resend and the sweep. Every write is
 * group-committed (./group-commit.ts), so each runs under the write lock: a limit check and the
 * write it allows see the same database, and nothing changes between an UPDATE that matched no
 * row and the read that says why.
 */
import type { AuthRequests } from '@sesame/core';
import { SEND_BUDGET_RETENTION_MS } from '../budgets.js';
import { OTP_FAILURE_RETENTION_MS, SEND_LOG_RETENTION_MS } from '../retention.js';
import { AUTH_REQUEST_COLUMNS, toRecord, unusableOutcome, type AuthRequestRow } from '../rows.js';
import type { SqliteContext } from './context.js';
import { outboxWrites } from './outbox-writes.js';
import { sendLimits } from './send-limits.js';

/** What a method of the role takes and (once settled) returns: the signatures of the bodies below. */
type Command<K extends keyof AuthRequests> = Parameters<AuthRequests[K]>[0];
type Result<K extends keyof AuthRequests> = Awaited<ReturnType<AuthRequests[K]>>;

/** The consume-by-code UPDATE for a number of fallback digests, built once per count (the statement cache keys on its text). */
const consumeOtpStatements = new Map<number, string>();
function consumeOtpSql(fallbackCount: number): string {
  let sql = consumeOtpStatements.get(fallbackCount);
  if (sql === undefined) {
    const extra = Array.from({ length: fallbackCount }, (_, i) => `, @f${i}`).join('');
    const matches = fallbackCount === 0 ? 'otp_hash = @otpHash' : `otp_hash IN (@otpHash${extra})`;
    sql = `UPDATE auth_requests SET
         consumed_at = CASE WHEN ${matches} THEN @now ELSE consumed_at END,
         status = CASE WHEN ${matches} THEN 'verified'
                       WHEN attempts + 1 >= @maxAttempts THEN 'locked'
                       ELSE status END,
         attempts = CASE WHEN ${matches} THEN attempts ELSE attempts + 1 END
       WHERE id = @id AND client_id = @clientId AND consumed_at IS NULL AND status = 'pending' AND expires_at > @now AND attempts < @maxAttempts
       RETURNING ${AUTH_REQUEST_COLUMNS}`;
    consumeOtpStatements.set(fallbackCount, sql);
  }
  return sql;
}

export function sqliteAuthRequests(ctx: SqliteContext): AuthRequests {
  const { get, all, run, grouped } = ctx;
  const { windowRetryAfter, takeBudgets } = sendLimits(ctx);
  const { insertOutbox, appendEvent } = outboxWrites(ctx);

  /** The request when `clientId` created it: another client's request is, to it, not there. */
  function findOwnRow(id: string, clientId: string): AuthRequestRow | undefined {
    return get(`SELECT ${AUTH_REQUEST_COLUMNS} FROM auth_requests WHERE id = @id AND client_id = @clientId`, { id, clientId }) as
      AuthRequestRow | undefined;
  }

  const createAuthRequest = grouped((command: Command<'createAuthRequest'>): Result<'createAuthRequest'> => {
    const { request, email, sendLimit, budgets, now } = command;
    if (email.authRequestId !== request.id) throw new Error('The outbox email must belong to the auth request it is created with.');
    const retryAfterMs = windowRetryAfter('send', request.emailKey, sendLimit, now);
    if (retryAfterMs !== null) return { ok: false, retryAfterMs, scope: 'address' };
    const refused = takeBudgets(budgets, now);
    if (refused) return { ok: false, ...refused };
    run(
      `INSERT INTO auth_requests (id, client_id, email, email_key, template, type, magiclink_auth_uri, state,
         template_variables, otp_hash, link_token_hash, link_lookup, created_at, expires_at, attempts, sends, status)
       VALUES (@id, @clientId, @email, @emailKey, @template, @type, @magiclinkAuthUri, @state,
         @templateVariables, @otpHash, @linkTokenHash, @linkLookup, @createdAt, @expiresAt, 0, 1, 'pending')`,
      {
        id: request.id,
        clientId: request.clientId,
        email: request.email,
        emailKey: request.emailKey,
        template: request.template,
        type: request.type,
        magiclinkAuthUri: request.magiclinkAuthUri,
        state: request.state,
        templateVariables: JSON.stringify(request.templateVariables),
        otpHash: request.otpHash,
        linkTokenHash: request.linkTokenHash,
        linkLookup: request.linkLookup,
        createdAt: request.createdAt,
        expiresAt: request.expiresAt,
      },
    );
    // The send counts toward the address's limit through the request's own row (./send-limits.ts).
    insertOutbox(email, now);
    return { ok: true };
  });

  const consumeWithOtp = grouped((command: Command<'consumeWithOtp'>): Result<'consumeWithOtp'> => {
    const { id, clientId, otpHash, now, maxAttempts, addressFailureLimit } = command;
    const fallbacks = command.otpHashFallbacks ?? [];
    const owner = get('SELECT email_key FROM auth_requests WHERE id = @id AND client_id = @clientId', { id, clientId }) as
      { email_key: string } | undefined;
    if (!owner) return { outcome: 'not_found' };
    const retryAfterMs = windowRetryAfter('otpFailure', owner.email_key, addressFailureLimit, now);
    if (retryAfterMs !== null) return { outcome: 'address_limited', retryAfterMs };

    // One statement decides: it consumes on a match, or counts the failure (and locks at the cap)
    // in SQL. Every SET expression sees the row as it was before this UPDATE. `otp_hash = @otpHash`
    // is NULL, so false, for a request without a code. Comparing keyed digests with memcmp leaks
    // nothing usable: an attacker cannot choose the digest's bytes without the server secret.
    // Fallback-secret digests (rotation) widen the match; without them the statement is the usual one.
    const params: Record<string, unknown> = { id, clientId, otpHash, now, maxAttempts };
    fallbacks.forEach((hash, i) => (params[`f${i}`] = hash));
    const updated = get(consumeOtpSql(fallbacks.length), params) as AuthRequestRow | undefined;
    if (updated) {
      if (updated.status === 'verified') return { outcome: 'verified', request: toRecord(updated, now) };
      run('INSERT INTO otp_failures (email_key, at) VALUES (@emailKey, @now)', { emailKey: updated.email_key, now });
      return { outcome: 'invalid_credential', attemptsLeft: Math.max(0, maxAttempts - updated.attempts) };
    }
    const unusable = unusableOutcome(findOwnRow(id, clientId), now, maxAttempts);
    if (unusable === null) throw new Error(`Auth request ${id} matched no consume condition yet is usable.`);
    return { outcome: unusable };
  });

  const consumeWithLink = grouped((command: Command<'consumeWithLink'>): Result<'consumeWithLink'> => {
    const { id, clientId, linkTokenHash, now, maxAttempts } = command;
    const updated = get(
      `UPDATE auth_requests SET consumed_at = @now, status = 'verified'
       WHERE id = @id AND client_id = @clientId AND link_token_hash = @linkTokenHash
         AND consumed_at IS NULL AND status = 'pending' AND expires_at > @now AND attempts < @maxAttempts
       RETURNING ${AUTH_REQUEST_COLUMNS}`,
      { id, clientId, linkTokenHash, now, maxAttempts },
    ) as AuthRequestRow | undefined;
    if (updated) return { outcome: 'verified', request: toRecord(updated, now) };
    const row = findOwnRow(id, clientId);
    const unusable = unusableOutcome(row, now, maxAttempts);
    if (unusable !== null) return { outcome: unusable };
    // Still usable, so the digest differed. A wrong link burns nothing: attempts count codes only.
    return { outcome: 'invalid_credential', attemptsLeft: Math.max(0, maxAttempts - (row?.attempts ?? 0)) };
  });

  const reissueCredentials = grouped((command: Command<'reissueCredentials'>): Result<'reissueCredentials'> => {
    const { id, clientId, digests, email, sendLimit, budgets, now } = command;
    if (email.authRequestId !== id) throw new Error('The outbox email must belong to the auth request it is reissued for.');
    const row = findOwnRow(id, clientId);
    // A finished request answers as finished, whatever the send limit says: no send is counted.
    const unusable = unusableOutcome(row, now, Number.POSITIVE_INFINITY);
    if (unusable !== null || !row) return { outcome: unusable ?? 'not_found' };
    const retryAfterMs = windowRetryAfter('send', row.email_key, sendLimit, now);
    if (retryAfterMs !== null) return { outcome: 'send_limited', retryAfterMs, scope: 'address' };
    const refused = takeBudgets(budgets, now);
    if (refused) return { outcome: 'send_limited', ...refused };

    const updated = get(
      `UPDATE auth_requests SET otp_hash = @otpHash, link_token_hash = @linkTokenHash, link_lookup = @linkLookup,
         sends = sends + 1
       WHERE id = @id AND client_id = @clientId AND consumed_at IS NULL AND status = 'pending' AND expires_at > @now
       RETURNING ${AUTH_REQUEST_COLUMNS}`,
      { id, clientId, now, otpHash: digests.otpHash, linkTokenHash: digests.linkTokenHash, linkLookup: digests.linkLookup },
    ) as AuthRequestRow | undefined;
    if (!updated) throw new Error(`Auth request ${id} was usable but could not be reissued.`);

    // The old email carries dead credentials: never deliver it, and drop its sealed copy.
    const superseded = all(
      `UPDATE outbox SET status = 'superseded', sealed_payload = NULL, lease_owner = NULL, lease_until = NULL
       WHERE auth_request_id = @id AND status = 'queued'
       RETURNING id`,
      { id },
    ) as { id: string }[];
    for (const old of superseded) appendEvent(old.id, id, now, 'superseded', null, null);
    insertOutbox(email, now);
    run('INSERT INTO send_log (email_key, at) VALUES (@emailKey, @now)', { emailKey: updated.email_key, now });
    return { outcome: 'reissued', request: toRecord(updated, now) };
  });

  const sweepExpired = grouped((command: Command<'sweepExpired'>): Result<'sweepExpired'> => {
    const batchSize = Math.max(0, Math.trunc(command.batchSize));
    const sendLogBefore = command.sendLogBefore ?? command.now - SEND_LOG_RETENTION_MS;
    // A request created within a send window still counts toward the limit: it stays.
    const ids = (
      all(
        `SELECT id FROM auth_requests WHERE expires_at < @expiredBefore AND created_at < @sendLogBefore
         ORDER BY expires_at LIMIT @batchSize`,
        { expiredBefore: command.expiredBefore, sendLogBefore, batchSize },
      ) as { id: string }[]
    ).map((row) => row.id);
    if (ids.length > 0) {
      const list = { ids: JSON.stringify(ids) };
      run('DELETE FROM delivery_events WHERE auth_request_id IN (SELECT value FROM json_each(@ids))', list);
      run('DELETE FROM outbox WHERE auth_request_id IN (SELECT value FROM json_each(@ids))', list);
      run('DELETE FROM auth_requests WHERE id IN (SELECT value FROM json_each(@ids))', list);
    }
    const prune = (table: 'send_log' | 'otp_failures', cutoff: number): number =>
      run(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE at < @cutoff LIMIT @batchSize)`, { cutoff, batchSize })
        .changes;
    // Budget windows over for a day, and admin sessions past their expiry: neither is ever read again.
    run(
      `DELETE FROM send_budget WHERE (key, window_start) IN
         (SELECT key, window_start FROM send_budget WHERE window_end < @cutoff LIMIT @batchSize)`,
      { cutoff: command.now - SEND_BUDGET_RETENTION_MS, batchSize },
    );
    run('DELETE FROM admin_sessions WHERE id_hash IN (SELECT id_hash FROM admin_sessions WHERE expires_at <= @now LIMIT @batchSize)', {
      now: command.now,
      batchSize,
    });
    return {
      authRequests: ids.length,
      sendLog: prune('send_log', sendLogBefore),
      otpFailures: prune('otp_failures', command.otpFailuresBefore ?? command.now - OTP_FAILURE_RETENTION_MS),
    };
  });

  return {
    async createAuthRequest(command) {
      return createAuthRequest(command);
    },
    async findAuthRequest(id, now) {
      const row = get(`SELECT ${AUTH_REQUEST_COLUMNS} FROM auth_requests WHERE id = @id`, { id }) as AuthRequestRow | undefined;
      return Promise.resolve(row ? toRecord(row, now) : null);
    },
    async findAuthRequestByLinkLookup(linkLookup, now) {
      const row = get(`SELECT ${AUTH_REQUEST_COLUMNS} FROM auth_requests WHERE link_lookup = @linkLookup`, { linkLookup }) as
        AuthRequestRow | undefined;
      return Promise.resolve(row ? toRecord(row, now) : null);
    },
    async consumeWithOtp(command) {
      return consumeWithOtp(command);
    },
    async consumeWithLink(command) {
      return consumeWithLink(command);
    },
    async reissueCredentials(command) {
      return reissueCredentials(command);
    },
    async sweepExpired(command) {
      return sweepExpired(command);
    },
  };
}
