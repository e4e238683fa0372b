/** The statistics the bench reports share. */

/** The value at rank ⌊q·n⌋ of ascending `sorted` (q in 0…1), NaN when there is none. */
export function percentile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
