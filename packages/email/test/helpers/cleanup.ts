import { afterEach } from 'vitest';

/** Steps that undo what a test set up: push them; they run after each test, the last pushed first. */
export function cleanupAfterEach(): Array<() => Promise<void>> {
  const steps: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) await step();
  });
  return steps;
}
