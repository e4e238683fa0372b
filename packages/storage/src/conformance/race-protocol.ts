/** What the conformance suite asks of a race worker, and what it answers. Plain cloneable data. */
import type {
  ClaimOutboxCommand,
  ConsumeOtpCommand,
  ConsumeResult,
  CreateAuthRequestCommand,
  LimitResult,
  ReissueCommand,
  ReissueResult,
} from '@sesame/core';

export type RaceOp =
  | { readonly kind: 'migrate' }
  | { readonly kind: 'consumeWithOtp'; readonly command: ConsumeOtpCommand }
  | { readonly kind: 'createAuthRequest'; readonly command: CreateAuthRequestCommand }
  | { readonly kind: 'reissueCredentials'; readonly command: ReissueCommand }
  /** Claims with `command` until a claim comes back empty. */
  | { readonly kind: 'drainOutbox'; readonly command: ClaimOutboxCommand };

export type RaceResult =
  | { readonly kind: 'migrate'; readonly ready: boolean }
  | { readonly kind: 'consumeWithOtp'; readonly result: ConsumeResult }
  | { readonly kind: 'createAuthRequest'; readonly result: LimitResult }
  | { readonly kind: 'reissueCredentials'; readonly result: ReissueResult }
  | { readonly kind: 'drainOutbox'; readonly claimedIds: readonly string[] };

export interface RaceWorkerData {
  /** Opened with `openStore(url)`: each worker has its own connection (or pool). */
  readonly url: string;
  readonly ops: readonly RaceOp[];
}

export type WorkerToMain =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly results: readonly RaceResult[] }
  | { readonly type: 'error'; readonly message: string };

/** Sent once every worker is ready, so the operations start as close together as possible. */
export interface MainToWorker {
  readonly type: 'go';
}
