/**
 * A closed-loop load generator for the bench scripts: `concurrency` workers, each issuing its
 * next request when the previous one answers, for a warm-up and then a measured window, bounded
 * by a request count. Latencies are those of requests that started and ended inside the window.
 * Runs in the bench process, never in the server's.
 */
import { percentile } from './stats.js';

/** One request: resolves true on the expected answer, false on any other; throws `OutOfWork` to end the phase early. */
export type Operation = (index: number) => Promise<boolean>;

/** Thrown by an operation with nothing left to do (e.g. no codes left to verify). */
export class OutOfWork extends Error {}

export interface ClosedLoopOptions {
  readonly concurrency: number;
  readonly warmUpMs: number;
  readonly measureMs: number;
  readonly maxRequests: number;
  /** Called when the measured window opens (e.g. to take a CPU sample). */
  readonly onMeasureStart?: () => void;
}

export interface ClosedLoopResult {
  /** Requests measured (started and ended in the window). */
  readonly requests: number;
  /** Length of the measured window in seconds (shorter when the work ran out). */
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** Measured requests that answered false or threw. */
  readonly errors: number;
  readonly exhausted: boolean;
}

export async function runClosedLoop(operation: Operation, options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const start = performance.now();
  const measureFrom = start + options.warmUpMs;
  const deadline = measureFrom + options.measureMs;
  const state = { issued: 0, exhausted: false, lastEnd: measureFrom };
  const latencies: number[] = [];
  let errors = 0;
  const marker = setTimeout(() => options.onMeasureStart?.(), options.warmUpMs);
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (!state.exhausted && state.issued < options.maxRequests && performance.now() < deadline) {
        const index = state.issued++;
        const t0 = performance.now();
        let ok: boolean;
        try {
          ok = await operation(index);
        } catch (error) {
          if (error instanceof OutOfWork) {
            state.exhausted = true;
            break;
          }
          ok = false;
        }
        const t1 = performance.now();
        if (t0 >= measureFrom && t1 <= deadline) {
          latencies.push(t1 - t0);
          if (!ok) errors++;
          state.lastEnd = Math.max(state.lastEnd, t1);
        }
      }
    }),
  );
  clearTimeout(marker);
  const end = Math.min(state.exhausted ? state.lastEnd : deadline, performance.now());
  const seconds = Math.max(0, end - measureFrom) / 1000;
  latencies.sort((a, b) => a - b);
  const n = latencies.length;
  return {
    requests: n,
    seconds,
    rps: seconds > 0 ? n / seconds : NaN,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
    exhausted: state.exhausted,
  };
}

/** A fixed-width markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** The REST API's passwordless routes, and the redirect URI the bench server's client allows. */
export const PASSWORDLESS_API = '/api/v1/passwordless/email';
export const BENCH_REDIRECT = 'http://localhost:3000/api/auth/verify';

/** The window the throughput benches measure in: 50 concurrent, 2 s warm-up, 8 s measured, bounded. */
export const STANDARD_WINDOW = { concurrency: 50, warmUpMs: 2_000, measureMs: 8_000, maxRequests: 200_000 } as const;

/**
 * A result's usual columns: req/s, p50 ms, p99 ms, errors, requests (`exhaustedNote` appended
 * to the requests when the work ran out first).
 */
export function resultCells(result: ClosedLoopResult, exhaustedNote?: string): string[] {
  const requests = String(result.requests) + (result.exhausted && exhaustedNote !== undefined ? ` (${exhaustedNote})` : '');
  return [fmt(result.rps, 0), fmt(result.p50), fmt(result.p99), String(result.errors), requests];
}

/** A result as one line of progress: req/s, p50, p99 and errors. */
export function resultLine(result: ClosedLoopResult): string {
  return `${fmt(result.rps, 0)} req/s, p50 ${fmt(result.p50)} ms, p99 ${fmt(result.p99)} ms, ${result.errors} errors`;
}
