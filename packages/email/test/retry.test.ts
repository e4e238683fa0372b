import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE, resolveRetrySchedule, retryDelayMs } from '../src/index.js';

describe('retry schedule', () => {
  it('doubles from 10 s up to 1 h', () => {
    const delays = [1, 2, 3, 4, 9, 10, 11, 50].map((attempt) => retryDelayMs(attempt, DEFAULT_RETRY_SCHEDULE, () => 0));
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 2_560_000, 3_600_000, 3_600_000, 3_600_000]);
  });

  it('takes off at most the jitter fraction', () => {
    expect(retryDelayMs(1, DEFAULT_RETRY_SCHEDULE, () => 0.999_999)).toBe(8_000);
    for (let i = 0; i < 100; i += 1) {
      const delay = retryDelayMs(3, DEFAULT_RETRY_SCHEDULE, Math.random);
      expect(delay).toBeGreaterThan(32_000);
      expect(delay).toBeLessThanOrEqual(40_000);
    }
  });

  it('refuses a nonsensical schedule', () => {
    expect(() => resolveRetrySchedule({ initialDelayMs: 0 })).toThrow();
    expect(() => resolveRetrySchedule({ maxDelayMs: 5 })).toThrow();
    expect(() => resolveRetrySchedule({ jitter: 2 })).toThrow();
    expect(resolveRetrySchedule({ initialDelayMs: 100 })).toMatchObject({ initialDelayMs: 100, maxDelayMs: 3_600_000 });
  });
});
