/**
 * The outbox worker (docs/ARCHITECTURE.md "Outbox leases and handoff"). Sends never wait on SMTP:
 * core writes an outbox row in the send's transaction; this worker claims rows with a lease,
 * renders, delivers, and settles each row as sent, retry-later or failed, recording every attempt
 * on the auth request's timeline. The lease is what keeps several workers (or instances) from
 * sending one row at the same time, and what lets a row held by a crashed worker be claimed again
 * once it lapses.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  buildMagicLink,
  openOutboxPayload,
  systemClock,
  type AdoptedEmail,
  type Clock,
  type OutboxClaim,
  type OutboxHandoff,
  type OutboxLease,
  type OutboxPayload,
  type PayloadSealer,
  type Store,
} from '@sesame/core';
import { DEFAULT_CONTENT, type EmailContent, type EmailContentSource } from './content.js';
import { errorText, type EmailLogger } from './logger.js';
import { renderEmail } from './render-email.js';
import { resolveRetrySchedule, retryDelayMs, type RetrySchedule } from './retry.js';
import type { DeliveryResult, MailTransport, OutgoingEmail } from './transport/types.js';

export type OutboxStore = Pick<Store, 'claimOutbox' | 'recordDeliveryAttempt' | 'markOutboxSent' | 'markOutboxRetry' | 'markOutboxFailed'>;

export interface OutboxWorkerOptions {
  readonly store: OutboxStore;
  /** Opens the sealed code and link token: `createPayloadSealer(secret)` with the server secret. */
  readonly sealer: PayloadSealer;
  readonly transport: MailTransport;
  /** Brand and templates, read once per batch (default: built-in brand and templates). */
  readonly content?: EmailContentSource;
  readonly clock?: Clock;
  readonly logger: EmailLogger;
  /** Unique per process (see `defaultWorkerOwnerId`): the store lets only the lease holder settle a row. */
  readonly ownerId: string;
  /** How long a claim holds its rows (default 120 s). */
  readonly leaseMs?: number;
  /**
   * The longest one delivery may take (default: half the lease, at most 60 s). A row is not
   * sent when less than this is left of its lease, so no send outlives its lease and no other
   * worker can claim a row while its send is in flight.
   */
  readonly sendBudgetMs?: number;
  /** Rows per claim (default 100: a backlog drains in few transactions; the transport limit is `concurrency`). */
  readonly batchSize?: number;
  /**
   * Emails handed over by the engine (`handoff`) and not yet in a batch, at most; beyond it new
   * emails are left unleased for a claim, so a stalled transport holds no more than this in memory
   * (default 1000).
   */
  readonly maxAdopted?: number;
  /** Deliveries in flight at once within a batch (default 4, under the SMTP pool's 5 connections). */
  readonly concurrency?: number;
  /** Idle wait between claims when nothing nudges the worker (default 5 s). */
  readonly pollIntervalMs?: number;
  readonly retry?: Partial<RetrySchedule>;
  /** [0, 1) source for retry jitter (default Math.random). */
  readonly random?: () => number;
}

export interface BatchReport {
  /** Emails the batch took: rows it claimed and emails handed over by the engine. */
  readonly claimed: number;
  readonly sent: number;
  readonly retried: number;
  readonly failed: number;
  /** Claimed but left for a later claim (lease too short to finish) or lost to another worker. */
  readonly skipped: number;
}

export interface OutboxWorker {
  /** Starts polling; the first claim runs at once, so rows a crash left behind go out on start-up. */
  start(): void;
  /** Stops polling, waits for the batch in flight to settle, then delivers the emails handed over and still waiting. */
  stop(): Promise<void>;
  /**
   * Takes new emails straight from the engine (core's `OutboxHandoff`): leases only while the
   * worker runs and has fewer than `maxAdopted` waiting. Adopted emails go out with the next batch.
   */
  readonly handoff: OutboxHandoff;
  /** Claims and delivers one batch now (tests, scripts); runs after any batch in flight. */
  runOnce(): Promise<BatchReport>;
  /** Claims at once instead of at the next poll: the server calls it after each send. */
  nudge(): void;
}

