/** What the SQLite store and its checkpointer thread (./checkpoint-worker.ts) exchange. */

export interface CheckpointerData {
  readonly filename: string;
  readonly intervalMs: number;
  readonly restartAbovePages: number;
  readonly busyTimeoutMs: number;
}

export type CheckpointerMessage =
  /** Checkpoints kept failing: the store goes back to checkpointing on commit. */
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'stats'; readonly checkpoints: number; readonly restarts: number };
