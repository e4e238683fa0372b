/** The soak's options and the shape of its load. */
import { parseArgs } from 'node:util';

export const SAMPLE_MS = 10_000;
export const EXPIRES_IN_S = 60;
/**
 * A send counts toward the per-address limit for the policy's send window (60 s by default)
 * through its auth request, and the sweeper keeps a request until it is two windows old
 * (packages/server/src/ops/sweeper.ts, LOG_RETENTION_WINDOWS) even when it expired before.
 */
const KEPT_FOR_SEND_LIMIT_S = 2 * 60;
/** How long a request's rows may live here: its expiry or the send-limit keep, whichever is longer. */
export const ROW_LIFETIME_S = Math.max(EXPIRES_IN_S, KEPT_FOR_SEND_LIMIT_S);
/** Sends per cycle of 20 requests; the rest are verifies. */
export const SENDS_PER_20 = 11;
/** An item not verified within this long is an abandoned sign-in (it expires at 60 s). */
export const ABANDON_AFTER_MS = 30_000;
/** Each address sends at most once per pool / send rate seconds: under the 2-per-minute limit at 500 req/s. */
export const ADDRESS_POOL = 50_000;
/** Open-loop shedding: beyond this many requests in flight, due requests are dropped (and counted). */
export const MAX_IN_FLIGHT = 512;
/** Per request, so a stuck one is counted as failed rather than held for ever. */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface Options {
  readonly minutes: number;
  readonly rate: number;
  readonly sweepMs: number;
  readonly port: number;
}

export function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      rate: { type: 'string', default: '500' },
      'sweep-ms': { type: 'string', default: '2000' },
      port: { type: 'string', default: '4760' },
    },
  });
  const number = (name: string, value: string, min: number, max: number): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be between ${min} and ${max}`);
    return n;
  };
  return {
    minutes: number('minutes', values.minutes, 1, 60),
    rate: number('rate', values.rate, 10, 5_000),
    sweepMs: number('sweep-ms', values['sweep-ms'], 100, 60_000),
    port: number('port', values.port, 1_024, 65_000),
  };
}