/** `host:pid:random`: unique per process, readable in the database when debugging a lease. */
export function defaultWorkerOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

type Outcome = 'sent' | 'retried' | 'failed' | 'skipped';

/** How long one send-budget signal is handed to new sends (see `sendBudgetSignal`); in real time, as the signal's timer. */
const SIGNAL_REUSE_MS = 100;

export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const { store, sealer, transport, logger, ownerId: owner } = options;
  const clock = options.clock ?? systemClock;
  const leaseMs = options.leaseMs ?? 120_000;
  const sendBudgetMs = options.sendBudgetMs ?? Math.min(60_000, leaseMs / 2);
  const batchSize = options.batchSize ?? 100;
  const maxAdopted = options.maxAdopted ?? 1000;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const pollIntervalMs = options.pollIntervalMs ?? 5_000;
  const schedule = resolveRetrySchedule(options.retry);
  const random = options.random ?? Math.random;
  const loadContent = options.content ?? (() => DEFAULT_CONTENT);
  if (!(sendBudgetMs > 0 && sendBudgetMs < leaseMs)) throw new Error('Outbox worker: need 0 < sendBudgetMs < leaseMs.');
  if (!(batchSize >= 1 && pollIntervalMs > 0)) throw new Error('Outbox worker: need batchSize >= 1 and pollIntervalMs > 0.');

  // One timeout signal per SIGNAL_REUSE_MS, shared by the sends that start within it: an
  // `AbortSignal.timeout` per email (a timer, and the signal's own bookkeeping) showed in
  // profiles of send load. A send that takes a signal made earlier in the window simply has
  // up to `signalReuseMs` less than `sendBudgetMs`: never more, so it still ends in its lease.
  // A tenth of the budget at most, so a short budget (tests) is not eaten into.
  const signalReuseMs = Math.min(SIGNAL_REUSE_MS, sendBudgetMs / 10);
  let budget: { readonly signal: AbortSignal; readonly madeAt: number } | null = null;
  function sendBudgetSignal(): AbortSignal {
    const now = performance.now();
    if (budget === null || now - budget.madeAt >= signalReuseMs || budget.signal.aborted) {
      budget = { signal: AbortSignal.timeout(sendBudgetMs), madeAt: now };
    }
    return budget.signal;
  }

  // Handed over by the engine, leased to this worker, waiting for the next batch.
  const adopted: AdoptedEmail[] = [];

  let loop: Promise<void> | null = null;
  // An object, not `let`s: `stop()` and `nudge()` change it while the loop awaits a batch.
  const state = { running: false, nudged: false };
  const isRunning = (): boolean => state.running;
  const wasNudged = (): boolean => state.nudged;
  let wake: (() => void) | null = null;
  // Batches run one after another, whether started by the loop or by runOnce.
  let queue: Promise<unknown> = Promise.resolve();

  function runOnce(): Promise<BatchReport> {
    return enqueue(() => runBatch(true));
  }

  function enqueue(batch: () => Promise<BatchReport>): Promise<BatchReport> {
    const run = queue.then(batch);
    queue = run.catch(() => undefined);
    return run;
  }

  /** A batch: up to `batchSize` adopted emails, and (when `claim`) up to `batchSize` claimed rows. */
  async function runBatch(claim: boolean): Promise<BatchReport> {
    const claimedAt = clock.now();
    // Always claimed, however many were adopted: rows due for a retry, or left unleased while
    // the worker was full, are never starved by a steady stream of handed-over emails. Claimed
    // first, so a failed claim leaves the adopted emails waiting for the next batch.
    const claims = claim ? await store.claimOutbox({ owner, now: claimedAt, leaseMs, limit: batchSize }) : [];
    const taken = adopted.splice(0, batchSize);
    const items: Item[] = [
      ...taken.map((email) => ({ claim: email.claim, leaseEnd: email.lease.until, payload: email.payload })),
      ...claims.map((row) => ({ claim: row, leaseEnd: claimedAt + leaseMs, payload: null })),
    ];
    const counts = { claimed: items.length, sent: 0, retried: 0, failed: 0, skipped: 0 };
    if (items.length === 0) return counts;
    const content = await currentContent();
    // Every row of the batch goes through its store writes together (its attempt records share
    // one group commit, its settles another); only the transport calls are limited to
    // `concurrency` at once. One lane per in-flight send instead made each delivery wait for
    // two commits of its own, which under request load capped the worker far below the send rate.
    const slots = createSlots(concurrency);
    await Promise.all(
      items.map(async ({ claim, leaseEnd, payload }) => {
        const outcome = await settle(claim, payload, content, leaseEnd, slots).catch((error: unknown) => {
          // A store error while settling: the lease lapses and the row is claimed again.
          logger.error(
            { outboxId: claim.id, authRequestId: claim.authRequestId, err: errorText(error) },
            'outbox row could not be settled',
          );
          return 'skipped' as const;
        });
        counts[outcome] += 1;
      }),
    );
    return counts;
  }

  async function currentContent(): Promise<EmailContent> {
    try {
      return await loadContent();
    } catch (error) {
      logger.warn({ err: errorText(error) }, 'email brand or templates unreadable; using the defaults');
      return DEFAULT_CONTENT;
    }
  }

  /** `opened`: the payload of an adopted email; null for a claimed row, whose sealed payload is opened here. */
  async function settle(
    claim: OutboxClaim,
    opened: OutboxPayload | null,
    content: EmailContent,
    leaseEnd: number,
    slots: Slots,
  ): Promise<Outcome> {
    const ids = { outboxId: claim.id, authRequestId: claim.authRequestId };
    const attempt = claim.attempts + 1;
    const now = clock.now();
    if (now >= claim.request.expiresAt) {
      return fail(claim, attempt, now, 'not sent: the auth request expired before delivery');
    }
    if (now + sendBudgetMs > leaseEnd) return 'skipped';

    let payload: OutboxPayload;
    try {
      payload = opened ?? (await openOutboxPayload(sealer, claim.id, claim.sealedPayload));
    } catch {
      return fail(claim, attempt, now, 'not sent: the sealed payload could not be opened (was SESAME_SECRET changed?)');
    }
    const email = compose(claim, payload, content, now);

    // Recorded before the send (a crash mid-send must still count), possibly a moment before a
    // transport slot frees up. Not recorded: a resend superseded the email since it was claimed
    // or handed over (it carries dead credentials), or another worker took the row over. Either
    // way it is not this worker's to send.
    if (!(await store.recordDeliveryAttempt({ id: claim.id, owner, now, detail: null }))) {
      logger.info({ ...ids, attempt }, 'email not sent: superseded by a resend, or its lease taken over');
      return 'skipped';
    }
    const release = await slots.acquire();
    let result: DeliveryResult;
    try {
      // Waiting for a slot may have used up the lease: leave the row for a later claim.
      if (clock.now() + sendBudgetMs > leaseEnd) return 'skipped';
      result = await transport.send(email, { signal: sendBudgetSignal() });
    } catch (error) {
      result = { status: 'transient', reply: `transport error: ${errorText(error)}` };
    } finally {
      release();
    }
    const settledAt = clock.now();
    const logFields = { ...ids, attempt, transport: transport.kind, reply: result.reply };

    if (result.status === 'sent') {
      const kept = await store.markOutboxSent({ id: claim.id, owner, now: settledAt, detail: result.reply });
      if (!kept)
        logger.warn(logFields, 'email sent, but its outbox row was no longer ours to mark (lease taken over, or superseded by a resend)');
      else logger.info(logFields, 'email sent');
      return 'sent';
    }
    if (result.status === 'permanent') return fail(claim, attempt, settledAt, result.reply);

    const nextAttemptAt = settledAt + retryDelayMs(attempt, schedule, random);
    if (nextAttemptAt > claim.createdAt + schedule.giveUpAfterMs) {
      return fail(claim, attempt, settledAt, `gave up after ${attempt} attempts; last reply: ${result.reply}`);
    }
    if (nextAttemptAt >= claim.request.expiresAt) {
      return fail(claim, attempt, settledAt, `gave up: the auth request expires before another attempt; last reply: ${result.reply}`);
    }
    const kept = await store.markOutboxRetry({ id: claim.id, owner, now: settledAt, detail: result.reply, nextAttemptAt });
    logger.warn({ ...logFields, retryInMs: nextAttemptAt - settledAt, leaseKept: kept }, 'email not delivered; will retry');
    return kept ? 'retried' : 'skipped';
  }

  async function fail(claim: OutboxClaim, attempt: number, now: number, detail: string): Promise<Outcome> {
    const kept = await store.markOutboxFailed({ id: claim.id, owner, now, detail });
    logger.warn(
      { outboxId: claim.id, authRequestId: claim.authRequestId, attempt, transport: transport.kind, reply: detail, leaseKept: kept },
      'email failed for good',
    );
    return kept ? 'failed' : 'skipped';
  }

  async function pollLoop(): Promise<void> {
    while (state.running) {
      state.nudged = false;
      let report: BatchReport | null = null;
      try {
        report = await runOnce();
      } catch (error) {
        logger.error({ err: errorText(error) }, 'outbox claim failed; retrying at the next poll');
      }
      if (!isRunning()) break;
      // A full batch means more rows may be waiting: claim again without sleeping. So does a
      // full batch of adopted emails; fewer wait for the nudge that comes with them, which the
      // server delays a little so that the emails of those milliseconds go out together.
      if (wasNudged() || adopted.length >= batchSize || (report !== null && report.claimed >= batchSize && report.skipped < report.claimed))
        continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, pollIntervalMs);
        function done(): void {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
        wake = done;
      });
    }
  }

  return {
    start() {
      if (state.running) return;
      state.running = true;
      loop = pollLoop();
    },
    async stop() {
      state.running = false;
      wake?.();
      await loop;
      loop = null;
      await queue;
      // Leased to this worker: left here, they would wait for the lease to lapse in the database.
      // No new ones come (lease() answers null now), so this ends.
      while (adopted.length > 0) await enqueue(() => runBatch(false));
    },
    runOnce,
    handoff: {
      lease(now: number): OutboxLease | null {
        return state.running && adopted.length < maxAdopted ? { owner, until: now + leaseMs } : null;
      },
      // One adopted after stop() has returned (its send was still in flight) waits for its
      // lease to lapse, as after a crash, unless the worker starts again.
      adopt(email: AdoptedEmail) {
        adopted.push(email);
      },
    },
    nudge() {
      state.nudged = true;
      wake?.();
    },
  };
}

