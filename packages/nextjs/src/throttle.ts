/**
 * Per-key sliding-window throttle kept in memory: the app-level, per-IP guard in front of
 * Sesame's own per-address limits. Memory is per server process, which suits one instance; a
 * fleet keeps Sesame's database-backed limits as the real bound.
 */

export interface ThrottleRule {
  /** Requests allowed per window. */
  readonly limit: number;
  readonly windowSeconds: number;
}

export type ThrottleDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

export interface Throttle {
  hit(key: string, now: number): ThrottleDecision;
}

/** Past this many tracked keys, stale ones are swept so a flood of addresses cannot grow memory without bound. */
const SWEEP_THRESHOLD = 10_000;

export function createThrottle(rule: ThrottleRule): Throttle {
  if (!(rule.limit >= 1) || !(rule.windowSeconds > 0)) throw new RangeError('A throttle needs limit >= 1 and windowSeconds > 0.');
  const windowMs = rule.windowSeconds * 1000;
  const hits = new Map<string, number[]>();

  function sweep(now: number): void {
    for (const [key, times] of hits) {
      if (times.length === 0 || times[times.length - 1]! <= now - windowMs) hits.delete(key);
    }
  }

  return {
    hit(key, now) {
      if (hits.size > SWEEP_THRESHOLD) sweep(now);
      const recent = (hits.get(key) ?? []).filter((t) => t > now - windowMs);
      if (recent.length >= rule.limit) {
        hits.set(key, recent);
        const oldest = recent[0]!;
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowMs - now) / 1000)) };
      }
      recent.push(now);
      hits.set(key, recent);
      return { allowed: true };
    },
  };
}

/** What `clientIp` receives: a `Request`, or the headers of a Server Action's request. */
export interface ClientIpSource {
  readonly headers: Headers;
}

/** The app's own way to name the client (e.g. a header its platform sets and clients cannot). */
export type ClientIpFunction = (request: ClientIpSource) => string | null | undefined;

export interface ClientKeyOptions {
  /** Proxies in front of the app that each append the address they saw to X-Forwarded-For. */
  readonly trustedProxyHops?: number | undefined;
  readonly clientIp?: ClientIpFunction | undefined;
}

/**
 * The bucket for requests whose client cannot be told apart: every such request of this
 * process shares it. A header the client writes never picks another bucket, so it can never
 * raise its allowance.
 */
export const UNATTRIBUTED_KEY = 'unattributed';

/**
 * The throttle key of a request. With an app-supplied `clientIp`, its answer; with N trusted
 * hops, the Nth X-Forwarded-For entry from the right (the address the outermost trusted proxy
 * saw; everything left of it was written by the client); otherwise nothing the client sends is
 * believed and the request is unattributed. X-Real-IP and Forwarded are never read here:
 * `next start` passes them through from the client unchanged.
 */
export function clientKey(request: ClientIpSource, options: ClientKeyOptions): string {
  let address: string | null | undefined;
  if (options.clientIp !== undefined) {
    address = options.clientIp(request);
  } else {
    const hops = options.trustedProxyHops ?? 0;
    if (hops > 0) {
      const entries = (request.headers.get('x-forwarded-for') ?? '').split(',').map((e) => e.trim());
      // Fewer entries than trusted hops: the request did not come through every proxy.
      address = entries.length >= hops ? entries[entries.length - hops] : undefined;
    }
  }
  const normalised = typeof address === 'string' ? normaliseAddress(address) : undefined;
  return normalised === undefined ? UNATTRIBUTED_KEY : `ip:${normalised}`;
}

/**
 * One key per client: IPv4 as is, IPv6 by its /64 (one subscriber's prefix, whose 2^64
 * addresses its owner can pick from freely), IPv4-mapped IPv6 as IPv4. Anything that is not an
 * address (a proxy misconfiguration) is unattributed rather than trusted as a key.
 */
export function normaliseAddress(raw: string): string | undefined {
  let value = raw.trim().toLowerCase();
  if (value === '' || value.length > 64) return undefined;
  // "[v6]:port" and "v4:port" as some proxies write them.
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d+)?$/.exec(value);
  if (bracketed) value = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(value)) value = value.slice(0, value.indexOf(':'));
  if (isIPv4(value)) return value;
  const groups = expandIPv6(value);
  if (groups === undefined) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

function isIPv4(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function expandIPv6(value: string): number[] | undefined {
  if (!/^[0-9a-f:.]+$/.test(value) || !value.includes(':')) return undefined;
  let text = value;
  // An embedded IPv4 tail ("::ffff:192.0.2.1") stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    if (!isIPv4(last)) return undefined;
    const [a, b, c, d] = last.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === undefined || rest === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  if (head.length + rest.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

/**
 * No longer the default: it trusts the rightmost X-Forwarded-For entry, else X-Real-IP, which is
 * right only behind exactly one proxy that sets both (and lets a client that reaches the app
 * directly pick its own key). Prefer `trustedProxyHops` or `clientIp`; kept for apps that
 * passed it as their `throttle.clientIp`.
 */
export function defaultClientIp(headers: Headers): string {
  const forwarded = headers.get('x-forwarded-for');
  if (forwarded !== null) {
    const entries = forwarded
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
    const last = entries[entries.length - 1];
    if (last !== undefined) return last;
  }
  return headers.get('x-real-ip')?.trim() ?? 'unknown';
}
