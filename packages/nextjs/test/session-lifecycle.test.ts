/**
 * A session from sign-in to sign-out, in process (only the clock is ours): claims read back and
 * refused when edited; a server-side sign-out refuses every copy of that session's cookie
 * (renewed or not) while another session's cookie still works; sliding renewal exactly at half
 * the cookie's lifetime, never past the absolute limit, in the session route, `withSession` and
 * the middleware; and the "use a different email" route.
 */
import { describe, expect, it } from 'vitest';
import { createAuthMiddleware, createMemorySessionStore, createSesameAuth, type SesameAuthConfig } from '../src/index.js';
import { signPendingSignIn, signSession, verifySession } from '../src/tokens.js';

const SECRET = 'session-lifecycle-secret-0123456789abcdefghijkl';
const ORIGIN = 'http://app.test';
const T0 = Date.UTC(2026, 5, 1, 12);
const HOUR = 3_600_000;

function setup(overrides: Partial<SesameAuthConfig> = {}) {
  const clock = { now: T0 };
  const auth = createSesameAuth({
    sesameUrl: 'http://127.0.0.1:9',
    clientId: 'client',
    clientSecret: 'secret',
    sessionSecret: SECRET,
    appUrl: ORIGIN,
    session: { secure: false, maxAgeSeconds: 3600, absoluteMaxAgeSeconds: 3 * 3600 },
    now: () => clock.now,
    ...overrides,
  });
  return { auth, clock };
}

/** A cookie as the kit issues it at sign-in. */
function issue(id: string, at: number, claims: Record<string, string> = {}): Promise<string> {
  return signSession(SECRET, 'ada@example.test', at, 3600, { id, claims, signedInAt: at, endsAt: at + 3 * HOUR });
}

const withCookie = (path: string, token: string, init: RequestInit = {}): Request =>
  new Request(`${ORIGIN}${path}`, {
    ...init,
    headers: { host: 'app.test', cookie: `sesame_session=${token}`, ...(init.headers as Record<string, string>) },
  });

const sessionCookieOf = (response: Response): string | undefined =>
  response.headers
    .getSetCookie()
    .find((c) => c.startsWith('sesame_session='))
    ?.split(';')[0]!
    .slice('sesame_session='.length);