function compose(claim: OutboxClaim, payload: OutboxPayload, content: EmailContent, now: number): OutgoingEmail {
  const { request } = claim;
  const link =
    payload.linkToken !== null && request.magiclinkAuthUri !== null ? buildMagicLink(request.magiclinkAuthUri, payload.linkToken) : null;
  const rendered = renderEmail({
    template: request.template,
    brand: content.brand,
    templates: content.templates,
    templateVariables: request.templateVariables,
    clientId: request.clientId,
    email: request.email,
    otp: payload.otp,
    link,
    expiresAt: request.expiresAt,
    now,
  });
  return {
    outboxId: claim.id,
    to: request.email,
    fromName: content.brand.fromName,
    fallbackFromName: content.brand.appName,
    ...rendered,
  };
}

/** One email of a batch: claimed (payload still sealed) or adopted (payload open, its lease from birth). */
interface Item {
  readonly claim: OutboxClaim;
  readonly leaseEnd: number;
  readonly payload: OutboxPayload | null;
}

interface Slots {
  /** Resolves, in call order, once one of the slots is free; call the returned function to free it. */
  acquire(): Promise<() => void>;
}

/** At most `size` holders at once; waiters are served first come, first served. */
function createSlots(size: number): Slots {
  let free = size;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else free += 1;
  };
  return {
    acquire() {
      if (free > 0) {
        free -= 1;
        return Promise.resolve(release);
      }
      return new Promise((resolve) => waiting.push(() => resolve(release)));
    },
  };
}
