/** The reference app's production build on Next.js 16: clean, with no deprecated configuration. */
import { describe, expect, it } from 'vitest';
import { buildWarnings, ensureAppBuilt } from './harness.js';

describe('the reference app build', () => {
  it('prints no warnings and no deprecation notices', async () => {
    await ensureAppBuilt();
    expect(buildWarnings()).toEqual([]);
  }, 600_000);
});
