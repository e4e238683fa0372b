/**
 * How a bench script ends: with main's exit code, or 1 with the error printed when it throws,
 * and after `cleanup` (ending what it started) whatever happened.
 */
export async function runMain(main: () => Promise<number>, cleanup: () => Promise<void>): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}
