/**
 * The kit's pure parts and its handlers in process (a `Request` in, a `Response` out). Sesame
 * is never needed here: every case is decided before the kit would call it, and the one call
 * that does go out meets a closed port, which is what a down Sesame looks like. The clock is
 * the only thing the tests control.
 */
import { ERROR_TABLE } from '@sesame/core';
import { describe, expect, it } from 'vitest';
import {
  USER_MESSAGES,
  createAuthMiddleware,
  createSesameAuth,
  createThrottle,
  defaultClientIp,
  userMessage,
  type SesameAuthConfig,
} from '../src/index.js';
import { compilePattern } from '../src/middleware.js';
import { signPendingSignIn, signSession, verifyPendingSignIn, verifySession } from '../src/tokens.js';

const SECRET = 'kit-test-secret-0123456789abcdefghijklmnop';
const ORIGIN = 'http://app.test';

describe('user messages', () => {
  it("uses @sesame/core's user message for every Sesame code", () => {
    for (const [code, spec] of Object.entries(ERROR_TABLE)) {
      expect(USER_MESSAGES[code as keyof typeof USER_MESSAGES]).toBe(spec.userMessage);
    }
  });

  it('spells out the wait and ignores unknown codes', () => {
    expect(userMessage('RATE_LIMITED', 12)).toBe(
      'Too many requests from your network. Please wait a moment. You can try again in 12 seconds.',
    );
    expect(userMessage('SEND_LIMIT_EXCEEDED', 1)).toMatch(/in 1 second\.$/);
    expect(userMessage('<script>alert(1)</script>')).toBeUndefined();
    expect(userMessage('toString')).toBeUndefined();
  });
});

describe('throttle', () => {
  it('allows `limit` hits per sliding window, then answers how long to wait', () => {
    const throttle = createThrottle({ limit: 2, windowSeconds: 60 });
    expect(throttle.hit('a', 0)).toEqual({ allowed: true });
    expect(throttle.hit('a', 10_000)).toEqual({ allowed: true });
    expect(throttle.hit('a', 20_000)).toEqual({ allowed: false, retryAfterSeconds: 40 });
    expect(throttle.hit('b', 20_000)).toEqual({ allowed: true });
    expect(throttle.hit('a', 60_001)).toEqual({ allowed: true });
  });

  it('reads the client address from the nearest hop', () => {
    expect(defaultClientIp(new Headers({ 'x-forwarded-for': '203.0.113.9, 198.51.100.7' }))).toBe('198.51.100.7');
    expect(defaultClientIp(new Headers({ 'x-real-ip': '192.0.2.1' }))).toBe('192.0.2.1');
    expect(defaultClientIp(new Headers())).toBe('unknown');
  });
});

describe('signed cookies', () => {
  it('round-trips a session and rejects tampering, expiry and the wrong secret', async () => {
    const now = Date.UTC(2026, 0, 1);
    const token = await signSession(SECRET, 'ada@example.test', now, 3600);
    expect(await verifySession(SECRET, token, now + 1000)).toEqual({
      email: 'ada@example.test',
      issuedAt: now,
      expiresAt: now + 3_600_000,
    });
    expect(await verifySession(SECRET, token, now + 3_601_000)).toBeNull();
    expect(await verifySession(`${SECRET}x`, token, now)).toBeNull();
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), email: 'eve@example.test' }),
    ).toString('base64url');
    expect(await verifySession(SECRET, `${h!}.${forged}.${s!}`, now)).toBeNull();
    expect(await verifySession(SECRET, 'garbage', now)).toBeNull();
  });

  it('never accepts one kind of token as the other', async () => {
    const now = Date.now();
    const session = await signSession(SECRET, 'ada@example.test', now, 3600);
    const pending = await signPendingSignIn(
      SECRET,
      { authRequestId: 'ar', email: 'ada@example.test', next: '/x', expiresAt: now + 60_000, resendAvailableAt: now },
      now,
      600,
    );
    expect(await verifyPendingSignIn(SECRET, session, now)).toBeNull();
    expect(await verifySession(SECRET, pending, now)).toBeNull();
    expect((await verifyPendingSignIn(SECRET, pending, now))?.authRequestId).toBe('ar');
  });

  it('refuses short secrets', async () => {
    await expect(signSession('short', 'a@b.c', Date.now(), 60)).rejects.toThrow(/at least 32/);
  });
});

