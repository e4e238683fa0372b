/**
 * `sessionSecretFallbacks`: every kind of cookie the kit signs (session, pending sign-in, a
 * refusal's text), read by the kit and by the middleware, is accepted when signed with the
 * current secret or a listed fallback, and refused once that fallback is removed. New cookies
 * and renewals are signed with the current secret only; without fallbacks the middleware
 * verifies with a single key.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readPending, readSignInError, setPending, setSignInError } from '../src/auth-cookies.js';
import { resolve, type SesameAuthConfig } from '../src/config.js';
import type { CookieOptions } from '../src/cookies.js';
import { createAuthMiddleware, createSesameAuth } from '../src/index.js';
import {
  signPendingSignIn,
  signSession,
  signSignInError,
  verifyPendingSignIn,
  verifySession,
  verifySignInError,
  type PendingSignIn,
} from '../src/tokens.js';

const CURRENT = 'current-session-secret-0123456789abcdefghij';
const OLD = 'previous-session-secret-0123456789abcdefghij';
const OLDER = 'even-older-session-secret-0123456789abcdefgh';
const ORIGIN = 'http://app.test';
const T0 = Date.UTC(2026, 5, 1, 12);
const HOUR = 3_600_000;

const PENDING: PendingSignIn = {
  authRequestId: 'ar-1',
  email: 'ada@example.test',
  next: '/dashboard',
  expiresAt: T0 + 300_000,
  resendAvailableAt: T0 + 30_000,
};

function config(fallbacks: readonly string[] | undefined): SesameAuthConfig {
  return {
    sesameUrl: 'http://127.0.0.1:9',
    clientId: 'client',
    clientSecret: 'secret',
    sessionSecret: CURRENT,
    sessionSecretFallbacks: fallbacks,
    appUrl: ORIGIN,
    session: { secure: false, maxAgeSeconds: 3600, absoluteMaxAgeSeconds: 3 * 3600 },
    now: () => T0,
  };
}

const jarWith = (cookies: Record<string, string>) => ({ get: (name: string) => cookies[name] });

const request = (path: string, cookie: string): Request => new Request(`${ORIGIN}${path}`, { headers: { host: 'app.test', cookie } });

const session = (secret: string, at = T0): Promise<string> =>
  signSession(secret, 'ada@example.test', at, 3600, { id: 's-1', signedInAt: at, endsAt: at + 3 * HOUR });

/** Each cookie kind: how it is made with a secret, and whether a reader configured with `fallbacks` accepts it. */
const KINDS: readonly {
  readonly kind: string;
  readonly make: (secret: string) => Promise<string>;
  readonly accepted: (token: string, fallbacks: readonly string[] | undefined) => Promise<boolean>;
}[] = [
  {
    kind: 'session (kit)',
    make: (secret) => session(secret),
    accepted: async (token, fallbacks) =>
      (await createSesameAuth(config(fallbacks)).sessionFromRequest(request('/', `sesame_session=${token}`))) !== null,
  },
  {
    kind: 'session (middleware)',
    make: (secret) => session(secret),
    accepted: async (token, fallbacks) => {
      const gate = createAuthMiddleware({
        sessionSecret: () => CURRENT,
        sessionSecretFallbacks: () => fallbacks,
        protect: ['/dashboard/:path*'],
        secure: false,
        now: () => T0,
      });
      const response = await gate(request('/dashboard', `sesame_session=${token}`));
      if (response !== undefined) expect(response.status).toBe(307);
      return response === undefined;
    },
  },
  {
    kind: 'pending sign-in',
    make: (secret) => signPendingSignIn(secret, PENDING, T0, 900),
    accepted: async (token, fallbacks) => (await readPending(resolve(config(fallbacks)), jarWith({ sesame_auth_request: token }))) !== null,
  },
  {
    kind: "a refusal's text",
    make: (secret) => signSignInError(secret, { code: 'SIGN_IN_REFUSED', message: 'Disabled.' }, T0, 120),
    accepted: async (token, fallbacks) =>
      (await readSignInError(resolve(config(fallbacks)), jarWith({ sesame_auth_request_error: token }))) !== null,
  },
];

/** Signed with → the reader's fallbacks → accepted? */
const CASES: readonly { readonly name: string; readonly signer: string; readonly fallbacks?: readonly string[]; readonly ok: boolean }[] = [
  { name: 'current secret, no fallbacks', signer: CURRENT, ok: true },
  { name: 'current secret, fallbacks set', signer: CURRENT, fallbacks: [OLD, OLDER], ok: true },
  { name: 'a fallback', signer: OLD, fallbacks: [OLD], ok: true },
  { name: 'the second fallback', signer: OLDER, fallbacks: [OLD, OLDER], ok: true },
  { name: 'a removed fallback', signer: OLD, fallbacks: [OLDER], ok: false },
  { name: 'a removed fallback, none left', signer: OLD, ok: false },
  { name: 'a removed fallback, empty list', signer: OLD, fallbacks: [], ok: false },
];

