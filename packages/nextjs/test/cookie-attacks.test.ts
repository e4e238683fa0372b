/**
 * The kit's signed cookies under attack: an expired, forged (payload edited, signature
 * kept), other-secret-signed, `alg: none`, HS512 or wrong-audience session cookie is refused by
 * the verifier, by the middleware (redirect to login, cookie cleared) and by the session route
 * (not authenticated); the auth-request cookie likewise. A cookie we sign correctly passes all
 * three, so each refusal is about its defect. Only the clock is ours.
 */
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createAuthMiddleware, createSesameAuth } from '../src/index.js';
import { signPendingSignIn, signSession, verifyPendingSignIn, verifySession } from '../src/tokens.js';

const SECRET = 'cookie-attacks-secret-0123456789abcdefghijklmnop';
const ORIGIN = 'http://app.test';
const NOW = Date.UTC(2026, 2, 1, 12);
const key = new TextEncoder().encode(SECRET);
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const decode = (part: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

function sessionClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(NOW / 1000);
  return { email: 'ada@example.test', sub: 'ada@example.test', iss: 'sesame-nextjs', aud: 'session', iat, exp: iat + 3600, ...overrides };
}

async function signWith(secret: Uint8Array, payload: Record<string, unknown>, alg = 'HS256'): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(secret);
}

async function attacks(): Promise<Array<[string, string]>> {
  const good = await signSession(SECRET, 'ada@example.test', NOW, 3600);
  const [header, payload, signature] = good.split('.') as [string, string, string];
  return [
    ['expired', await signSession(SECRET, 'ada@example.test', NOW - 7200_000, 3600)],
    ['forged email', `${header}.${b64({ ...decode(payload), email: 'eve@example.test', sub: 'eve@example.test' })}.${signature}`],
    ['forged expiry', `${header}.${b64({ ...decode(payload), exp: Number(decode(payload).exp) + 86_400 })}.${signature}`],
    ['other secret', await signSession('another-secret-0123456789abcdefghijklmnopq', 'ada@example.test', NOW, 3600)],
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(sessionClaims())}.`],
    ['alg none, real payload and signature', `${b64({ alg: 'none' })}.${payload}.${signature}`],
    ['HS512 with the same secret', await signWith(new TextEncoder().encode(SECRET + SECRET), sessionClaims(), 'HS512')],
    ['wrong audience', await signWith(key, sessionClaims({ aud: 'auth-request' }))],
    ['wrong issuer', await signWith(key, sessionClaims({ iss: 'someone-else' }))],
    ['no email', await signWith(key, sessionClaims({ email: undefined }))],
    ['empty', ''],
  ];
}

describe('session cookie attacks', () => {
  const middleware = createAuthMiddleware({ sessionSecret: () => SECRET, protect: ['/dashboard/:path*'], secure: true, now: () => NOW });
  const auth = createSesameAuth({
    sesameUrl: 'http://127.0.0.1:9',
    clientId: 'client',
    clientSecret: 'secret',
    sessionSecret: SECRET,
    session: { secure: false },
    now: () => NOW,
  });
  const page = (cookie: string): Request =>
    new Request(`${ORIGIN}/dashboard`, { headers: { host: 'app.test', cookie: `sesame_session=${cookie}` } });
  const sessionRoute = (cookie: string): Request =>
    new Request(`${ORIGIN}/api/auth/session`, { headers: { cookie: `sesame_session=${cookie}` } });

  it('a correctly signed cookie passes the verifier, the middleware and the session route (the control)', async () => {
    const good = await signWith(key, sessionClaims());
    expect(await verifySession(SECRET, good, NOW)).toMatchObject({ email: 'ada@example.test' });
    expect(await middleware(page(good))).toBeUndefined();
    expect(await (await auth.handlers.session(sessionRoute(good))).json()).toMatchObject({
      authenticated: true,
      email: 'ada@example.test',
    });
  });

  it('expired, forged, other-secret, alg none, HS512 and wrong-claim cookies are refused everywhere', async () => {
    for (const [name, cookie] of await attacks()) {
      expect(await verifySession(SECRET, cookie, NOW), name).toBeNull();
      const redirect = await middleware(page(cookie));
      expect(redirect?.status, name).toBe(307);
      expect(redirect?.headers.get('location'), name).toBe('http://app.test/login?next=%2Fdashboard');
      const body = (await (await auth.handlers.session(sessionRoute(cookie))).json()) as { authenticated: boolean };
      expect(body.authenticated, name).toBe(false);
    }
  });

  it('the auth-request cookie refuses alg none, forgery and the session audience', async () => {
    const pending = {
      authRequestId: 'ar-1',
      email: 'ada@example.test',
      next: '/dashboard',
      expiresAt: NOW + 300_000,
      resendAvailableAt: NOW,
    };
    const good = await signPendingSignIn(SECRET, pending, NOW, 600);
    expect((await verifyPendingSignIn(SECRET, good, NOW))?.authRequestId).toBe('ar-1');
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const cases = [
      `${b64({ alg: 'none' })}.${payload}.`,
      `${header}.${b64({ ...decode(payload), ari: 'someone-elses-request' })}.${signature}`,
      await signSession(SECRET, 'ada@example.test', NOW, 3600),
      await signPendingSignIn(SECRET, pending, NOW - 3_600_000, 600),
    ];
    for (const cookie of cases) expect(await verifyPendingSignIn(SECRET, cookie, NOW)).toBeNull();
  });
});
