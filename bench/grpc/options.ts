/** bench:grpc's options (read once, at start) and the bounds they set. */
import { parseArgs } from 'node:util';
import { STANDARD_WINDOW } from '../lib/closed-loop.js';

export const OPERATIONS = ['send', 'verify-otp', 'verify-link'] as const;
export type OperationName = (typeof OPERATIONS)[number];
export type Protocol = 'REST' | 'gRPC';
export type GrpcClientKind = 'sdk' | 'connect' | 'h2';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
    only: { type: 'string', default: OPERATIONS.join(',') },
    'grpc-client': { type: 'string', default: 'sdk' },
    sessions: { type: 'string', default: '1' },
    pool: { type: 'string', default: '60000' },
  },
  strict: true,
});

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} wants a positive integer, not ${text}`);
  return value;
}

function grpcClientKind(text: string): GrpcClientKind {
  if (text !== 'sdk' && text !== 'connect' && text !== 'h2') throw new Error(`--grpc-client is sdk, connect or h2, not ${text}`);
  return text;
}

export const MEASURE_MS = positive('seconds', args.seconds) * 1000;
export const CONCURRENCY = positive('connections', args.connections);
export const SESSIONS = positive('sessions', args.sessions);
export const POOL = positive('pool', args.pool);
export const GRPC_CLIENT = grpcClientKind(args['grpc-client']);
const ONLY = args.only.split(',').map((s) => s.trim());
for (const name of ONLY) if (!(OPERATIONS as readonly string[]).includes(name)) throw new Error(`--only: unknown operation ${name}`);
export const SELECTED = OPERATIONS.filter((o) => ONLY.includes(o));

export const { warmUpMs: WARM_UP_MS, maxRequests: MAX_REQUESTS } = STANDARD_WINDOW;
/** Untimed sends before a verify phase stop at POOL or after this long. */
export const FILL_MS = 16_000;
/** Then the captured mail is asked for until this long has passed (each ask returns within 25 s). */
export const DRAIN_MS = 15_000;
/** Extra node options for the server processes, e.g. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'. */
export const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
/** Per request; the SDK's default deadline. */
export const REQUEST_TIMEOUT_MS = 20_000;
/** The whole run, with the default window; longer windows add their extra time. */
export const HARD_LIMIT_MS = 235_000 + 2 * SELECTED.length * Math.max(0, MEASURE_MS - 8_000);
