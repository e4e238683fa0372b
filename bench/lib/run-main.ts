/** A whole-run time limit: past `ms`, `message` is printed, `cleanup` runs and the process exits with 2. */
export interface HardLimit {
  readonly ms: number;
  readonly message: string;
}

export interface RunMainOptions {
  readonly hardLimit?: HardLimit;
  /** Prints what helps to read a failure (e.g. the servers' output), after the error itself. */
  readonly onFailure?: () => void;
}

/**
 * How a bench script ends: with main's exit code, or 1 with the error printed when it throws,
 * and after `cleanup` (ending what it started) whatever happened.
 */
export async function runMain(main: () => Promise<number>, cleanup: () => Promise<void>, options: RunMainOptions = {}): Promise<void> {
  const { hardLimit, onFailure } = options;
  const hard =
    hardLimit &&
    setTimeout(() => {
      console.error(hardLimit.message);
      void cleanup().finally(() => process.exit(2));
    }, hardLimit.ms);
  try {
    process.exitCode = await main();
  } catch (error) {
    console.error(error);
    onFailure?.();
    process.exitCode = 1;
  } finally {
    clearTimeout(hard);
    await cleanup();
  }
}
