/**
 * The app's word on each verified sign-in, against a real `sesame start` and SMTP capture: for
 * every way a sign-in ends (the emailed link opened in the browser that asked, the code form,
 * the JSON code route), an accepting `onVerified` puts its claims in the session; a refusal, a
 * throw and unusable claims set no session, end the auth-request cookie and say so (the app's
 * words for a refusal, in JSON or through the signed cookie the login page reads). The answers
 * `onVerified` may give are also checked exhaustively without Sesame.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSesameWithMail, type CapturedMail, type RunningSesame } from '@sesame/testkit';
import { createSesameAuth, RESERVED_CLAIMS, type SesameAuth, type SignInDecision, type VerifiedSignIn } from '../src/index.js';
import { resolve } from '../src/config.js';
import { decide } from '../src/on-verified.js';
import { signInError } from '../src/sign-in-error.js';
import { verifyPendingSignIn } from '../src/tokens.js';

const SECRET = 'on-verified-secret-0123456789abcdefghijklmnop';
const APP = 'http://127.0.0.1:3999';
const run = randomBytes(4).toString('hex');

let sesame: RunningSesame | undefined;
let auth: SesameAuth;
let decision: (signIn: VerifiedSignIn) => SignInDecision | Promise<SignInDecision> = () => undefined;
const seen: VerifiedSignIn[] = [];

function setCookies(response: Response): Map<string, string> {
  return new Map(
    response.headers.getSetCookie().map((c) => {
      const pair = c.split(';')[0]!;
      const eq = pair.indexOf('=');
      return [pair.slice(0, eq), decodeURIComponent(pair.slice(eq + 1))] as const;
    }),
  );
}

const headers = (extra: Record<string, string> = {}): Record<string, string> => ({ host: '127.0.0.1:3999', ...extra });

async function send(email: string): Promise<{ pending: string; mail: CapturedMail }> {
  const response = await auth.handlers.send(
    new Request(`${APP}/api/auth/send-passwordless`, {
      method: 'POST',
      headers: headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ email }),
    }),
  );
  expect(response.status, await response.clone().text()).toBe(200);
  const pending = setCookies(response).get('sesame_auth_request');
  expect(pending).toBeTruthy();
  return { pending: pending!, mail: await sesame!.nthMail(email, 0) };
}

type Path = 'link GET' | 'form POST' | 'JSON POST';
const PATHS: readonly Path[] = ['link GET', 'form POST', 'JSON POST'];

async function finish(path: Path, pending: string, mail: CapturedMail): Promise<Response> {
  const cookie = `sesame_auth_request=${pending}`;
  if (path === 'link GET') return auth.handlers.verify.GET(new Request(mail.link!, { headers: headers({ cookie }) }));
  const form = path === 'form POST';
  return auth.handlers.verify.POST(
    new Request(`${APP}/api/auth/verify`, {
      method: 'POST',
      headers: headers({ cookie, 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' }),
      body: form ? new URLSearchParams({ code: mail.code! }).toString() : JSON.stringify({ code: mail.code }),
    }),
  );
}

async function signIn(path: Path, name: string): Promise<{ response: Response; cookies: Map<string, string>; email: string }> {
  const email = `${name}-${path.replace(/\W/g, '')}-${run}@example.test`;
  const { pending, mail } = await send(email);
  const response = await finish(path, pending, mail);
  return { response, cookies: setCookies(response), email };
}

describe('onVerified against a real Sesame', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    sesame = await startSesameWithMail();
    auth = createSesameAuth({
      sesameUrl: sesame.url,
      clientId: sesame.clientId,
      clientSecret: sesame.clientSecret,
      sessionSecret: SECRET,
      appUrl: APP,
      session: { secure: false },
      throttle: { send: false, verify: false },
      signIn: { template: (email) => Promise.resolve(email.startsWith('new-') ? 'SIGNUP' : 'SIGNIN') },
      onVerified: (signIn) => {
        seen.push(signIn);
        return decision(signIn);
      },
    });
  }, 120_000);

  afterAll(async () => {
    await sesame?.stop();
  }, 30_000);

  for (const path of PATHS) {
    it(`${path}: claims land in the session, with the template Sesame sent`, async () => {
      decision = ({ email }) => ({ claims: { userId: `u-${email.length}`, roles: ['admin'], profile: { plan: null, seats: 3 } } });
      const before = seen.length;
      const { response, cookies, email } = await signIn(path, 'new-claims');
      expect(response.status).toBe(path === 'JSON POST' ? 200 : 303);
      expect(cookies.get('sesame_auth_request')).toBe('');
      const session = await auth.sessionFromRequest(
        new Request(`${APP}/dashboard`, { headers: { cookie: `sesame_session=${cookies.get('sesame_session')!}` } }),
      );
      expect(session?.email).toBe(email);
      expect(session?.claims).toEqual({ userId: `u-${email.length}`, roles: ['admin'], profile: { plan: null, seats: 3 } });
      const call = seen[before]!;
      expect(call).toMatchObject({ email, template: 'SIGNUP', state: '/dashboard', next: '/dashboard' });
      expect(call.request).toBeInstanceOf(Request);
    });

    it(`${path}: a refusal sets no session, ends the auth request and carries the app's words`, async () => {
      decision = () => ({ refuse: 'This account is disabled.' });
      const { response, cookies } = await signIn(path, 'refused');
      expect(cookies.has('sesame_session')).toBe(false);
      expect(cookies.get('sesame_auth_request')).toBe('');
      if (path === 'JSON POST') {
        expect(response.status).toBe(403);
        expect(await response.json()).toEqual({ error: { code: 'SIGN_IN_REFUSED', message: 'This account is disabled.' } });
        expect(cookies.has('sesame_auth_request_error')).toBe(false);
        return;
      }
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/login?error=SIGN_IN_REFUSED');
      const note = cookies.get('sesame_auth_request_error')!;
      const r = resolve({ sesameUrl: APP, clientId: 'c', clientSecret: 's', sessionSecret: SECRET });
      const jar = (value: string | undefined) => ({ get: (name: string) => (name === 'sesame_auth_request_error' ? value : undefined) });
      expect(await signInError(r, jar(note), { error: 'SIGN_IN_REFUSED' })).toEqual({
        code: 'SIGN_IN_REFUSED',
        message: 'This account is disabled.',
      });
      // The same URL in a browser without that cookie, or with a forged one, shows the kit's own text only.
      const generic = { code: 'SIGN_IN_REFUSED', message: 'This sign-in was not allowed.' };
      expect(await signInError(r, jar(undefined), { error: 'SIGN_IN_REFUSED' })).toEqual(generic);
      const [h, p, s] = note.split('.') as [string, string, string];
      const edited = Buffer.from(
        JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), msg: 'Call 555-0100 to unlock your account.' }),
      ).toString('base64url');
      expect(await signInError(r, jar(`${h}.${edited}.${s}`), { error: 'SIGN_IN_REFUSED' })).toEqual(generic);
      // The note answers only for a refusal: another code keeps its own text.
      expect((await signInError(r, jar(note), { error: 'EXPIRED' }))?.code).toBe('EXPIRED');
      expect(await signInError(r, jar(note), { error: '<b>made up</b>' })).toBeNull();
    });

    it(`${path}: a throwing onVerified is INTERNAL and never a session`, async () => {
      decision = () => {
        throw new Error('users table unreachable');
      };
      const { response, cookies } = await signIn(path, 'throws');
      expect(cookies.has('sesame_session')).toBe(false);
      expect(cookies.get('sesame_auth_request')).toBe('');
      if (path === 'JSON POST') expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INTERNAL');
      else expect(response.headers.get('location')).toBe('/login?error=INTERNAL');
    });

    it(`${path}: claims that cannot go in a cookie are INTERNAL and never a session`, async () => {
      decision = () => ({ claims: { note: 'x'.repeat(3000) } });
      const { response, cookies } = await signIn(path, 'oversized');
      expect(cookies.has('sesame_session')).toBe(false);
      expect(response.status).toBe(path === 'JSON POST' ? 500 : 303);
    });
  }

  it('remembers the template chosen for the address in the pending cookie, and SIGNIN for a known one', async () => {
    decision = () => undefined;
    const email = `known-${run}@example.test`;
    const { pending, mail } = await send(email);
    expect((await verifyPendingSignIn(SECRET, pending, Date.now()))?.template).toBe('SIGNIN');
    const before = seen.length;
    const response = await finish('JSON POST', pending, mail);
    expect(response.status).toBe(200);
    expect(seen[before]?.template).toBe('SIGNIN');
    expect(setCookies(response).has('sesame_session')).toBe(true);
  });

  it('with SameSite=Strict, the link ends on a page of this origin (with the Strict cookie) that moves on to next', async () => {
    const lax = auth;
    auth = createSesameAuth({
      sesameUrl: sesame!.url,
      clientId: sesame!.clientId,
      clientSecret: sesame!.clientSecret,
      sessionSecret: SECRET,
      appUrl: APP,
      session: { secure: false, sameSite: 'strict' },
      throttle: { send: false, verify: false },
    });
    try {
      const { response, cookies } = await signIn('link GET', 'strict');
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<meta http-equiv="refresh" content="0;url=/dashboard">');
      expect(response.headers.getSetCookie().find((c) => c.startsWith('sesame_session='))).toMatch(/; SameSite=Strict$/);
      expect(cookies.get('sesame_auth_request')).toBe('');
    } finally {
      auth = lax;
    }
  });

  it('passes template variables through to Sesame (a reserved name is refused by Sesame itself)', async () => {
    const withVariables = (variables: Record<string, string>) =>
      createSesameAuth({
        sesameUrl: sesame!.url,
        clientId: sesame!.clientId,
        clientSecret: sesame!.clientSecret,
        sessionSecret: SECRET,
        appUrl: APP,
        session: { secure: false },
        throttle: { send: false, verify: false },
        signIn: { templateVariables: (email) => ({ ...variables, for: email }) },
      });
    const sendWith = (a: SesameAuth, email: string) =>
      a.handlers.send(
        new Request(`${APP}/api/auth/send-passwordless`, {
          method: 'POST',
          headers: headers({ 'content-type': 'application/json' }),
          body: JSON.stringify({ email }),
        }),
      );
    expect((await sendWith(withVariables({ plan: 'team' }), `vars-${run}@example.test`)).status).toBe(200);
    const refused = await sendWith(withVariables({ otp: '000000' }), `vars-otp-${run}@example.test`);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
  });
});

describe("onVerified's answers", () => {
  const signIn: VerifiedSignIn = {
    email: 'ada@example.test',
    template: 'SIGNIN',
    state: '/dashboard',
    next: '/dashboard',
    request: new Request(`${APP}/api/auth/verify`),
  };
  const answer = (value: unknown) => decide(() => value as SignInDecision, signIn, '/dashboard');

  it('accepts nothing, claims of JSON, and a same-origin redirect', async () => {
    expect(await answer(undefined)).toEqual({ ok: true, claims: {}, next: '/dashboard' });
    expect(await answer({ claims: { userId: 7, roles: ['a', 'b'], flags: { beta: true, note: null } } })).toEqual({
      ok: true,
      claims: { userId: 7, roles: ['a', 'b'], flags: { beta: true, note: null } },
      next: '/dashboard',
    });
    expect(await answer({ redirectTo: '/welcome?new=1' })).toMatchObject({ ok: true, next: '/welcome?new=1' });
    // An off-site redirect falls back to the default landing page.
    expect(await answer({ redirectTo: '//evil.example/' })).toMatchObject({ ok: true, next: '/dashboard' });
    expect(await answer({ claims: { s: 'é'.repeat(1000) } })).toMatchObject({ ok: true });
  });

  it('refuses with the trimmed text, within its bound', async () => {
    expect(await answer({ refuse: '  This account is disabled.  ' })).toEqual({
      ok: false,
      failure: { code: 'SIGN_IN_REFUSED', message: 'This account is disabled.' },
    });
    expect(await answer({ refuse: 'x'.repeat(300) })).toMatchObject({ ok: false, failure: { code: 'SIGN_IN_REFUSED' } });
  });

  it('turns every unusable answer into INTERNAL', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10; i++) deep = { deep };
    const unusable: unknown[] = [
      ...RESERVED_CLAIMS.map((name) => ({ claims: { [name]: 'x' } })),
      { claims: { big: 'x'.repeat(2050) } },
      { claims: { s: 'é'.repeat(1100) } },
      { claims: { n: Number.NaN } },
      { claims: { n: Number.POSITIVE_INFINITY } },
      { claims: { d: new Date(0) } },
      { claims: { f: () => 1 } },
      { claims: { u: undefined } },
      { claims: { nested: { u: undefined } } },
      { claims: { b: 10n } },
      { claims: { m: new Map() } },
      { claims: JSON.parse('{"x":{"__proto__":{"admin":true}}}') as unknown },
      { claims: JSON.parse('{"__proto__":{"admin":true}}') as unknown },
      { claims: { '': 1 } },
      { claims: { 'has space': 1 } },
      { claims: { ['k'.repeat(65)]: 1 } },
      { claims: circular },
      { claims: { deep } },
      { claims: ['a'] },
      { claims: 'userId' },
      { claims: null },
      { claim: { userId: 1 } },
      { refuse: '' },
      { refuse: '   ' },
      { refuse: 'x'.repeat(301) },
      { refuse: 42 },
      { refuse: { message: 'no' } },
      'refuse',
      42,
      [],
      true,
    ];
    for (const [i, value] of unusable.entries()) {
      const result = await answer(value);
      expect(result, `answer #${i}`).toEqual({
        ok: false,
        failure: { code: 'INTERNAL' },
      });
    }
  });

  it('a throw or a rejection is INTERNAL', async () => {
    expect(await decide(() => Promise.reject(new Error('down')), signIn, '/dashboard')).toEqual({
      ok: false,
      failure: { code: 'INTERNAL' },
    });
    expect(
      await decide(
        () => {
          throw new TypeError('bug');
        },
        signIn,
        '/dashboard',
      ),
    ).toEqual({ ok: false, failure: { code: 'INTERNAL' } });
  });
});