describe('middleware', () => {
  it('compiles Next-style matchers', () => {
    const p = compilePattern('/dashboard/:path*');
    expect(['/dashboard', '/dashboard/', '/dashboard/a/b'].every((x) => p.test(x))).toBe(true);
    expect(['/dashboards', '/', '/login'].some((x) => p.test(x))).toBe(false);
    expect(compilePattern('/team/:id').test('/team/7')).toBe(true);
    expect(compilePattern('/team/:id').test('/team/7/x')).toBe(false);
  });

  it('redirects signed-out visitors to login with next, lets sessions through, drops bad cookies', async () => {
    const now = Date.now();
    const middleware = createAuthMiddleware({ sessionSecret: () => SECRET, protect: ['/dashboard/:path*'], secure: true, now: () => now });
    const request = (path: string, cookie?: string): Request =>
      new Request(`${ORIGIN}${path}`, { headers: { host: 'app.test', ...(cookie ? { cookie } : {}) } });

    expect(await middleware(request('/login'))).toBeUndefined();
    const out = await middleware(request('/dashboard?x=1'));
    expect(out?.status).toBe(307);
    expect(out?.headers.get('location')).toBe('http://app.test/login?next=%2Fdashboard%3Fx%3D1');
    expect(out?.headers.get('set-cookie')).toBeNull();

    const good = await signSession(SECRET, 'ada@example.test', now, 3600);
    expect(await middleware(request('/dashboard', `sesame_session=${good}`))).toBeUndefined();

    const bad = await middleware(request('/dashboard/settings', `sesame_session=${good}x`));
    expect(bad?.headers.get('location')).toBe('http://app.test/login?next=%2Fdashboard%2Fsettings');
    expect(bad?.headers.get('set-cookie')).toMatch(/^sesame_session=; Path=\/; Max-Age=0;.*HttpOnly; Secure; SameSite=Lax$/);
  });
});

