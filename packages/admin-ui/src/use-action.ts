/** One call to the API at a time, the way every page makes them: busy while it runs, its failure as text. */
import { useCallback, useState } from 'react';
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
