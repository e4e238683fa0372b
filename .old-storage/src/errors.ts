/**
 * The one storage error a caller may act on: the database cannot be reached or cannot answer in
 * time (down, restarting, refusing connections, past the statement timeout). The server answers
 * it with 503 and a stable code instead of a 500; the store itself recovers on the next call once
 * the database is back. Every other error is a bug or a constraint violation and stays as it is.
 */
export class StoreUnavailableError extends Error {
  /** Stable, for logs and for mapping to a response; never switch on the message. */
  readonly code = 'STORE_UNAVAILABLE' as const;

  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** True for a `StoreUnavailableError` (also across duplicate copies of this module). */
export function isStoreUnavailable(error: unknown): error is StoreUnavailableError {
  return error instanceof StoreUnavailableError || (error instanceof Error && (error as { code?: unknown }).code === 'STORE_UNAVAILABLE');
}
