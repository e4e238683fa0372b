/**
 * The per-client throttle's key never comes from a header the client writes. With no trusted
 * proxy (the default), X-Forwarded-For, Forwarded and X-Real-IP are ignored: 25+ sends each
 * carrying different made-up values hit the limit at exactly the same request as 25 sends
 * without them. With N trusted hops only the Nth X-Forwarded-For entry from the right counts,
 * whatever the client prepends. Sesame is a closed port here: an allowed send answers 503
 * (Sesame down), a throttled one 429, and nothing else is needed to tell them apart.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UNATTRIBUTED_KEY, clientKey, createSesameAuth, type SesameAuthConfig } from '../src/index.js';
import { normaliseAddress } from '../src/throttle.js';

const SECRET = 'throttle-key-secret-0123456789abcdefghijklmnop';
const ORIGIN = 'http://app.test';
const LIMIT = 10;
const SENDS = 30;

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const ipv6 = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16)).join(':'));
const address = fc.oneof(ipv4, ipv6, fc.constantFrom('unknown', '127.0.0.1', '::1', '10.0.0.1', 'localhost', '_hidden', ''));
const list = fc.array(address, { minLength: 1, maxLength: 6 }).map((a) => a.join(', '));

/** Every spelling a client could use to claim another address. */
const spoofedHeaders = fc.record(
  {
    'x-forwarded-for': list,
    forwarded: fc
      .array(
        fc.oneof(
          ipv4.map((a) => `for=${a}`),
          ipv6.map((a) => `for="[${a}]"`),
          address.map((a) => `for=${a};proto=https;host=evil.example`),
        ),
        { minLength: 1, maxLength: 3 },
      )
      .map((p) => p.join(', ')),
    'x-real-ip': address,
    'true-client-ip': address,
    'cf-connecting-ip': address,
    'x-client-ip': address,
  },
  { requiredKeys: [] },
);

function sendRequest(headers: Record<string, string>): Request {
  return new Request(`${ORIGIN}/api/auth/send-passwordless`, {
    method: 'POST',
    headers: { host: 'app.test', 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ email: 'ada@example.test' }),
  });
}

function freshAuth(extra: Partial<SesameAuthConfig> = {}) {
  return createSesameAuth({
    sesameUrl: 'http://127.0.0.1:9',
    clientId: 'client',
    clientSecret: 'secret',
    sessionSecret: SECRET,
    appUrl: ORIGIN,
    session: { secure: false },
    throttle: { send: { limit: LIMIT, windowSeconds: 60 }, verify: false },
    now: () => Date.UTC(2026, 0, 1),
    ...extra,
  });
}

async function statuses(auth: ReturnType<typeof freshAuth>, headersFor: (i: number) => Record<string, string>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < SENDS; i++) {
    const response = await auth.handlers.send(sendRequest(headersFor(i)));
    await response.body?.cancel();
    out.push(response.status);
  }
  return out;
}

