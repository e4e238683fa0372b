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

/**
 * The client's address as the app sees it. `next start` fills `X-Forwarded-For` with the socket
 * address only when the header is absent, and a proxy in front appends the address it saw, so
 * the rightmost entry is the one the nearest hop vouches for. Deployments with several proxies
 * pass their own `clientIp`.
 */
export function defaultClientIp(headers: Headers): string {
  const forwarded = headers.get('x-forwarded-for');
  if (forwarded !== null) {
    const entries = forwarded.split(',').map((e) => e.trim()).filter((e) => e !== '');
    const last = entries[entries.length - 1];
    if (last !== undefined) return last;
  }
  return headers.get('x-real-ip')?.trim() ?? 'unknown';
}
