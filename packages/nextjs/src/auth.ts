/**
 * The kit's server side: one `createSesameAuth(config)` gives the route handlers, the Server
 * Action for send and the session readers, all sharing one configuration, one Sesame client
 * and one set of throttles.
 *
 * Handlers are functions of a `Request` returning a `Response` (no `next/server` import), so
 * they are tested in process and work in either runtime. Only the Server Action and the
 * session readers need `next/headers`, which they import lazily.
 */
import { SesameApiError } from '@sesame/client';
import { readCookie, type CookieOptions } from './cookies.js';
import { resolve, type Resolved, type ResolvedSettings, type SesameAuthConfig } from './config.js';
import { errorJson, readBody, redirect, ResponseJar, type Failure, type Jar } from './http.js';
import { endsAuthRequest, userMessage, type KitErrorCode } from './messages.js';
import { safeNextPath } from './next-path.js';
import { isSameOrigin, requestAppUrl, type AppUrl } from './origin.js';
import { PAGE_HEADERS, renderConfirmPage } from './pages.js';
import type { Throttle } from './throttle.js';
import { signPendingSignIn, signSession, verifyPendingSignIn, verifySession, type PendingSignIn, type Session } from './tokens.js';

export type { ResolvedSettings, SesameAuthConfig } from './config.js';

export type Handler = (request: Request) => Promise<Response>;

export interface SendActionState {
  readonly status: 'idle' | 'sent' | 'error';
  readonly email: string;
  readonly code?: KitErrorCode;
  readonly message?: string;
  readonly retryAfterSeconds?: number;
  /** Seconds until the resend button may be used, counted when the answer was made. */
  readonly resendInSeconds?: number;
  /** Seconds until the emailed code and link expire. */
  readonly expiresInSeconds?: number;
}

export interface SesameAuth {
  readonly handlers: {
    readonly send: Handler;
    readonly resend: Handler;
    readonly verify: { readonly GET: Handler; readonly POST: Handler };
    readonly session: Handler;
    readonly logout: Handler;
  };
  /** For `useActionState`: sends the email from a form (`email`, optional `next`). */
  sendAction(previous: SendActionState, form: FormData): Promise<SendActionState>;
  /** The signed-in user of the current request (Server Components, Server Actions). */
  getSession(): Promise<Session | null>;
  /** The sign-in this browser started and has not finished (for the "check your inbox" view). */
  getPendingSignIn(): Promise<PendingSignIn | null>;
  sessionFromRequest(request: Request): Promise<Session | null>;
  readonly settings: () => ResolvedSettings;
}

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: Failure };

/** Sesame's own default expiry, used for the cookie when the app sets none. */
const SESAME_DEFAULT_EXPIRES_IN = 300;
/**
 * The auth-request cookie outlives Sesame's auth request by this much, so a late click still
 * reaches Sesame and the user reads "expired" rather than "use the original browser".
 */
const SIGN_IN_COOKIE_GRACE = 600;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;

/**
 * The configuration may be a function: it is read on first use, not at import, because
 * `next build` imports route modules while collecting pages, when runtime secrets are absent.
 */
