/**
 * The expiry sweeper (docs/ARCHITECTURE.md "Scale"): without it the auth request, outbox,
 * delivery event and sliding-window tables grow for as long as the server runs. Every interval it
 * runs one pass: `store.sweepExpired` in bounded batches, one after another while a batch comes
 * back full (catching up), with a turn of the event loop between batches so that requests never
 * wait behind more than one batch. Expired requests are kept `retentionMs` longer so the
 * dashboard's activity view still shows recent sign-ins.
 *
 * A failed pass is logged and the next one runs at the next interval: the sweeper never throws
 * into the process. On PostgreSQL every instance sweeps; the store's SKIP LOCKED gives each its
 * own rows, so they neither collide nor wait on each other.
 */
import { systemClock, type Clock, type Policy, type Store, type SweepResult } from '@sesame/core';
import { isStoreUnavailable } from '@sesame/storage';

/** Auth requests per `sweepExpired` call (each also deletes its outbox rows and events). */
export const DEFAULT_SWEEP_BATCH_SIZE = 500;

/**
 * The sliding-window logs are kept for this many of the policy's windows. One window is all a
 * limit reads; the rest is slack, so that raising a window in the dashboard still finds recent
 * events (a window raised more than that counts only what is left, for one window's time).
 */
export const LOG_RETENTION_WINDOWS = 2;

/** Structural subset of pino's logger. Fields hold only counts, durations and error messages. */
export interface SweeperLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Runs `callback` once after `ms`; the returned function cancels it. Tests pass a manual one. */
export type ScheduleFn = (callback: () => void, ms: number) => () => void;

export interface SweeperOptions {
  readonly store: Pick<Store, 'sweepExpired'>;
  readonly logger: SweeperLogger;
  readonly clock?: Clock;
  /** How long after its expiry an auth request is kept (0 = swept as soon as it expires). */
  readonly retentionMs: number;
  /** Pause between the end of one pass and the start of the next. */
  readonly intervalMs: number;
  readonly batchSize?: number;
  /**
   * The policy in force: the send and failed-code logs are pruned to `LOG_RETENTION_WINDOWS` of
   * its windows, and an expired request goes once it is that far past its send window too (a
   * send counts toward the limit through its request). Without it (or when it cannot be read)
   * the store keeps its longest windows: requests then stay at least a day after creation.
   */
  readonly policy?: () => Promise<Policy>;
  /** Called after each batch with the auth requests it deleted (the server's metrics counter). */
  readonly onSwept?: (rows: number) => void;
  readonly schedule?: ScheduleFn;
  /** Lets the event loop run between two batches of a pass (default: one setImmediate). */
  readonly yieldTurn?: () => Promise<void>;
}

export interface SweepReport {
  /** Auth requests deleted by the pass (their outbox rows and events went with them). */
  readonly deleted: number;
  /** Send-log and failed-code events pruned by the pass. */
  readonly logEvents: number;
  readonly batches: number;
}

export interface Sweeper {
  /** Runs a first pass at once, then one pass per interval. */
  start(): void;
  /** No new pass or batch; waits for the batch in flight. Safe to call more than once. */
  stop(): Promise<void>;
  /** One pass now, after any pass in flight (tests, scripts). Rejects with the store's error. */
  runOnce(): Promise<SweepReport>;
}

const defaultSchedule: ScheduleFn = (callback, ms) => {
  const timer = setTimeout(callback, ms);
  // The server's listener keeps the process alive; a forgotten sweeper alone never should.
  timer.unref();
  return () => clearTimeout(timer);
};

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function createSweeper(options: SweeperOptions): Sweeper {
  const { store, logger, retentionMs, intervalMs } = options;
  const clock = options.clock ?? systemClock;
  const batchSize = options.batchSize ?? DEFAULT_SWEEP_BATCH_SIZE;
  const schedule = options.schedule ?? defaultSchedule;
  const yieldTurn = options.yieldTurn ?? nextTurn;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error('Sweeper: batchSize must be a whole number ≥ 1.');
  if (!(retentionMs >= 0 && intervalMs > 0)) throw new Error('Sweeper: need retentionMs ≥ 0 and intervalMs > 0.');

  // An object, not `let`s: `stop()` changes it while a pass awaits the store.
  const state = { running: false, halted: false };
  const isHalted = (): boolean => state.halted;
  let cancelTimer: (() => void) | null = null;
  let tick: Promise<void> | null = null;
  // Passes run one after another, whether started by the timer or by runOnce.
  let queue: Promise<unknown> = Promise.resolve();

  function runOnce(): Promise<SweepReport> {
    const pass = queue.then(sweepPass);
    queue = pass.catch(() => undefined);
    return pass;
  }

  /** Log cutoffs from the policy in force, or none (the store's longest windows) when it cannot be read. */
  async function logCutoffs(now: number): Promise<{ sendLogBefore?: number; otpFailuresBefore?: number }> {
    if (!options.policy) return {};
    try {
      const policy = await options.policy();
      return {
        sendLogBefore: now - LOG_RETENTION_WINDOWS * policy.emailsPerAddress.windowMs,
        otpFailuresBefore: now - LOG_RETENTION_WINDOWS * policy.failedOtpPerAddress.windowMs,
      };
    } catch {
      return {};
    }
  }

  async function sweepPass(): Promise<SweepReport> {
    let deleted = 0;
    let logEvents = 0;
    let batches = 0;
    for (;;) {
      // Read the clock per batch: a long catch-up should not keep sweeping with a stale "now".
      const now = clock.now();
      const result: SweepResult = await store.sweepExpired({
        expiredBefore: now - retentionMs,
        now,
        batchSize,
        ...(await logCutoffs(now)),
      });
      batches += 1;
      deleted += result.authRequests;
      logEvents += result.sendLog + result.otpFailures;
      if (result.authRequests > 0) options.onSwept?.(result.authRequests);
      // Short batches everywhere mean nothing older is left; a full one means more may be waiting.
      const full = Math.max(result.authRequests, result.sendLog, result.otpFailures) >= batchSize;
      if (!full || isHalted()) break;
      await yieldTurn();
      if (isHalted()) break;
    }
    return { deleted, logEvents, batches };
  }

  async function timedPass(): Promise<void> {
    const started = performance.now();
    try {
      const report = await runOnce();
      if (report.deleted > 0 || report.logEvents > 0) {
        const fields = {
          deleted: report.deleted,
          logEvents: report.logEvents,
          batches: report.batches,
          ms: Math.round(performance.now() - started),
        };
        logger.info(fields, 'swept expired auth requests');
      }
    } catch (error) {
      const fields = { err: error instanceof Error ? error.message : 'unknown error', retryInMs: intervalMs };
      // Unavailable is expected while PostgreSQL restarts or fails over: not a bug, just later.
      if (isStoreUnavailable(error)) logger.warn(fields, 'store unavailable; sweeping again at the next interval');
      else logger.error(fields, 'sweep of expired auth requests failed; sweeping again at the next interval');
    }
    if (state.running) scheduleNext(intervalMs);
  }

  function scheduleNext(delayMs: number): void {
    cancelTimer = schedule(() => {
      cancelTimer = null;
      tick = timedPass();
    }, delayMs);
  }

  return {
    start() {
      if (state.running) return;
      state.running = true;
      state.halted = false;
      scheduleNext(0);
    },
    async stop() {
      state.running = false;
      state.halted = true;
      cancelTimer?.();
      cancelTimer = null;
      await tick;
      await queue;
      // Only a pass running during the stop is cut short; a later runOnce sweeps fully again.
      state.halted = false;
    },
    runOnce,
  };
}