describe('claims in the session cookie', () => {
  it('reads the claims back, and refuses the cookie when any claim is edited', async () => {
    const { auth } = setup();
    const token = await issue('s-claims', T0, { userId: 'u-1', role: 'member' });
    expect(await auth.sessionFromRequest(withCookie('/', token))).toMatchObject({
      email: 'ada@example.test',
      id: 's-claims',
      claims: { userId: 'u-1', role: 'member' },
      signedInAt: T0,
      issuedAt: T0,
      expiresAt: T0 + HOUR,
      renewableUntil: T0 + 3 * HOUR,
    });
    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    for (const edit of [
      { role: 'admin' },
      { userId: 'u-2' },
      { extra: true },
      { jti: 'other' },
      { sxp: (payload.sxp as number) + 86_400 },
    ]) {
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, ...edit })).toString('base64url')}.${s}`;
      expect(await auth.sessionFromRequest(withCookie('/', forged)), JSON.stringify(edit)).toBeNull();
    }
  });

  it('a cookie of an older kit (no id, no claims) still reads, with an id of its own', async () => {
    const { auth } = setup();
    const legacy = await signSession(SECRET, 'ada@example.test', T0, 3600);
    const session = await auth.sessionFromRequest(withCookie('/', legacy));
    expect(session).toMatchObject({ email: 'ada@example.test', claims: {}, signedInAt: T0 });
    expect(session?.id).toMatch(/^t\.[\w-]{32}$/);
  });
});

describe('server-side sign-out', () => {
  it('revokes the session: its cookie (and a copy taken before a renewal) is refused everywhere, another session is unaffected', async () => {
    const { auth, clock } = setup();
    const mine = await issue('s-mine', T0);
    const other = await issue('s-other', T0);
    // A renewal before the sign-out: the stolen older copy must die with the newer one.
    clock.now = T0 + 40 * 60_000;
    const renewed = sessionCookieOf(await auth.handlers.session(withCookie('/api/auth/session', mine)));
    expect(renewed).toBeTruthy();
    const out = await auth.handlers.logout(withCookie('/api/auth/logout', renewed!, { method: 'POST' }));
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().map((c) => c.split(';')[0])).toEqual(['sesame_session=', 'sesame_auth_request=']);
    for (const token of [mine, renewed!]) {
      expect(await auth.sessionFromRequest(withCookie('/', token))).toBeNull();
      expect(await (await auth.handlers.session(withCookie('/api/auth/session', token))).json()).toEqual({ authenticated: false });
      const api = await auth.withSession(() => new Response('secret'))(withCookie('/api/data', token), {});
      expect(api.status).toBe(401);
    }
    expect((await auth.sessionFromRequest(withCookie('/', other)))?.id).toBe('s-other');
    // Still refused when its cookie would have been renewable, and not before the last one expires.
    clock.now = T0 + 2.5 * HOUR;
    expect(await auth.sessionFromRequest(withCookie('/', await issue('s-mine', clock.now)))).toBeNull();
  });

  it('a legacy cookie is signed out too', async () => {
    const { auth } = setup();
    const legacy = await signSession(SECRET, 'ada@example.test', T0, 3600);
    await auth.handlers.logout(withCookie('/api/auth/logout', legacy, { method: 'POST' }));
    expect(await auth.sessionFromRequest(withCookie('/', legacy))).toBeNull();
  });

  it('a store that fails counts as signed out; a shared store carries a sign-out to another instance', async () => {
    const failing = setup({
      sessions: {
        revoke: () => undefined,
        isRevoked: () => Promise.reject(new Error('database is locked')),
      },
    });
    expect(await failing.auth.sessionFromRequest(withCookie('/', await issue('s-x', T0)))).toBeNull();
    const shared = createMemorySessionStore({ now: () => T0 });
    const one = setup({ sessions: shared });
    const two = setup({ sessions: shared });
    const token = await issue('s-shared', T0);
    await one.auth.handlers.logout(withCookie('/api/auth/logout', token, { method: 'POST' }));
    expect(await two.auth.sessionFromRequest(withCookie('/', token))).toBeNull();
  });

  it('the in-memory store stays bounded, dropping the oldest revocation first', async () => {
    let now = T0;
    const store = createMemorySessionStore({ maxEntries: 3, now: () => now });
    for (const id of ['a', 'b', 'c', 'd']) await store.revoke(id, T0 + HOUR);
    expect(await Promise.all(['a', 'b', 'c', 'd'].map(async (id) => store.isRevoked(id)))).toEqual([false, true, true, true]);
    now = T0 + HOUR;
    expect(await store.isRevoked('d')).toBe(false);
  });
});

describe('sliding renewal', () => {
  it('renews from exactly half the lifetime, keeping id, claims and sign-in time', async () => {
    const { auth, clock } = setup();
    const token = await issue('s-renew', T0, { userId: 'u-1' });
    clock.now = T0 + 30 * 60_000 - 1000;
    expect(sessionCookieOf(await auth.handlers.session(withCookie('/api/auth/session', token)))).toBeUndefined();
    clock.now = T0 + 30 * 60_000;
    const response = await auth.handlers.session(withCookie('/api/auth/session', token));
    expect(response.headers.getSetCookie()[0]).toMatch(/^sesame_session=[^;]+; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/);
    const renewed = await verifySession(SECRET, sessionCookieOf(response), clock.now);
    expect(renewed).toMatchObject({
      id: 's-renew',
      claims: { userId: 'u-1' },
      signedInAt: T0,
      issuedAt: clock.now,
      expiresAt: clock.now + HOUR,
    });
    expect(await response.json()).toMatchObject({ authenticated: true, claims: { userId: 'u-1' } });
  });

  it('never past the absolute limit, and not at all when turned off', async () => {
    const { auth, clock } = setup();
    const late = await signSession(SECRET, 'ada@example.test', T0 + 2.5 * HOUR, 3600, {
      id: 's-late',
      signedInAt: T0,
      endsAt: T0 + 3 * HOUR,
    });
    clock.now = T0 + 2.5 * HOUR + 31 * 60_000;
    const response = await auth.handlers.session(withCookie('/api/auth/session', late));
    // 29 minutes left on the cookie and the limit 29 minutes away: nothing to extend.
    expect(sessionCookieOf(response)).toBeUndefined();
    const off = setup({ session: { secure: false, maxAgeSeconds: 3600, renew: false } });
    off.clock.now = T0 + 50 * 60_000;
    expect(sessionCookieOf(await off.auth.handlers.session(withCookie('/api/auth/session', await issue('s-off', T0))))).toBeUndefined();
  });

  it('withSession renews on the handler response and passes the session and context through', async () => {
    const { auth, clock } = setup();
    const handler = auth.withSession<{ params: Promise<{ id: string }> }>(async (_request, session, context) =>
      Response.json({ userId: session.claims.userId, id: (await context.params).id }),
    );
    clock.now = T0 + 45 * 60_000;
    const response = await handler(withCookie('/api/items/7', await issue('s-ws', T0, { userId: 'u-9' })), {
      params: Promise.resolve({ id: '7' }),
    });
    expect(await response.json()).toEqual({ userId: 'u-9', id: '7' });
    expect(sessionCookieOf(response)).toBeTruthy();
    const signedOut = await handler(new Request(`${ORIGIN}/api/items/7`), { params: Promise.resolve({ id: '7' }) });
    expect(signedOut.status).toBe(401);
    expect(await signedOut.json()).toEqual({ error: { code: 'NOT_SIGNED_IN', message: 'Please sign in to continue.' } });
  });

  it('the middleware renews with NextResponse.next(), refuses a revoked session when given the store', async () => {
    const sessions = createMemorySessionStore({ now: () => T0 });
    let now = T0;
    const middleware = createAuthMiddleware({
      sessionSecret: SECRET,
      protect: ['/dashboard/:path*'],
      sessions,
      now: () => now,
      secure: true,
    });
    const token = await issue('s-mw', T0, { userId: 'u-1' });
    expect(await middleware(withCookie('/dashboard', token))).toBeUndefined();
    now = T0 + 31 * 60_000;
    const through = await middleware(withCookie('/dashboard', token));
    expect(through?.headers.get('x-middleware-next')).toBe('1');
    const cookie = through?.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^sesame_session=[^;]+; Path=\/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax$/);
    expect(await verifySession(SECRET, cookie.split(';')[0]!.slice('sesame_session='.length), now)).toMatchObject({
      id: 's-mw',
      claims: { userId: 'u-1' },
    });
    await sessions.revoke('s-mw', T0 + 3 * HOUR);
    expect((await middleware(withCookie('/dashboard', token)))?.status).toBe(307);
  });
});

describe('cancel: use a different email', () => {
  it('clears the pending sign-in (JSON ok, form back to login with its next), refuses cross-site', async () => {
    const { auth } = setup();
    const pending = await signPendingSignIn(
      SECRET,
      { authRequestId: 'ar', email: 'ada@example.test', next: '/reports?q=1', expiresAt: T0 + 300_000, resendAvailableAt: T0 },
      T0,
      900,
    );
    const request = (type: string, extra: Record<string, string> = {}) =>
      new Request(`${ORIGIN}/api/auth/cancel`, {
        method: 'POST',
        headers: { host: 'app.test', cookie: `sesame_auth_request=${pending}`, 'content-type': type, ...extra },
        body: type === 'application/json' ? '{}' : '',
      });
    const json = await auth.handlers.cancel(request('application/json'));
    expect(await json.json()).toEqual({ ok: true });
    expect(json.headers.getSetCookie().map((c) => c.split(';')[0])).toEqual(['sesame_auth_request=']);
    const form = await auth.handlers.cancel(request('application/x-www-form-urlencoded'));
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toBe('/login?next=%2Freports%3Fq%3D1');
    const cross = await auth.handlers.cancel(request('application/json', { 'sec-fetch-site': 'cross-site' }));
    expect(cross.status).toBe(403);
    expect(cross.headers.getSetCookie()).toEqual([]);
  });
});
