/** One call to the API at a time, the way every page makes them: busy while it runs, its failure as text. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from './ui.js';

export interface Action {
  /** True while a task runs: the page disables its buttons. */
  readonly busy: boolean;
  /** What went wrong, for an alert; undefined when nothing did. */
  readonly error: string | undefined;
  /** Sets the error directly, for a check made before any call. */
  readonly setError: (message: string | undefined) => void;
  /**
   * Clears the error, runs `task` as busy, and on a failure sets the error to `describe(error)`
   * (by default the API's words, see `errorMessage`). Answers whether the task succeeded.
   */
  readonly run: (task: () => Promise<void>, describe?: (error: unknown) => string) => Promise<boolean>;
}

/** Runs a page's read without marking the page busy; a failure becomes the page's error, in the API's words. */
export async function reportFailure(task: () => Promise<void>, setError: (message: string | undefined) => void): Promise<void> {
  try {
    await task();
  } catch (caught) {
    setError(errorMessage(caught));
  }
}

/**
 * A page's own read: runs `task` once when the page mounts and answers a function that runs it
 * again (after a change, or on "Refresh"), each time through `reportFailure`.
 */
export function useLoad(task: () => Promise<void>, setError: (message: string | undefined) => void): () => Promise<void> {
  // The newest task, so a later run sees the page's current state.
  const latest = useRef(task);
  latest.current = task;
  const load = useCallback(() => reportFailure(() => latest.current(), setError), [setError]);
  useEffect(() => {
    void load();
  }, [load]);
  return load;
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const run = useCallback(async (task: () => Promise<void>, describe: (error: unknown) => string = errorMessage): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      await task();
      return true;
    } catch (caught) {
      setError(describe(caught));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
