/**
 * The cookies' SameSite and Domain settings: every accepted combination reaches every cookie the
 * kit writes (session, auth request, a refusal's note, and their deletions) and the middleware's;
 * every combination a browser would drop or ignore is refused when the configuration is read.
 */
import { describe, expect, it } from 'vitest';
import { createAuthMiddleware, createSesameAuth, type SameSiteSetting, type SesameAuthConfig } from '../src/index.js';
import { serializeCookie } from '../src/cookies.js';
import { signPendingSignIn, signSession } from '../src/tokens.js';

const SECRET = 'cookie-options-secret-0123456789abcdefghijklmn';
const NOW = Date.UTC(2026, 6, 1);

function config(
  session: SesameAuthConfig['session'],
  signIn: SesameAuthConfig['signIn'] = {},
  appUrl = 'https://app.example.com',
): SesameAuthConfig {
  return {
    sesameUrl: 'http://127.0.0.1:9',
    clientId: 'c',
    clientSecret: 's',
    sessionSecret: SECRET,
    appUrl,
    session,
    signIn,
    now: () => NOW,
  };
}

async function logoutCookies(c: SesameAuthConfig): Promise<string[]> {
  const token = await signSession(SECRET, 'ada@example.test', NOW, 3600);
  const response = await createSesameAuth(c).handlers.logout(
    new Request('https://app.example.com/api/auth/logout', { method: 'POST', headers: { cookie: `sesame_session=${token}` } }),
  );
  return response.headers.getSetCookie();
}

describe('cookie attributes', () => {
  const accepted: Array<[SameSiteSetting | undefined, boolean, string | undefined, string]> = [
    [undefined, false, undefined, 'HttpOnly; SameSite=Lax'],
    ['lax', true, undefined, 'HttpOnly; Secure; SameSite=Lax'],
    ['strict', false, undefined, 'HttpOnly; SameSite=Strict'],
    ['strict', true, 'example.com', 'Domain=example.com; HttpOnly; Secure; SameSite=Strict'],
    ['none', true, '.Example.COM', 'Domain=example.com; HttpOnly; Secure; SameSite=None'],
    ['lax', false, 'app.example.com', 'Domain=app.example.com; HttpOnly; SameSite=Lax'],
  ];

  it('reach the session cookie and its deletion; the auth-request cookie keeps its own', async () => {
    for (const [sameSite, secure, domain, tail] of accepted) {
      const [session, pending] = await logoutCookies(config({ secure, sameSite, domain }));
      expect(session, `${sameSite}/${domain}`).toBe(`sesame_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; ${tail}`);
      expect(pending).toBe(
        `sesame_auth_request=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly;${secure ? ' Secure;' : ''} SameSite=Lax`,
      );
    }
  });

  it('reach the auth-request cookie when set for it', async () => {
    const [, pending] = await logoutCookies(config({ secure: true }, { sameSite: 'strict', domain: 'example.com' }));
    expect(pending).toMatch(/^sesame_auth_request=; .*Domain=example\.com; HttpOnly; Secure; SameSite=Strict$/);
    const auth = createSesameAuth(config({ secure: true }, { sameSite: 'strict', domain: 'example.com' }));
    const token = await signPendingSignIn(
      SECRET,
      { authRequestId: 'a', email: 'a@b.c', next: '/', expiresAt: NOW + 1, resendAvailableAt: NOW },
      NOW,
      60,
    );
    const cancel = await auth.handlers.cancel(
      new Request('https://app.example.com/api/auth/cancel', { method: 'POST', headers: { cookie: `sesame_auth_request=${token}` } }),
    );
    expect(cancel.headers.getSetCookie()[0]).toMatch(/Domain=example\.com; HttpOnly; Secure; SameSite=Strict$/);
  });

  it('reach the middleware deletion of a bad cookie', async () => {
    for (const [sameSite, secure, domain, tail] of accepted) {
      const middleware = createAuthMiddleware({ sessionSecret: SECRET, protect: ['/app'], secure, sameSite, domain, now: () => NOW });
      const out = await middleware(
        new Request('https://app.example.com/app', { headers: { host: 'app.example.com', cookie: 'sesame_session=bad' } }),
      );
      expect(out?.headers.get('set-cookie'), `${sameSite}/${domain}`).toBe(
        `sesame_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; ${tail}`,
      );
    }
  });

  it('refuses combinations a browser would drop or ignore, in the kit and in the middleware', async () => {
    const refused: Array<[SesameAuthConfig, RegExp]> = [
      [config({ sameSite: 'none', secure: false }), /needs secure/],
      [config({ secure: false }, { sameSite: 'none' }), /needs secure/],
      [config({ sameSite: 'None' as SameSiteSetting, secure: true }), /must be 'lax', 'strict' or 'none'/],
      [config({ sameSite: 'relaxed' as SameSiteSetting }), /must be 'lax', 'strict' or 'none'/],
      [config({ domain: 'other.example' }), /does not contain the app's host/],
      [config({ domain: 'ample.com' }), /does not contain the app's host/],
      [config({ domain: 'app.example.com.evil' }), /does not contain/],
      [config({ domain: '127.0.0.1' }), /host name/],
      [config({ domain: 'localhost' }), /host name/],
      [config({ domain: 'example.com; Secure' }), /host name/],
      [config({ domain: 'exa mple.com' }), /host name/],
      [config({ domain: 'example.com/' }), /host name/],
      [config({ cookieName: '__Host-session', secure: true, domain: 'example.com' }), /__Host-/],
      [config({ cookieName: '__Host-session', secure: false }), /__Host-/],
      [config({ cookieName: '__Secure-session', secure: false }), /__Secure-/],
      [config({ secure: false }, { cookieName: '__Host-auth' }), /__Host-/],
    ];
    for (const [i, [c, message]] of refused.entries()) {
      const auth = createSesameAuth(c);
      await expect(auth.handlers.session(new Request('https://app.example.com/api/auth/session')), `case #${i}`).rejects.toThrow(message);
    }
    expect(() => createAuthMiddleware({ sessionSecret: SECRET, protect: ['/'], sameSite: 'none', secure: false })).toThrow(/needs secure/);
    expect(() => createAuthMiddleware({ sessionSecret: SECRET, protect: ['/'], domain: 'exa_mple..com' })).toThrow(/host name/);
    expect(() => serializeCookie('x', 'y', { httpOnly: true, secure: false, sameSite: 'None', path: '/', maxAge: 1 })).toThrow(
      /must be Secure/,
    );
    // A secure __Host- cookie without a domain is fine.
    expect(createSesameAuth(config({ cookieName: '__Host-session', secure: true })).settings().sessionCookie).toBe('__Host-session');
  });

  it('a link sign-in with SameSite=Strict is answered with a page of this origin, not a cross-site redirect chain', async () => {
    const { renderContinuePage } = await import('../src/pages.js');
    const html = renderContinuePage({ next: '/dashboard?a=1&b="x"', appName: 'App' });
    expect(html).toContain('<meta http-equiv="refresh" content="0;url=/dashboard?a=1&amp;b=&quot;x&quot;">');
  });
});
