/**
 * The magic link's origin, the CSRF check's origin and the middleware's login redirect come
 * from configuration (`appUrl`), never from Host / X-Forwarded-Host / Forwarded /
 * X-Forwarded-Proto, which `next start` passes through from the client. Sends go to a real
 * `sesame start` process with real SMTP (its client allows only the app's verify URL), so the
 * test reads the link in the email a victim would get. Header values are generated.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAuthMiddleware, createSesameAuth, type SesameAuthConfig } from '../src/index.js';
import { startSesameWithMail, type RunningSesame } from '@sesame/testkit';

const SECRET = 'app-origin-secret-0123456789abcdefghijklmnop';
/** The origin of the redirect URI the Sesame helper registers for its client. */
const APP = 'http://127.0.0.1:3999';
const LINK_PREFIX = `${APP}/api/auth/verify?link_token=`;

let sesame: RunningSesame;
let counter = 0;
const nextEmail = (name: string): string => `${name}-${++counter}-${process.pid}@example.test`;

const evilHost = fc.oneof(
  fc.constantFrom(
    'evil.example',
    'evil.example:443',
    '127.0.0.1.evil.example',
    'localhost.evil.example',
    'evil.example:3999',
    '127.0.0.1:3999.evil.example',
  ),
  fc.domain(),
);
/** Forwarding headers as an attacker would send them; X-Forwarded-Host always present. */
const hostileForwarding = fc.record(
  {
    'x-forwarded-host': evilHost,
    forwarded: evilHost.map((h) => `host=${h};proto=https`),
    'x-forwarded-proto': fc.constantFrom('https', 'http', 'https, http', 'javascript'),
    'x-forwarded-port': fc.constantFrom('443', '80', '1'),
    'x-forwarded-for': fc.ipV4(),
    'x-original-host': evilHost,
  },
  { requiredKeys: ['x-forwarded-host'] },
);

function auth(extra: Partial<SesameAuthConfig> = {}) {
  return createSesameAuth({
    sesameUrl: sesame.url,
    clientId: sesame.clientId,
    clientSecret: sesame.clientSecret,
    sessionSecret: SECRET,
    session: { secure: false },
    throttle: { send: false, verify: false },
    ...extra,
  });
}

function send(email: string, headers: Record<string, string>): Request {
  return new Request(`${APP}/api/auth/send-passwordless`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ email }),
  });
}

beforeAll(async () => {
  sesame = await startSesameWithMail();
}, 60_000);

afterAll(async () => {
  await sesame.stop();
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('magic link origin', () => {
  it('development without appUrl: a loopback Host is used and generated forwarding headers change nothing', async () => {
    const kit = auth();
    for (const headers of fc.sample(hostileForwarding, { numRuns: 12, seed: 2 })) {
      const email = nextEmail('loopback');
      const response = await kit.handlers.send(send(email, { ...headers, host: '127.0.0.1:3999' }));
      expect(response.status, JSON.stringify(headers)).toBe(200);
      const mail = await sesame.nthMail(email, 0);
      expect(mail.link?.startsWith(LINK_PREFIX), `${JSON.stringify(headers)} -> ${mail.link}`).toBe(true);
    }
  });

  it('development without appUrl: any other Host is refused with 400 HOST_NOT_ALLOWED and nothing is sent', async () => {
    const kit = auth();
    const hosts = [
      'evil.example',
      'app.example:3000',
      '127.0.0.1.evil.example',
      'localhost.evil.example',
      '127.0.0.2:3999',
      '0.0.0.0:3999',
      '[::2]:3999',
      '10.0.0.1',
      'localhost:3999@evil.example',
      '127.0.0.1:3999/evil',
      ...fc.sample(fc.domain(), { numRuns: 8, seed: 3 }),
    ];
    const refused: string[] = [];
    for (const host of [...hosts, undefined]) {
      const email = nextEmail('foreign-host');
      refused.push(email);
      const headers: Record<string, string> = host === undefined ? {} : { host };
      const response = await kit.handlers.send(send(email, { ...headers, 'x-forwarded-host': '127.0.0.1:3999' }));
      expect(response.status, String(host)).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('HOST_NOT_ALLOWED');
    }
    // A control send after them arrives; none of the refused ones ever did.
    const control = nextEmail('control');
    expect((await kit.handlers.send(send(control, { host: '127.0.0.1:3999' }))).status).toBe(200);
    await sesame.nthMail(control, 0);
    await new Promise((r) => setTimeout(r, 500));
    expect(sesame.mails.filter((m) => refused.includes(m.recipient))).toEqual([]);
  });

  it('production with appUrl: generated Host and forwarding headers never move the link', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const kit = auth({ appUrl: `${APP}/` });
    const headerSets = fc.sample(fc.tuple(evilHost, hostileForwarding), { numRuns: 10, seed: 4 });
    for (const [host, headers] of headerSets) {
      const email = nextEmail('configured');
      const response = await kit.handlers.send(send(email, { ...headers, host }));
      expect(response.status, JSON.stringify(headers)).toBe(200);
      expect((await sesame.nthMail(email, 0)).link?.startsWith(LINK_PREFIX)).toBe(true);
    }
  });

  it('production without appUrl is a configuration error naming appUrl; a malformed appUrl is refused', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    await expect(auth().handlers.send(send('a@example.test', { host: '127.0.0.1:3999' }))).rejects.toThrow(
      /appUrl is required when NODE_ENV=production/,
    );
    expect(() => auth().settings()).toThrow(/appUrl/);
    vi.stubEnv('NODE_ENV', 'development');
    for (const bad of [
      'app.example',
      'ftp://app.example',
      'http://user:pw@app.example',
      'http://app.example/?x=1',
      'http://app.example/#x',
      'http://app.example\\@evil.example',
      'http://app.example /x',
      'http://app.example\t',
      'javascript:alert(1)',
    ]) {
      expect(() => auth({ appUrl: bad }).settings(), bad).toThrow(/appUrl must be/);
    }
  });
});