describe('throttle key: client-written headers never raise the allowance', () => {
  it(`${SENDS} sends with ${SENDS} generated X-Forwarded-For / Forwarded / X-Real-IP sets hit the limit exactly as ${SENDS} without`, async () => {
    const baseline = await statuses(freshAuth(), () => ({}));
    expect(baseline).toEqual([...Array<number>(LIMIT).fill(503), ...Array<number>(SENDS - LIMIT).fill(429)]);

    const sets = fc.sample(spoofedHeaders, { numRuns: SENDS, seed: 20 });
    // Make sure the sample really claims a different address on every request.
    const withDistinctXff = sets.map((s, i) => ({ ...s, 'x-forwarded-for': `198.51.100.${i + 1}` }));
    for (const headers of [sets, withDistinctXff]) {
      expect(await statuses(freshAuth(), (i) => headers[i]!)).toEqual(baseline);
    }
  });

  it('with no trusted hop, every generated header set lands in the one unattributed bucket', () => {
    fc.assert(
      fc.property(spoofedHeaders, (headers) => {
        expect(clientKey({ headers: new Headers(headers) }, {})).toBe(UNATTRIBUTED_KEY);
        expect(clientKey({ headers: new Headers(headers) }, { trustedProxyHops: 0 })).toBe(UNATTRIBUTED_KEY);
      }),
      { numRuns: 1000 },
    );
  });

  it('with N trusted hops, only the Nth X-Forwarded-For entry from the right counts, whatever the client prepends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        list,
        ipv4,
        fc.array(ipv4, { minLength: 2, maxLength: 2 }),
        spoofedHeaders,
        (hops, junk, client, proxies, other) => {
          // The client's own text, then what each trusted proxy appended (the client's address first).
          const appended = [client, ...proxies].slice(0, hops);
          const headers = new Headers({ ...other, 'x-forwarded-for': `${junk}, ${appended.join(', ')}` });
          expect(clientKey({ headers }, { trustedProxyHops: hops })).toBe(`ip:${client}`);
        },
      ),
      { numRuns: 1000 },
    );
    // Fewer entries than trusted hops: the request skipped a proxy, so it is not attributed.
    expect(clientKey({ headers: new Headers({ 'x-forwarded-for': '203.0.113.7' }) }, { trustedProxyHops: 2 })).toBe(UNATTRIBUTED_KEY);
    expect(clientKey({ headers: new Headers() }, { trustedProxyHops: 1 })).toBe(UNATTRIBUTED_KEY);
  });

  it('behind one trusted proxy, spoofed left-hand entries share the real address bucket; another real address has its own', async () => {
    const auth = freshAuth({ trustedProxyHops: 1 });
    const sets = fc.sample(spoofedHeaders, { numRuns: SENDS, seed: 7 });
    const results = await statuses(auth, (i) => ({
      ...sets[i]!,
      'x-forwarded-for': `${sets[i]!['x-forwarded-for'] ?? '10.9.9.9'}, 203.0.113.50`,
    }));
    expect(results).toEqual([...Array<number>(LIMIT).fill(503), ...Array<number>(SENDS - LIMIT).fill(429)]);
    const other = await auth.handlers.send(sendRequest({ 'x-forwarded-for': '203.0.113.50, 203.0.113.51' }));
    expect(other.status).toBe(503);
  });

  it("an app's clientIp decides, X-Forwarded-For does not; null means unattributed; the old throttle.clientIp still works", () => {
    const headers = new Headers({ 'x-forwarded-for': '198.51.100.1', 'x-real-ip': '192.0.2.44' });
    const realIp = (request: { headers: Headers }) => request.headers.get('x-real-ip');
    expect(clientKey({ headers }, { clientIp: realIp, trustedProxyHops: 1 })).toBe('ip:192.0.2.44');
    expect(clientKey({ headers: new Headers() }, { clientIp: realIp })).toBe(UNATTRIBUTED_KEY);
    expect(clientKey({ headers }, { clientIp: () => 'not an address' })).toBe(UNATTRIBUTED_KEY);
  });

  it('one key per client: IPv6 by its /64, IPv4-mapped as IPv4, ports and brackets dropped, non-addresses refused', () => {
    expect(normaliseAddress('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(normaliseAddress('2001:DB8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(normaliseAddress('[2001:db8:1:2::9]:443')).toBe('2001:db8:1:2::/64');
    expect(normaliseAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normaliseAddress('192.0.2.1:5555')).toBe('192.0.2.1');
    expect(normaliseAddress('::1')).toBe('0:0:0:0::/64');
    for (const bad of ['', 'unknown', '256.1.1.1', '1.2.3', '1:2:3:4:5:6:7:8:9', '1::2::3', 'x'.repeat(80), '_hidden', 'evil.example']) {
      expect(normaliseAddress(bad), bad).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.ipV6(), (a) => {
        const key = normaliseAddress(a);
        expect(key).toBeDefined();
      }),
      { numRuns: 500 },
    );
  });
});

describe('legacy throttle.clientIp', () => {
  it('is still honoured (receives the headers)', async () => {
    const auth = freshAuth({
      throttle: { send: { limit: 1, windowSeconds: 60 }, verify: false, clientIp: (h) => h.get('x-test-ip') ?? 'unknown' },
    });
    expect((await auth.handlers.send(sendRequest({ 'x-test-ip': '192.0.2.1' }))).status).toBe(503);
    expect((await auth.handlers.send(sendRequest({ 'x-test-ip': '192.0.2.1' }))).status).toBe(429);
    expect((await auth.handlers.send(sendRequest({ 'x-test-ip': '192.0.2.2' }))).status).toBe(503);
  });
});
