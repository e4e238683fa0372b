/** bench:growth's options and bounds. */
import { tmpdir } from 'node:os';
import { STANDARD_WINDOW } from '../lib/closed-loop.js';

export interface Options {
  readonly rows: number;
  readonly rebuild: boolean;
  readonly buildOnly: boolean;
}

export const { concurrency: CONCURRENCY, warmUpMs: WARM_UP_MS, measureMs: MEASURE_MS, maxRequests: MAX_REQUESTS } = STANDARD_WINDOW;
/** Auth requests wanted for each verify workload (by code, by link) before the verify phases. */
export const VERIFY_POOL = 60_000;
/** Bound on the untimed sends that top the pool up. */
export const FILL_MS = 45_000;
/** Bound on waiting for the outbox to deliver what a phase queued. */
export const DRAIN_MS = 30_000;
/** The load part of the run (after the prefilled file is ready) is stopped past this. */
export const RUN_LIMIT_MS = 8 * 60_000;
/** Building the prefilled file is stopped past this. */
export const BUILD_LIMIT_MS = 20 * 60_000;
export const P99_TARGET = 1.5;

export const CACHE_DIR = process.env.SESAME_GROWTH_CACHE_DIR ?? tmpdir();
export const DAY_MS = 86_400_000;
/** The server's default retention (one day). */
export const RETENTION_S = 86_400;

export function parseOptions(argv: readonly string[]): Options {
  let rows = 10_000_000;
  let rebuild = false;
  let buildOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--rows') {
      rows = Number(argv[++i]?.replace(/_/g, ''));
      if (!Number.isInteger(rows) || rows < 1_000) throw new Error('--rows wants an integer ≥ 1000');
    } else if (arg === '--rebuild') rebuild = true;
    else if (arg === '--build-only') buildOnly = true;
    else throw new Error(`unknown option ${arg} (known: --rows N, --rebuild, --build-only)`);
  }
  return { rows, rebuild, buildOnly };
}