describe('CSRF origin check', () => {
  it("without Sec-Fetch-Site, Origin must be the configured app's origin, whatever Host and X-Forwarded-Host say", async () => {
    const kit = auth({ appUrl: APP });
    for (const host of fc.sample(evilHost, { numRuns: 10, seed: 5 })) {
      const forged = await kit.handlers.send(send(nextEmail('csrf'), { origin: `http://${host}`, host, 'x-forwarded-host': host }));
      expect(forged.status, host).toBe(403);
    }
    const email = nextEmail('csrf-ok');
    const honest = await kit.handlers.send(send(email, { origin: APP, host: 'evil.example', 'x-forwarded-host': 'evil.example' }));
    expect(honest.status).toBe(200);
  });
});

describe('middleware login redirect', () => {
  const request = (url: string, headers: Record<string, string>): Request => new Request(url, { headers });

  it('with appUrl, generated Host / X-Forwarded-* / Forwarded headers never move the redirect', async () => {
    const protect = createAuthMiddleware({ sessionSecret: SECRET, protect: ['/dashboard/:path*'], appUrl: () => APP });
    for (const [host, headers] of fc.sample(fc.tuple(evilHost, hostileForwarding), { numRuns: 50, seed: 6 })) {
      const out = await protect(request(`${APP}/dashboard?x=1`, { ...headers, host }));
      expect(out?.headers.get('location'), JSON.stringify(headers)).toBe(`${APP}/login?next=%2Fdashboard%3Fx%3D1`);
    }
  });

  it('without appUrl, a loopback Host is kept (the cookie host) and forwarding headers are ignored', async () => {
    const protect = createAuthMiddleware({ sessionSecret: SECRET, protect: ['/dashboard/:path*'] });
    for (const host of ['localhost:3999', '127.0.0.1:3999', '[::1]:3999']) {
      for (const headers of fc.sample(hostileForwarding, { numRuns: 10, seed: 7 })) {
        const out = await protect(request(`${APP}/dashboard`, { ...headers, host }));
        expect(out?.headers.get('location'), JSON.stringify(headers)).toBe(`http://${host}/login?next=%2Fdashboard`);
      }
    }
  });

  it('never carries a next that leaves the app', async () => {
    const protect = createAuthMiddleware({ sessionSecret: SECRET, protect: ['/:path*'], appUrl: APP });
    for (const path of ['//evil.example', '//evil.example/dashboard', '/%2f/evil.example', '/a/..//evil.example']) {
      const out = await protect(request(`${APP}${path}`, { host: '127.0.0.1:3999' }));
      const location = new URL(out!.headers.get('location')!);
      expect(location.origin).toBe(APP);
      const next = location.searchParams.get('next');
      if (next !== null) expect(new URL(next, APP).origin, path).toBe(APP);
    }
  });
});
