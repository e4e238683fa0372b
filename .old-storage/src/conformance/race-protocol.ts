/** What the conformance suite asks of a race worker, and what it answers. Plain cloneable data. */
import type {
  ClaimOutboxCommand,
  ConsumeOtpCommand,
  ConsumeResult,
  CreateAuthRequestCommand,
  LimitResult,
  OutboxClaim,
  ReissueCommand,
  ReissueResult,
} from '@sesame/core';

export type RaceOp =
  | { readonly kind: 'migrate' }
  | { readonly kind: 'consumeWithOtp'; readonly command: ConsumeOtpCommand }
  | { readonly kind: 'createAuthRequest'; readonly command: CreateAuthRequestCommand }
  | { readonly kind: 'reissueCredentials'; readonly command: ReissueCommand }
  | { readonly kind: 'claimOutbox'; readonly command: ClaimOutboxCommand }
  /** Claims with `command` until a claim comes back empty. */
  | { readonly kind: 'drainOutbox'; readonly command: ClaimOutboxCommand };

export type RaceResult =
  | { readonly kind: 'migrate'; readonly ready: boolean }
  | { readonly kind: 'consumeWithOtp'; readonly result: ConsumeResult }
  | { readonly kind: 'createAuthRequest'; readonly result: LimitResult }
  | { readonly kind: 'reissueCredentials'; readonly result: ReissueResult }
  | { readonly kind: 'claimOutbox'; readonly claims: readonly OutboxClaim[] }
  | { readonly kind: 'drainOutbox'; readonly claimedIds: readonly string[] };

/** One race, as one worker of it sees it. Workers live across races; each job opens its own store. */
export interface RaceJob {
  /** Echoed in the answer, so a late answer to a failed race is never taken for the next one's. */
  readonly job: number;
  /** Opened with `openStore(url)`: each worker has its own connection (or pool). */
  readonly url: string;
  readonly ops: readonly RaceOp[];
  /**
   * The start line: one Int32 counting workers that have opened their connection. Each worker
   * adds itself and spins until all have arrived, so they leave together: waking threads from a
   * futex or a message staggers them by milliseconds, longer than a worker's whole share of work.
   */
  readonly start: SharedArrayBuffer;
  readonly workers: number;
  /** Run the operations one at a time, all workers meeting at the line again before each one. */
  readonly lockstep: boolean;
}

export type WorkerToMain =
  | { readonly type: 'done'; readonly job: number; readonly results: readonly RaceResult[] }
  | { readonly type: 'error'; readonly job: number; readonly message: string };
