/**
 * When to try a failed delivery again (docs/ARCHITECTURE.md "Outbox email": 10 s … 1 h, stop
 * after 24 h).
 */

export interface RetrySchedule {
  /** Delay after the first failed attempt; it doubles with each further failure. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** No attempt is scheduled later than this after the email was queued. */
  readonly giveUpAfterMs: number;
  /**
   * Fraction (0–1) of each delay that is random: a delay of d becomes d × (1 − jitter × r), r in
   * [0, 1). Spreads the retries of a burst that failed together (an SMTP outage) over time.
   */
  readonly jitter: number;
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = {
  initialDelayMs: 10_000,
  maxDelayMs: 3_600_000,
  giveUpAfterMs: 86_400_000,
  jitter: 0.2,
};

export function resolveRetrySchedule(partial: Partial<RetrySchedule> = {}): RetrySchedule {
  const schedule = { ...DEFAULT_RETRY_SCHEDULE, ...partial };
  if (!(schedule.initialDelayMs > 0) || !(schedule.maxDelayMs >= schedule.initialDelayMs) || !(schedule.giveUpAfterMs > 0)) {
    throw new Error('Retry schedule: need 0 < initialDelayMs <= maxDelayMs and giveUpAfterMs > 0.');
  }
  if (!(schedule.jitter >= 0 && schedule.jitter <= 1)) throw new Error('Retry schedule: jitter must be between 0 and 1.');
  return schedule;
}

/** The delay after failed attempt number `attempt` (1-based). `random` returns [0, 1). */
export function retryDelayMs(attempt: number, schedule: RetrySchedule, random: () => number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 40);
  const base = Math.min(schedule.maxDelayMs, schedule.initialDelayMs * 2 ** exponent);
  return Math.max(1, Math.round(base * (1 - schedule.jitter * random())));
}