describe.each(KINDS)('$kind cookie', ({ make, accepted }) => {
  it.each(CASES)('signed with $name → accepted: $ok', async ({ signer, fallbacks, ok }) => {
    expect(await accepted(await make(signer), fallbacks)).toBe(ok);
  });

  it('signed with a fallback but tampered with or expired: refused', async () => {
    const token = await make(OLD);
    const [h, p, s] = token.split('.') as [string, string, string];
    const tampered = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await accepted(tampered, [OLD])).toBe(false);
    expect(await accepted(`${h}.${Buffer.from('{"email":"eve@example.test"}').toString('base64url')}.${s}`, [OLD])).toBe(false);
  });
});

describe('what the kit writes is signed with the current secret', () => {
  const written = () => {
    const cookies = new Map<string, string>();
    return {
      cookies,
      jar: {
        get: (name: string) => cookies.get(name),
        set: (name: string, value: string, options: CookieOptions) => cookies.set(name, options.maxAge > 0 ? value : ''),
      },
    };
  };

  it('a new pending sign-in and a refusal cookie verify under the current secret, not the fallback', async () => {
    const r = resolve(config([OLD]));
    const { cookies, jar } = written();
    await setPending(r, jar, PENDING, 300);
    await setSignInError(r, jar, { code: 'SIGN_IN_REFUSED', message: 'Disabled.' });
    const pending = cookies.get('sesame_auth_request');
    const note = cookies.get('sesame_auth_request_error');
    expect(await verifyPendingSignIn(CURRENT, pending, T0)).not.toBeNull();
    expect(await verifyPendingSignIn(OLD, pending, T0)).toBeNull();
    expect(await verifySignInError(CURRENT, note, T0)).not.toBeNull();
    expect(await verifySignInError(OLD, note, T0)).toBeNull();
  });

  it('a session signed with a fallback is renewed under the current secret (session route and middleware)', async () => {
    const old = await session(OLD);
    const later = T0 + 40 * 60_000; // past half of the one-hour cookie
    const auth = createSesameAuth({ ...config([OLD]), now: () => later });
    const routed = await auth.handlers.session(request('/api/auth/session', `sesame_session=${old}`));
    expect(await routed.json()).toMatchObject({ authenticated: true, email: 'ada@example.test' });
    const gate = createAuthMiddleware({
      sessionSecret: CURRENT,
      sessionSecretFallbacks: [OLD],
      protect: ['/dashboard'],
      secure: false,
      now: () => later,
    });
    const gated = await gate(request('/dashboard', `sesame_session=${old}`));
    for (const response of [routed, gated]) {
      const renewed = response?.headers
        .getSetCookie()
        .find((c) => c.startsWith('sesame_session='))
        ?.split(';')[0]!
        .slice('sesame_session='.length);
      expect(renewed).toBeDefined();
      expect((await verifySession(CURRENT, decodeURIComponent(renewed!), later))?.id).toBe('s-1');
      expect(await verifySession(OLD, decodeURIComponent(renewed!), later)).toBeNull();
    }
  });
});

describe('checks and cost', () => {
  afterEach(() => vi.restoreAllMocks());

  it('refuses a fallback shorter than 32 characters or not a list, naming it', () => {
    expect(() => resolve(config([OLD, 'short']))).toThrow('sessionSecretFallbacks[1] must be a secret of at least 32 characters.');
    expect(() => resolve(config(OLD as unknown as readonly string[]))).toThrow('sessionSecretFallbacks must be a list of secrets.');
    const gate = createAuthMiddleware({ sessionSecret: CURRENT, sessionSecretFallbacks: ['short'], protect: ['/dashboard'] });
    return expect(gate(request('/dashboard', 'sesame_session=x'))).rejects.toThrow('sessionSecretFallbacks[0] must be a secret');
  });

  it('the middleware checks one key without fallbacks, and stops at an expired token under the current one', async () => {
    const verify = vi.spyOn(crypto.subtle, 'verify');
    const count = async (fallbacks: readonly string[] | undefined, token: string, at = T0): Promise<number> => {
      verify.mockClear();
      const gate = createAuthMiddleware({
        sessionSecret: CURRENT,
        sessionSecretFallbacks: fallbacks,
        protect: ['/dashboard'],
        now: () => at,
      });
      await gate(request('/dashboard', `sesame_session=${token}`));
      return verify.mock.calls.length;
    };
    const stranger = await session('a-stranger-secret-0123456789abcdefghijklm');
    expect(await count(undefined, stranger)).toBe(1);
    expect(await count([], stranger)).toBe(1);
    expect(await count([OLD, OLDER], stranger)).toBe(3);
    expect(await count([OLD, OLDER], await session(CURRENT, T0 - 2 * HOUR))).toBe(1);
  });
});