export function createSesameAuth(config: SesameAuthConfig | (() => SesameAuthConfig)): SesameAuth {
  let resolved: Resolved | undefined;
  const get = (): Resolved => (resolved ??= resolve(typeof config === 'function' ? config() : config));

  const handlers = {
    // async, so a configuration error surfaces as a rejected promise like any other failure.
    send: async (request: Request) => guarded(request, get, handleSend),
    resend: async (request: Request) => guarded(request, get, handleResend),
    verify: {
      GET: async (request: Request) => handleVerifyGet(get(), request),
      POST: async (request: Request) => guarded(request, get, handleVerifyPost),
    },
    session: async (request: Request) => handleSession(get(), request),
    logout: async (request: Request) => guarded(request, get, handleLogout),
  };

  return {
    handlers,
    sendAction: async (_previous, form) => sendAction(get(), form),
    getSession: async () => {
      const r = get();
      const jar = await nextJar();
      return verifySession(r.config.sessionSecret, jar.get(r.sessionCookie), r.now());
    },
    getPendingSignIn: async () => {
      const r = get();
      const jar = await nextJar();
      return verifyPendingSignIn(r.config.sessionSecret, jar.get(r.signInCookie), r.now());
    },
    sessionFromRequest: async (request) => {
      const r = get();
      return verifySession(r.config.sessionSecret, readCookie(request.headers.get('cookie'), r.sessionCookie), r.now());
    },
    settings: () => {
      const r = get();
      return {
        loginPath: r.loginPath,
        verifyPath: r.verifyPath,
        afterSignInPath: r.afterSignInPath,
        sessionCookie: r.sessionCookie,
        signInCookie: r.signInCookie,
        resendCooldownSeconds: r.resendCooldownSeconds,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The three operations, shared by the route handlers and the Server Action.

async function startSignIn(
  r: Resolved,
  jar: Jar,
  headers: Headers,
  app: AppUrl,
  emailInput: unknown,
  nextInput: unknown,
): Promise<Outcome<PendingSignIn>> {
  const limited = throttled(r.sendThrottle, r, headers);
  if (limited) return { ok: false, failure: limited };
  const email = typeof emailInput === 'string' ? emailInput.trim() : '';
  if (email === '' || email.length > 320 || !EMAIL_PATTERN.test(email)) return { ok: false, failure: { code: 'INVALID_ARGUMENT' } };
  const next = safeNextPath(nextInput, r.afterSignInPath);
  try {
    const sent = await r.client.sendPasswordlessEmail({
      email,
      // From configuration (or, in development, a loopback Host): never from forwarding headers.
      magiclinkAuthUri: `${app.base}${r.verifyPath}`,
      // Sesame hands `state` back at verify: the link lands on `next` even in another browser
      // when same-browser enforcement is off (it is re-checked with safeNextPath there).
      state: next,
      ...(r.expiresIn === undefined ? {} : { expiresIn: r.expiresIn }),
      ...(r.template === undefined ? {} : { template: r.template }),
    });
    const now = r.now();
    const pending: PendingSignIn = {
      authRequestId: sent.authRequestId,
      email,
      next,
      expiresAt: sent.expiresAt * 1000,
      resendAvailableAt: now + r.resendCooldownSeconds * 1000,
    };
    await setPending(r, jar, pending, sent.expiresIn);
    return { ok: true, value: pending };
  } catch (error) {
    return { ok: false, failure: failureFrom(error) };
  }
}

async function resendSignIn(r: Resolved, jar: Jar, headers: Headers): Promise<Outcome<PendingSignIn>> {
  const pending = await verifyPendingSignIn(r.config.sessionSecret, jar.get(r.signInCookie), r.now());
  if (!pending) return { ok: false, failure: { code: 'AUTH_REQUEST_NOT_FOUND' } };
  const wait = Math.ceil((pending.resendAvailableAt - r.now()) / 1000);
  // The button's countdown is only a courtesy; this is the rule.
  if (wait > 0) return { ok: false, failure: { code: 'SEND_LIMIT_EXCEEDED', retryAfterSeconds: wait } };
  const limited = throttled(r.sendThrottle, r, headers);
  if (limited) return { ok: false, failure: limited };
  try {
    const sent = await r.client.resendPasswordlessEmail(pending.authRequestId);
    const next: PendingSignIn = {
      ...pending,
      expiresAt: sent.expiresAt * 1000,
      resendAvailableAt: r.now() + r.resendCooldownSeconds * 1000,
    };
    await setPending(r, jar, next, sent.expiresIn);
    return { ok: true, value: next };
  } catch (error) {
    const failure = failureFrom(error);
    if (endsAuthRequest(failure.code)) clearCookie(r, jar, r.signInCookie);
    return { ok: false, failure };
  }
}

interface SignedIn {
  readonly email: string;
  readonly next: string;
}

async function verifySignIn(
  r: Resolved,
  jar: Jar,
  headers: Headers,
  input: { code?: string; linkToken?: string },
): Promise<Outcome<SignedIn>> {
  const limited = throttled(r.verifyThrottle, r, headers);
  if (limited) return { ok: false, failure: limited };
  const pending = await verifyPendingSignIn(r.config.sessionSecret, jar.get(r.signInCookie), r.now());
  const code = input.code?.trim() ?? '';
  const linkToken = input.linkToken?.trim() ?? '';
  if ((code === '') === (linkToken === '') || code.length > 20 || linkToken.length > 100) {
    return { ok: false, failure: { code: 'INVALID_ARGUMENT' } };
  }
  // A code is only meaningful with the auth request this browser started.
  if (code !== '' && !pending) return { ok: false, failure: { code: 'AUTH_REQUEST_NOT_FOUND' } };
  try {
    const verified =
      code !== ''
        ? await r.client.verifyPasswordlessEmail({ code, authRequestId: pending!.authRequestId })
        : await r.client.verifyPasswordlessEmail({ linkToken, authRequestId: pending?.authRequestId });
    const next = safeNextPath(verified.state ?? pending?.next, r.afterSignInPath);
    const token = await signSession(r.config.sessionSecret, verified.email, r.now(), r.sessionMaxAge);
    jar.set(r.sessionCookie, token, cookieOptions(r, r.sessionMaxAge));
    clearCookie(r, jar, r.signInCookie);
    return { ok: true, value: { email: verified.email, next } };
  } catch (error) {
    const failure = failureFrom(error);
    if (endsAuthRequest(failure.code) && pending) clearCookie(r, jar, r.signInCookie);
    return { ok: false, failure };
  }
}

// ---------------------------------------------------------------------------------------------
// Route handlers

type Operation = (r: Resolved, request: Request, jar: ResponseJar, app: AppUrl) => Promise<Response>;

/**
 * Every state-changing handler first needs to know the app's origin (configured, or a loopback
 * Host in development) and refuses cross-site POSTs (login CSRF) before doing anything.
 */
async function guarded(request: Request, get: () => Resolved, operation: Operation): Promise<Response> {
  const r = get();
  const app = appUrlFor(r, request.headers);
  if (app === undefined) return errorJson({ code: 'HOST_NOT_ALLOWED' });
  const jar = new ResponseJar(request);
  if (!isSameOrigin(request.headers, app.origin)) {
    return jar.apply(Response.json({ error: { code: 'INVALID_ARGUMENT', message: 'Cross-site request refused.' } }, { status: 403 }));
  }
  return jar.apply(await operation(r, request, jar, app));
}

let warnedAboutHost = false;

function appUrlFor(r: Resolved, headers: Headers): AppUrl | undefined {
  const app = requestAppUrl(r.appUrl, headers);
  if (app === undefined && !warnedAboutHost) {
    // Once per process, and without the Host value: it is the client's text.
    warnedAboutHost = true;
    console.warn('[sesame] refused a request for a non-loopback Host: set appUrl to serve the app at its public address.');
  }
  return app;
}

async function handleSend(r: Resolved, request: Request, jar: ResponseJar, app: AppUrl): Promise<Response> {
  const body = await readBody(request);
  const result = await startSignIn(r, jar, request.headers, app, body.fields.email, body.fields.next);
  if (!result.ok) {
    return body.json ? errorJson(result.failure) : redirectToLogin(r, result.failure, safeNextPath(body.fields.next, r.afterSignInPath));
  }
  if (!body.json) return redirect(loginUrl(r, {}));
  return Response.json(pendingJson(r, result.value), { headers: { 'cache-control': 'no-store' } });
}

async function handleResend(r: Resolved, request: Request, jar: ResponseJar): Promise<Response> {
  const body = await readBody(request);
  const result = await resendSignIn(r, jar, request.headers);
  if (!result.ok) return body.json ? errorJson(result.failure) : redirectToLogin(r, result.failure, undefined);
  if (!body.json) return redirect(loginUrl(r, { resent: '1' }));
  return Response.json(pendingJson(r, result.value), { headers: { 'cache-control': 'no-store' } });
}

async function handleVerifyPost(r: Resolved, request: Request, jar: ResponseJar): Promise<Response> {
  const body = await readBody(request);
  const result = await verifySignIn(r, jar, request.headers, {
    ...(typeof body.fields.code === 'string' ? { code: body.fields.code } : {}),
    ...(typeof body.fields.link_token === 'string' ? { linkToken: body.fields.link_token } : {}),
  });
  if (!result.ok) return body.json ? errorJson(result.failure) : redirectToLogin(r, result.failure, undefined);
  if (body.json)
    return Response.json(
      { ok: true, email: result.value.email, redirect_to: result.value.next },
      { headers: { 'cache-control': 'no-store' } },
    );
  return redirect(result.value.next);
}

/**
 * GET never consumes a link by itself: mail scanners follow links without this browser's
 * cookies. With the auth-request cookie (the browser that asked) it verifies at once; without
 * it, it shows a page whose button POSTs.
 */
async function handleVerifyGet(r: Resolved, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const linkToken = url.searchParams.get('link_token') ?? '';
  const jar = new ResponseJar(request);
  if (linkToken === '' || linkToken.length > 100) return redirectToLogin(r, { code: 'INVALID_ARGUMENT' }, undefined);
  // HEAD (link checkers, Next.js answering HEAD with the GET handler) never consumes either.
  if (request.method === 'HEAD') return new Response(null, { status: 200, headers: PAGE_HEADERS });
  const pending = await verifyPendingSignIn(r.config.sessionSecret, jar.get(r.signInCookie), r.now());
  if (!pending) {
    const html = renderConfirmPage({ linkToken, action: r.verifyPath, loginPath: r.loginPath, appName: r.appName });
    return new Response(html, { status: 200, headers: PAGE_HEADERS });
  }
  const result = await verifySignIn(r, jar, request.headers, { linkToken });
  if (!result.ok) return jar.apply(redirectToLogin(r, result.failure, undefined));
  return jar.apply(redirect(result.value.next));
}

async function handleSession(r: Resolved, request: Request): Promise<Response> {
  const session = await verifySession(r.config.sessionSecret, readCookie(request.headers.get('cookie'), r.sessionCookie), r.now());
  const body = session
    ? { authenticated: true, email: session.email, expires_at: Math.floor(session.expiresAt / 1000) }
    : { authenticated: false };
  return Response.json(body, { headers: { 'cache-control': 'no-store' } });
}

async function handleLogout(r: Resolved, request: Request, jar: ResponseJar): Promise<Response> {
  const body = await readBody(request);
  clearCookie(r, jar, r.sessionCookie);
  clearCookie(r, jar, r.signInCookie);
  if (body.json) return Response.json({ ok: true }, { headers: { 'cache-control': 'no-store' } });
  return redirect(loginUrl(r, { signed_out: '1' }));
}

// ---------------------------------------------------------------------------------------------
// Server Action

async function sendAction(r: Resolved, form: FormData): Promise<SendActionState> {
  const { headers } = await import('next/headers.js');
  const requestHeaders = await headers();
  const jar = await nextJar();
  const email = form.get('email');
  const emailText = typeof email === 'string' ? email.trim().slice(0, 320) : '';
  const app = appUrlFor(r, requestHeaders);
  const result: Outcome<PendingSignIn> =
    app === undefined
      ? { ok: false, failure: { code: 'HOST_NOT_ALLOWED' } }
      : await startSignIn(r, jar, requestHeaders, app, email, form.get('next'));
  if (!result.ok) {
    const { code, retryAfterSeconds } = result.failure;
    return {
      status: 'error',
      email: emailText,
      code,
      message: userMessage(code, retryAfterSeconds) ?? userMessage('INTERNAL')!,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    };
  }
  const now = r.now();
  return {
    status: 'sent',
    email: result.value.email,
    resendInSeconds: Math.max(0, Math.ceil((result.value.resendAvailableAt - now) / 1000)),
    expiresInSeconds: Math.max(0, Math.floor((result.value.expiresAt - now) / 1000)),
  };
}

async function nextJar(): Promise<Jar> {
  const { cookies } = await import('next/headers.js');
  const store = await cookies();
  return {
    get: (name) => store.get(name)?.value,
    set: (name, value, options) => {
      // Server Components may read but not write cookies; only Actions and handlers call `set`.
      store.set(name, value, {
        httpOnly: options.httpOnly,
        secure: options.secure,
        sameSite: options.sameSite === 'Lax' ? 'lax' : 'strict',
        path: options.path,
        maxAge: options.maxAge,
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function cookieOptions(r: Resolved, maxAge: number): CookieOptions {
  return { httpOnly: true, secure: r.secure, sameSite: 'Lax', path: '/', maxAge };
}

function clearCookie(r: Resolved, jar: Jar, name: string): void {
  jar.set(name, '', cookieOptions(r, 0));
}

async function setPending(r: Resolved, jar: Jar, pending: PendingSignIn, expiresIn: number): Promise<void> {
  const maxAge = (expiresIn > 0 ? expiresIn : (r.expiresIn ?? SESAME_DEFAULT_EXPIRES_IN)) + SIGN_IN_COOKIE_GRACE;
  const token = await signPendingSignIn(r.config.sessionSecret, pending, r.now(), maxAge);
  jar.set(r.signInCookie, token, cookieOptions(r, maxAge));
}

function throttled(throttle: Throttle | undefined, r: Resolved, headers: Headers): Failure | undefined {
  if (!throttle) return undefined;
  const decision = throttle.hit(r.clientKey({ headers }), r.now());
  return decision.allowed ? undefined : { code: 'RATE_LIMITED', retryAfterSeconds: decision.retryAfterSeconds };
}

function failureFrom(error: unknown): Failure {
  if (error instanceof SesameApiError) {
    // Misconfiguration (bad client credentials, a link URI Sesame does not allow) is the app's
    // problem, not the user's: log it for the operator, tell the user something went wrong.
    if (error.code === 'UNAUTHENTICATED' || error.code === 'REDIRECT_URI_NOT_ALLOWED' || error.code === 'INTERNAL') {
      console.error(
        `[sesame] ${error.code} (HTTP ${error.status}${error.requestId ? `, request ${error.requestId}` : ''}): ${error.message}`,
      );
      return { code: 'INTERNAL' };
    }
    return { code: error.code, retryAfterSeconds: error.retryAfterSeconds };
  }
  console.error('[sesame] unexpected error', error);
  return { code: 'INTERNAL' };
}

function pendingJson(r: Resolved, pending: PendingSignIn): Record<string, unknown> {
  return {
    ok: true,
    email: pending.email,
    expires_at: Math.floor(pending.expiresAt / 1000),
    resend_available_in: Math.max(0, Math.ceil((pending.resendAvailableAt - r.now()) / 1000)),
  };
}

function loginUrl(r: Resolved, params: Record<string, string>): string {
  const query = new URLSearchParams(params).toString();
  return query === '' ? r.loginPath : `${r.loginPath}?${query}`;
}

function redirectToLogin(r: Resolved, failure: Failure, next: string | undefined): Response {
  const params: Record<string, string> = { error: failure.code };
  if (failure.retryAfterSeconds !== undefined) params.retry_after = String(failure.retryAfterSeconds);
  if (next !== undefined && next !== r.afterSignInPath) params.next = next;
  const response = redirect(loginUrl(r, params));
  if (failure.retryAfterSeconds !== undefined) response.headers.set('retry-after', String(failure.retryAfterSeconds));
  return response;
}
