/**
 * The checks a send or a failed code passes inside its transaction: the per-address sliding
 * windows and the send budgets. Both are exact under concurrency because every check holds a
 * lock until its transaction ends: the address's advisory lock, or the budget row's lock.
 */
import type { SendBudget, SendLimitScope, WindowLimit } from '@sesame/core';
import { budgetRetryAfter, budgetWindow } from '../budgets.js';
import type { Session } from './session.js';

/**
 * Serialises every window check and write for one address across all connections and instances.
 * The count that follows runs in a fresh statement, whose snapshot already sees the previous
 * holder's commit.
 */
export async function lockAddress(s: Session, emailKey: string): Promise<void> {
  await s.rows("SELECT pg_advisory_xact_lock(hashtextextended('sesame:address:' || $1::text, 0))", [emailKey]);
}

/**
 * The events a sliding window counts ($1 the address, $2 the window start). Sends: every auth
 * request created for the address (its (email_key, created_at) index) and every resend (the
 * send log holds resends only), as in the SQLite store.
 */
const WINDOW_EVENTS = {
  send: `SELECT created_at AS at FROM auth_requests WHERE email_key = $1::text AND created_at > $2::bigint
           UNION ALL SELECT at FROM send_log WHERE email_key = $1::text AND at > $2::bigint`,
  otpFailure: 'SELECT at FROM otp_failures WHERE email_key = $1::text AND at > $2::bigint',
} as const;

/**
 * Milliseconds until `limit` allows one more event for `emailKey`, or null when it allows one
 * now: the SQLite store's arithmetic, in one statement. Run it after `lockAddress`.
 */
export async function windowRetryAfter(
  s: Session,
  kind: keyof typeof WINDOW_EVENTS,
  emailKey: string,
  limit: WindowLimit,
  now: number,
): Promise<number | null> {
  const [row] = await s.rows<{ n: number; oldest: number | null }>(
    `WITH w AS (${WINDOW_EVENTS[kind]}),
            c AS (SELECT count(*) AS n FROM w)
       SELECT c.n, (SELECT at FROM w ORDER BY at OFFSET greatest(0, c.n - $3::bigint) LIMIT 1) AS oldest FROM c`,
    [emailKey, now - limit.windowMs, limit.max],
  );
  const n = row?.n ?? 0;
  if (n < limit.max) return null;
  const oldest = row?.oldest ?? null;
  return oldest !== null ? Math.max(1, oldest + limit.windowMs - now) : limit.windowMs;
}

/** A send budget at its max: thrown to roll back the budgets already counted in the transaction. */
class BudgetRefused extends Error {
  constructor(
    readonly retryAfterMs: number,
    readonly scope: SendLimitScope,
  ) {
    super('send budget exhausted');
  }
}

/**
 * Counts one send against every budget, in order, or throws BudgetRefused at the first one at
 * its max (the caller's transaction then rolls back the budgets counted before it). Each
 * upsert takes the budget row's lock until the transaction ends, so instances sending at once
 * queue on it and the count never overshoots. A budget at its max is locked but not rewritten.
 */
export async function countBudgets(s: Session, budgets: readonly SendBudget[], now: number): Promise<void> {
  for (const budget of budgets) {
    const window = budgetWindow(budget, now);
    const refuse = (): BudgetRefused => new BudgetRefused(budgetRetryAfter(window, now), budget.scope);
    if (budget.max <= 0) throw refuse();
    const [row] = await s.rows<{ n: number }>(
      `INSERT INTO send_budget (key, window_start, window_end, n) VALUES ($1::text, $2::bigint, $3::bigint, 1)
         ON CONFLICT (key, window_start) DO UPDATE SET n = send_budget.n + 1 WHERE send_budget.n < $4::integer
         RETURNING n`,
      [window.key, window.start, window.end, budget.max],
    );
    if (!row) throw refuse();
  }
}

/** `work`'s result, or the refusal of the budget that stopped it (its transaction rolled back). */
export async function withinBudgets<T>(
  work: () => Promise<T>,
  refused: (refusal: { readonly retryAfterMs: number; readonly scope: SendLimitScope }) => T,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof BudgetRefused) return refused(error);
    throw error;
  }
}
