/**
 * The SQLite store's send limits: the per-address sliding windows (sends, failed codes) and the
 * fixed-window send budgets. Each runs inside the write transaction of the send, resend or
 * verify it guards, so a check and the write it allows see the same database.
 */
import type { SendBudget, SendLimitScope, WindowLimit } from '@sesame/core';
import { budgetRetryAfter, budgetWindow } from '../budgets.js';
import type { Statements } from './statements.js';

/**
 * The events a sliding window counts, as a subquery on @emailKey and @since. Sends: every auth
 * request created for the address (through its (email_key, created_at) index, which the insert
 * writes anyway) and every resend (the send log holds resends only).
 */
const WINDOW_EVENTS = {
  send: `SELECT created_at AS at FROM auth_requests WHERE email_key = @emailKey AND created_at > @since
         UNION ALL SELECT at FROM send_log WHERE email_key = @emailKey AND at > @since`,
  otpFailure: 'SELECT at FROM otp_failures WHERE email_key = @emailKey AND at > @since',
} as const;
const WINDOW_COUNTS = {
  send: `SELECT (SELECT count(*) FROM auth_requests WHERE email_key = @emailKey AND created_at > @since)
              + (SELECT count(*) FROM send_log WHERE email_key = @emailKey AND at > @since) AS n`,
  otpFailure: 'SELECT count(*) AS n FROM otp_failures WHERE email_key = @emailKey AND at > @since',
} as const;

export type WindowKind = keyof typeof WINDOW_EVENTS;

export interface SendLimits {
  /**
   * Milliseconds until `limit` allows one more event for `emailKey`, or null when it allows one
   * now. An event at `at` counts while `now < at + windowMs`. With n ≥ max events in the window,
   * n − max + 1 must age out, so the wait ends when the (n − max)-th oldest (0-based) does.
   */
  readonly windowRetryAfter: (kind: WindowKind, emailKey: string, limit: WindowLimit, now: number) => number | null;
  /**
   * Counts one send against every budget, or against none: one conditional primary-key upsert
   * per budget, which counts only while the budget is under its max. When one is at its max the
   * budgets counted before it are given back (all inside the write lock, so no other writer sees
   * the difference) and the refusal names it, with how long until its window ends.
   */
  readonly takeBudgets: (budgets: readonly SendBudget[], now: number) => { retryAfterMs: number; scope: SendLimitScope } | null;
}

export function sendLimits({ get, run }: Statements): SendLimits {
  return {
    windowRetryAfter: (kind, emailKey, limit, now) => {
      const since = now - limit.windowMs;
      const { n } = get(WINDOW_COUNTS[kind], { emailKey, since }) as { n: number };
      if (n < limit.max) return null;
      const oldest = get(`SELECT at FROM (${WINDOW_EVENTS[kind]}) ORDER BY at LIMIT 1 OFFSET @skip`, {
        emailKey,
        since,
        skip: Math.max(0, n - limit.max),
      }) as { at: number } | undefined;
      return oldest ? Math.max(1, oldest.at + limit.windowMs - now) : limit.windowMs;
    },

    takeBudgets: (budgets, now) => {
      for (let i = 0; i < budgets.length; i++) {
        const budget = budgets[i]!;
        const window = budgetWindow(budget, now);
        const taken =
          budget.max > 0 &&
          get(
            `INSERT INTO send_budget (key, window_start, window_end, n) VALUES (@key, @start, @end, 1)
             ON CONFLICT (key, window_start) DO UPDATE SET n = n + 1 WHERE n < @max
             RETURNING n`,
            { ...window, max: budget.max },
          ) !== undefined;
        if (!taken) {
          for (const counted of budgets.slice(0, i)) {
            const back = budgetWindow(counted, now);
            run('UPDATE send_budget SET n = n - 1 WHERE key = @key AND window_start = @start', { key: back.key, start: back.start });
          }
          return { retryAfterMs: budgetRetryAfter(window, now), scope: budget.scope };
        }
      }
      return null;
    },
  };
}
