/** The soak's samples, the table of them and the verdict on its two claims. */
import { fmt, markdownTable } from '../lib/closed-loop.js';
import { mean } from '../lib/stats.js';
import type { LoadState } from './load.js';
import { MAX_IN_FLIGHT, ROW_LIFETIME_S, SAMPLE_MS, type Options } from './options.js';
import type { Table } from './rows.js';

export interface Sample {
  readonly t: number;
  readonly rps: number;
  readonly p99: number;
  readonly errors: number;
  readonly cpuPct: number;
  readonly rssMiB: number;
  readonly rows: Record<Table, number>;
  readonly anonMiB: number;
  readonly dbUsedMiB: number;
  readonly outboxDepth: number;
  /** Sends answered in the window whose rows may still be in the table (the bound on auth_requests). */
  readonly bound: number;
}

/** Least-squares slope of `value` per minute over the samples. */
function slope(samples: readonly Sample[], value: (s: Sample) => number): number {
  const xs = samples.map((s) => s.t / 60);
  const ys = samples.map(value);
  const mx = mean(xs);
  const my = mean(ys);
  const sxx = xs.reduce((sum, x) => sum + (x - mx) ** 2, 0);
  return xs.reduce((sum, x, i) => sum + (x - mx) * (ys[i]! - my), 0) / sxx;
}

const slopeText = (samples: readonly Sample[], value: (s: Sample) => number): string => {
  const perMinute = slope(samples, value);
  return `${perMinute >= 0 ? '+' : ''}${fmt(perMinute, 2)} MiB/min`;
};

export function sampleTable(samples: readonly Sample[]): string {
  return markdownTable(
    [
      't (s)',
      'req/s',
      'p99 ms',
      'errors',
      'server CPU %',
      'RSS MiB',
      'anon MiB',
      'db MiB',
      'auth_requests',
      'bound',
      'outbox',
      'delivery_events',
      'send_log',
      'outbox depth',
    ],
    samples.map((s) => [
      String(s.t),
      fmt(s.rps, 0),
      fmt(s.p99),
      String(s.errors),
      fmt(s.cpuPct, 0),
      fmt(s.rssMiB),
      fmt(s.anonMiB),
      fmt(s.dbUsedMiB),
      fmt(s.rows.auth_requests, 0),
      String(s.bound),
      fmt(s.rows.outbox, 0),
      fmt(s.rows.delivery_events, 0),
      fmt(s.rows.send_log, 0),
      Number.isFinite(s.outboxDepth) ? String(s.outboxDepth) : '-',
    ]),
  );
}

export function verdict(samples: readonly Sample[], options: Options, warmUpS: number, state: LoadState): string[] {
  const steady = samples.filter((s) => s.t > warmUpS);
  const lines: string[] = [];
  if (steady.length < 3) return [`Too short for a verdict: ${steady.length} sample(s) after the ${warmUpS} s warm-up.`];

  // RSS: the first minute after warm-up against the last minute (halves of the steady part when it is shorter).
  const window = Math.max(1, Math.min(Math.round(60_000 / SAMPLE_MS), Math.floor(steady.length / 2)));
  const first = mean(steady.slice(0, window).map((s) => s.rssMiB));
  const last = mean(steady.slice(-window).map((s) => s.rssMiB));
  const change = (last / first - 1) * 100;
  lines.push(
    `RSS: ${fmt(first)} MiB over the first ${window * 10} s after warm-up → ${fmt(last)} MiB over the last ${window * 10} s: ` +
      `${change >= 0 ? '+' : ''}${fmt(change)} % (target within ±10 %) → ${Math.abs(change) <= 10 ? 'MET' : 'NOT MET'}`,
  );
  // SQLite's page cache (cache_size, packages/storage/src/sqlite) keeps the pages the server
  // touched: RSS may grow with the file up to that cap without a leak. The slopes set the two
  // side by side; anonymous memory (JS heap, SQLite's cache, malloc) is split from file-backed
  // (code, the WAL index).
  lines.push(
    `Trend after warm-up: RSS ${slopeText(steady, (s) => s.rssMiB)} (anonymous ${slopeText(steady, (s) => s.anonMiB)}), ` +
      `database pages in use ${slopeText(steady, (s) => s.dbUsedMiB)}, send_log ${fmt(
        slope(steady, (s) => s.rows.send_log),
        0,
      )} rows/min`,
  );

  // Rows: a hard bound, whatever the achieved rate did. With retention 0 a request lives its
  // ROW_LIFETIME_S (kept two send windows for the send limit), plus at most one sweep interval
  // (and a pass's duration) before a pass deletes it, so auth_requests and outbox (one email per
  // request, no resends here) can never exceed the sends answered in the last ROW_LIFETIME_S +
  // interval + 2 s of slack.
  const overBound = steady.filter((s) => s.rows.auth_requests > s.bound || s.rows.outbox > s.bound);
  lines.push(
    `Bounded: auth_requests and outbox ≤ the sends of the last ${ROW_LIFETIME_S} s + sweep interval + 2 s at every sample after warm-up ` +
      `(${steady.length - overBound.length}/${steady.length}) → ${overBound.length === 0 ? 'MET' : 'NOT MET'}`,
  );
  // Plateau: the highest count of the last third against the middle third. The counts follow
  // the achieved send rate, so a noisy machine moves this ratio, not the bound above.
  const third = Math.floor(steady.length / 3);
  if (third >= 1) {
    for (const table of ['auth_requests', 'outbox', 'delivery_events'] as const) {
      const middle = Math.max(...steady.slice(third, 2 * third).map((s) => s.rows[table]));
      const end = Math.max(...steady.slice(-third).map((s) => s.rows[table]));
      lines.push(
        `Plateau ${table}: max of the last third ${end} vs the middle third ${middle} = ${fmt(end / middle, 2)} (≤ 1.10) → ${end <= 1.1 * middle ? 'MET' : 'NOT MET'}`,
      );
    }
  }
  const lastSample = samples[samples.length - 1]!;
  lines.push(
    `send_log: ${lastSample.rows.send_log} rows: it holds resends only (this load makes none; a send counts through its ` +
      `auth request); otp_failures keeps two failed-code windows (this load makes no failed attempts).`,
  );
  const achieved = mean(steady.map((s) => s.rps));
  lines.push(
    `Load: ${fmt(achieved, 0)} req/s after warm-up (target ${options.rate}); ${state.sendsOk} sends and ${state.verifiesOk} verifies ok, ` +
      `${state.abandoned} sign-ins abandoned, ${state.skippedVerifies} verifies skipped (no code yet), ${state.shed} requests shed (over ${MAX_IN_FLIGHT} in flight).`,
  );
  if (state.statuses.size > 0) lines.push(`Failures: ${[...state.statuses].map(([label, n]) => `${label} ×${n}`).join(', ')}`);
  return lines;
}