describe('route handlers', () => {
  let now = Date.now();
  const config: SesameAuthConfig = {
    // Nothing listens on port 9: the one call that reaches "Sesame" fails like a down server.
    sesameUrl: 'http://127.0.0.1:9',
    clientId: 'client',
    clientSecret: 'secret',
    sessionSecret: SECRET,
    session: { secure: false },
    appUrl: ORIGIN,
    // The tests stand for one proxy in front, so X-Forwarded-For's last entry names the client.
    trustedProxyHops: 1,
    throttle: { send: { limit: 1, windowSeconds: 60 }, verify: { limit: 2, windowSeconds: 60 } },
    now: () => now,
  };
  const auth = createSesameAuth(config);

  const post = (path: string, body: Record<string, string>, headers: Record<string, string> = {}, form = false): Request =>
    new Request(`${ORIGIN}${path}`, {
      method: 'POST',
      headers: {
        host: 'app.test',
        'x-forwarded-for': '198.51.100.1',
        'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
        ...headers,
      },
      body: form ? new URLSearchParams(body).toString() : JSON.stringify(body),
    });

  it('refuses cross-site posts before doing anything', async () => {
    const crossSite: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example' },
    ];
    for (const headers of crossSite) {
      const response = await auth.handlers.send(post('/api/auth/send-passwordless', { email: 'a@b.test' }, headers));
      expect(response.status).toBe(403);
    }
    // The confirmation page has no referrer, so its own form posts carry `Origin: null`.
    const fromConfirm = await auth.handlers.verify.POST(
      post(
        '/api/auth/verify',
        { link_token: 'x' },
        { origin: 'null', 'sec-fetch-site': 'same-origin', 'x-forwarded-for': '198.51.100.50' },
        true,
      ),
    );
    expect(fromConfirm.status).toBe(303);
  });

  it('validates the email before calling Sesame', async () => {
    const response = await auth.handlers.send(
      post('/api/auth/send-passwordless', { email: 'nope' }, { 'x-forwarded-for': '198.51.100.2' }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'INVALID_ARGUMENT', message: ERROR_TABLE.INVALID_ARGUMENT.userMessage } });
  });

  it('throttles send per IP with Retry-After, in JSON and for forms', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.3' };
    const first = await auth.handlers.send(post('/api/auth/send-passwordless', { email: 'a@b.test' }, ip));
    expect(first.status).toBe(503); // Sesame is down: the user is told to try again shortly
    expect(((await first.json()) as { error: { code: string; message: string } }).error).toEqual({
      code: 'UNAVAILABLE',
      message: ERROR_TABLE.UNAVAILABLE.userMessage,
    });
    now += 15_000;
    const second = await auth.handlers.send(post('/api/auth/send-passwordless', { email: 'a@b.test' }, ip));
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('45');
    expect(await second.json()).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: 'Too many requests from your network. Please wait a moment. You can try again in 45 seconds.',
        retry_after: 45,
      },
    });
    const asForm = await auth.handlers.send(post('/api/auth/send-passwordless', { email: 'a@b.test', next: '/dashboard?x=1' }, ip, true));
    expect(asForm.status).toBe(303);
    expect(asForm.headers.get('location')).toBe('/login?error=RATE_LIMITED&retry_after=45&next=%2Fdashboard%3Fx%3D1');
    expect(asForm.headers.get('retry-after')).toBe('45');
    // Another address is not affected.
    const other = await auth.handlers.send(
      post('/api/auth/send-passwordless', { email: 'a@b.test' }, { 'x-forwarded-for': '198.51.100.4' }),
    );
    expect(other.status).toBe(503);
  });

  it('throttles verify per IP', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.5' };
    for (let i = 0; i < 2; i++) {
      const response = await auth.handlers.verify.POST(post('/api/auth/verify', { code: '123456' }, ip));
      expect(response.status).toBe(404); // no auth-request cookie: nothing to verify against
    }
    const limited = await auth.handlers.verify.POST(post('/api/auth/verify', { code: '123456' }, ip));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('GET verify without this browser cookie shows the confirmation page and calls nobody', async () => {
    const response = await auth.handlers.verify.GET(
      new Request(`${ORIGIN}/api/auth/verify?link_token=abc%22%3E%3Cscript%3E`, { headers: { host: 'app.test' } }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await response.text();
    expect(html).toContain('<button type="submit" autofocus>Continue signing in</button>');
    expect(html).toContain('method="post" action="/api/auth/verify"');
    expect(html).toContain('value="abc&quot;&gt;&lt;script&gt;"');
    expect(html).not.toContain('<script>');
  });

  it('HEAD on the link never consumes it, even with this browser cookie', async () => {
    const pending = await signPendingSignIn(
      SECRET,
      { authRequestId: 'ar', email: 'ada@example.test', next: '/dashboard', expiresAt: now + 300_000, resendAvailableAt: now },
      now,
      900,
    );
    const response = await auth.handlers.verify.GET(
      new Request(`${ORIGIN}/api/auth/verify?link_token=abc`, {
        method: 'HEAD',
        headers: { host: 'app.test', cookie: `sesame_auth_request=${pending}` },
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
  });

  it('answers the session route and logs out', async () => {
    const token = await signSession(SECRET, 'ada@example.test', now, 3600);
    const session = await auth.handlers.session(
      new Request(`${ORIGIN}/api/auth/session`, { headers: { cookie: `sesame_session=${token}` } }),
    );
    expect(await session.json()).toMatchObject({ authenticated: true, email: 'ada@example.test' });
    const out = await auth.handlers.logout(post('/api/auth/logout', {}, { cookie: `sesame_session=${token}` }, true));
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/login?signed_out=1');
    expect(out.headers.getSetCookie().map((c) => c.split(';')[0])).toEqual(['sesame_session=', 'sesame_auth_request=']);
  });

  it('resend without a pending sign-in asks to start again; during the cooldown it names the wait', async () => {
    const none = await auth.handlers.resend(post('/api/auth/resend-passwordless', {}, { 'x-forwarded-for': '198.51.100.6' }));
    expect(none.status).toBe(404);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('AUTH_REQUEST_NOT_FOUND');
    const pending = await signPendingSignIn(
      SECRET,
      { authRequestId: 'ar', email: 'ada@example.test', next: '/dashboard', expiresAt: now + 300_000, resendAvailableAt: now + 20_000 },
      now,
      900,
    );
    const early = await auth.handlers.resend(
      post('/api/auth/resend-passwordless', {}, { 'x-forwarded-for': '198.51.100.6', cookie: `sesame_auth_request=${pending}` }),
    );
    expect(early.status).toBe(429);
    expect(early.headers.get('retry-after')).toBe('20');
  });

  it('reads its configuration lazily, so a build without secrets can import the routes', async () => {
    const lazy = createSesameAuth(() => {
      throw new Error('SESAME_URL is not set');
    });
    expect(typeof lazy.handlers.send).toBe('function');
    await expect(lazy.handlers.session(new Request(`${ORIGIN}/api/auth/session`))).rejects.toThrow('SESAME_URL is not set');
  });
});
