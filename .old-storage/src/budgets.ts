/**
 * Send budgets (core's `SendBudget`) as fixed-window counters, the arithmetic both stores share.
 * A budget's window is `[start, start + windowMs)` with `start = floor(now / windowMs) * windowMs`,
 * so every instance agrees on it from `now` alone; its count lives in `send_budget(key, start)`.
 */
import { DAY_MS, type SendBudget } from '@sesame/core';

export interface BudgetWindow {
  readonly key: string;
  readonly start: number;
  readonly end: number;
}

export function budgetWindow(budget: SendBudget, now: number): BudgetWindow {
  // A window under 1 ms would never end: treat it as 1 ms.
  const windowMs = Math.max(1, Math.trunc(budget.windowMs));
  const start = Math.floor(now / windowMs) * windowMs;
  return { key: budget.key, start, end: start + windowMs };
}

/** How long until the window of a budget that is at its max ends; at least 1 ms. */
export function budgetRetryAfter(window: BudgetWindow, now: number): number {
  return Math.max(1, window.end - now);
}

/** Budget windows are kept this long after they end (diagnostics), then swept. */
export const SEND_BUDGET_RETENTION_MS = DAY_MS;
