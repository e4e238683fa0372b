/**
 * The kit's server side: one `createSesameAuth(config)` gives the route handlers, the Server
 * Action for send and the session readers, all sharing one configuration, one Sesame client
 * and one set of throttles.
 *
 * Handlers are functions of a `Request` returning a `Response` (no `next/server` import), so
 * they are tested in process and work in either runtime. Only the Server Action and the
 * session readers need `next/headers`, which they import lazily.
 */
import { SesameApiError, SesameClient, type PasswordlessTemplate } from '@sesame/client';
import { readCookie, serializeCookie, type CookieOptions } from './cookies.js';
import { endsAuthRequest, userMessage, type KitErrorCode } from './messages.js';
import { safeNextPath } from './next-path.js';
import { PAGE_HEADERS, renderConfirmPage } from './pages.js';
import { createThrottle, defaultClientIp, type Throttle, type ThrottleRule } from './throttle.js';
import { signPendingSignIn, signSession, verifyPendingSignIn, verifySession, type PendingSignIn, type Session } from './tokens.js';

export interface SesameAuthConfig {
  /** Sesame's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly sesameUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Signs the session and auth-request cookies (HS256); at least 32 characters. */
  readonly sessionSecret: string;
  /**
   * The app's public origin, used to build the magic link. Without it the request's own origin
   * is used; Sesame's redirect allowlist still guards against a forged Host header.
   */
  readonly appUrl?: string | undefined;
  readonly appName?: string;
  readonly loginPath?: string;
  /** The route where `verify` is mounted (the magic link points here). */
  readonly verifyPath?: string;
  /** Where to land after sign-in when no `next` was given. */
  readonly afterSignInPath?: string;
  readonly session?: {
    readonly cookieName?: string;
    readonly maxAgeSeconds?: number;
    /** Defaults to `NODE_ENV === 'production'`. */
    readonly secure?: boolean;
  };
  readonly signIn?: {
    readonly cookieName?: string;
    /** Seconds the emailed code and link stay valid (60–3600); absent = Sesame's policy default. */
    readonly expiresIn?: number | undefined;
    /** Seconds the resend button stays disabled after an email was sent. */
    readonly resendCooldownSeconds?: number;
    readonly template?: PasswordlessTemplate;
  };
  /** Per-IP throttles in front of Sesame (`false` turns one off). */
  readonly throttle?: {
    readonly send?: ThrottleRule | false;
    readonly verify?: ThrottleRule | false;
    readonly clientIp?: (headers: Headers) => string;
  };
  /** A ready client (tests, custom fetch); otherwise one is made from the URL and credentials. */
  readonly client?: SesameClient;
  /** Milliseconds since the epoch; injected so tests can move time. */
  readonly now?: () => number;
}

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

export interface ResolvedSettings {
  readonly loginPath: string;
  readonly verifyPath: string;
  readonly afterSignInPath: string;
  readonly sessionCookie: string;
  readonly signInCookie: string;
  readonly resendCooldownSeconds: number;
}

interface Resolved extends ResolvedSettings {
  readonly config: SesameAuthConfig;
  readonly client: SesameClient;
  readonly appName: string;
  readonly sessionMaxAge: number;
  readonly secure: boolean;
  readonly expiresIn: number | undefined;
  readonly template: PasswordlessTemplate | undefined;
  readonly sendThrottle: Throttle | undefined;
  readonly verifyThrottle: Throttle | undefined;
  readonly clientIp: (headers: Headers) => string;
  readonly now: () => number;
}

/** A cookie store both `Request`/`Response` handlers and `next/headers` can stand behind. */
interface Jar {
  get(name: string): string | undefined;
  set(name: string, value: string, options: CookieOptions): void;
}

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: Failure };

interface Failure {
  readonly code: KitErrorCode;
  readonly retryAfterSeconds?: number | undefined;
}

// This package builds without Node's types (it must run in Edge too); Next.js provides
// `process.env` in both runtimes and inlines NODE_ENV.
declare const process: { readonly env: Readonly<Record<string, string | undefined>> };

const DEFAULT_SESSION_MAX_AGE = 7 * 24 * 3600;
const DEFAULT_RESEND_COOLDOWN = 30;
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

function resolve(config: SesameAuthConfig): Resolved {
  const missing = (['sesameUrl', 'clientId', 'clientSecret', 'sessionSecret'] as const).filter((k) => !config[k]);
  if (missing.length > 0) throw new Error(`Sesame kit configuration is missing: ${missing.join(', ')}.`);
  if (config.sessionSecret.length < 32) throw new Error('The session secret must be at least 32 characters.');
  const expiresIn = config.signIn?.expiresIn;
  if (expiresIn !== undefined && !(Number.isInteger(expiresIn) && expiresIn >= 60 && expiresIn <= 3600)) {
    throw new Error('signIn.expiresIn must be a whole number of seconds from 60 to 3600.');
  }
  const throttle = config.throttle ?? {};
  const sendRule = throttle.send ?? { limit: 10, windowSeconds: 60 };
  const verifyRule = throttle.verify ?? { limit: 30, windowSeconds: 60 };
  return {
    config,
    client:
      config.client ?? new SesameClient({ baseUrl: config.sesameUrl, clientId: config.clientId, clientSecret: config.clientSecret }),
    appName: config.appName ?? 'this app',
    loginPath: config.loginPath ?? '/login',
    verifyPath: config.verifyPath ?? '/api/auth/verify',
    afterSignInPath: config.afterSignInPath ?? '/dashboard',
    sessionCookie: config.session?.cookieName ?? 'sesame_session',
    signInCookie: config.signIn?.cookieName ?? 'sesame_auth_request',
    sessionMaxAge: config.session?.maxAgeSeconds ?? DEFAULT_SESSION_MAX_AGE,
    secure: config.session?.secure ?? process.env.NODE_ENV === 'production',
    expiresIn,
    template: config.signIn?.template,
    resendCooldownSeconds: config.signIn?.resendCooldownSeconds ?? DEFAULT_RESEND_COOLDOWN,
    sendThrottle: sendRule === false ? undefined : createThrottle(sendRule),
    verifyThrottle: verifyRule === false ? undefined : createThrottle(verifyRule),
    clientIp: throttle.clientIp ?? defaultClientIp,
    now: config.now ?? Date.now,
  };
}

// ---------------------------------------------------------------------------------------------
// The three operations, shared by the route handlers and the Server Action.

async function startSignIn(r: Resolved, jar: Jar, headers: Headers, origin: string, emailInput: unknown, nextInput: unknown): Promise<Outcome<PendingSignIn>> {
  const limited = throttled(r.sendThrottle, r, headers);
  if (limited) return { ok: false, failure: limited };
  const email = typeof emailInput === 'string' ? emailInput.trim() : '';
  if (email === '' || email.length > 320 || !EMAIL_PATTERN.test(email)) return { ok: false, failure: { code: 'INVALID_ARGUMENT' } };
  const next = safeNextPath(nextInput, r.afterSignInPath);
  try {
    const sent = await r.client.sendPasswordlessEmail({
      email,
      magiclinkAuthUri: `${(r.config.appUrl ?? origin).replace(/\/+$/, '')}${r.verifyPath}`,
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

async function verifySignIn(r: Resolved, jar: Jar, headers: Headers, input: { code?: string; linkToken?: string }): Promise<Outcome<SignedIn>> {
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

type Operation = (r: Resolved, request: Request, jar: ResponseJar) => Promise<Response>;

/** Every state-changing handler refuses cross-site POSTs (login CSRF) before doing anything. */
async function guarded(request: Request, get: () => Resolved, operation: Operation): Promise<Response> {
  const r = get();
  const jar = new ResponseJar(request);
  if (!sameOrigin(request)) {
    return jar.apply(Response.json({ error: { code: 'INVALID_ARGUMENT', message: 'Cross-site request refused.' } }, { status: 403 }));
  }
  return jar.apply(await operation(r, request, jar));
}

async function handleSend(r: Resolved, request: Request, jar: ResponseJar): Promise<Response> {
  const body = await readBody(request);
  const result = await startSignIn(r, jar, request.headers, originFromHeaders(request.headers), body.fields.email, body.fields.next);
  if (!result.ok) {
    return body.json ? errorJson(result.failure) : redirectToLogin(r, request, result.failure, safeNextPath(body.fields.next, r.afterSignInPath));
  }
  if (!body.json) return redirect(request, loginUrl(r, {}));
  return Response.json(pendingJson(r, result.value), { headers: { 'cache-control': 'no-store' } });
}

async function handleResend(r: Resolved, request: Request, jar: ResponseJar): Promise<Response> {
  const body = await readBody(request);
  const result = await resendSignIn(r, jar, request.headers);
  if (!result.ok) return body.json ? errorJson(result.failure) : redirectToLogin(r, request, result.failure, undefined);
  if (!body.json) return redirect(request, loginUrl(r, { resent: '1' }));
  return Response.json(pendingJson(r, result.value), { headers: { 'cache-control': 'no-store' } });
}

async function handleVerifyPost(r: Resolved, request: Request, jar: ResponseJar): Promise<Response> {
  const body = await readBody(request);
  const result = await verifySignIn(r, jar, request.headers, {
    ...(typeof body.fields.code === 'string' ? { code: body.fields.code } : {}),
    ...(typeof body.fields.link_token === 'string' ? { linkToken: body.fields.link_token } : {}),
  });
  if (!result.ok) return body.json ? errorJson(result.failure) : redirectToLogin(r, request, result.failure, undefined);
  if (body.json) return Response.json({ ok: true, email: result.value.email, redirect_to: result.value.next }, { headers: { 'cache-control': 'no-store' } });
  return redirect(request, result.value.next);
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
  if (linkToken === '' || linkToken.length > 100) return redirectToLogin(r, request, { code: 'INVALID_ARGUMENT' }, undefined);
  // HEAD (link checkers, Next.js answering HEAD with the GET handler) never consumes either.
  if (request.method === 'HEAD') return new Response(null, { status: 200, headers: PAGE_HEADERS });
  const pending = await verifyPendingSignIn(r.config.sessionSecret, jar.get(r.signInCookie), r.now());
  if (!pending) {
    const html = renderConfirmPage({ linkToken, action: r.verifyPath, loginPath: r.loginPath, appName: r.appName });
    return new Response(html, { status: 200, headers: PAGE_HEADERS });
  }
  const result = await verifySignIn(r, jar, request.headers, { linkToken });
  if (!result.ok) return jar.apply(redirectToLogin(r, request, result.failure, undefined));
  return jar.apply(redirect(request, result.value.next));
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
  return redirect(request, loginUrl(r, { signed_out: '1' }));
}

// ---------------------------------------------------------------------------------------------
// Server Action

async function sendAction(r: Resolved, form: FormData): Promise<SendActionState> {
  const { headers } = await import('next/headers.js');
  const requestHeaders = await headers();
  const jar = await nextJar();
  const email = form.get('email');
  const emailText = typeof email === 'string' ? email.trim().slice(0, 320) : '';
  const result = await startSignIn(r, jar, requestHeaders, originFromHeaders(requestHeaders), email, form.get('next'));
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

/** The origin the browser used (Host), which is what the magic link must point back to. */
function originFromHeaders(headers: Headers): string {
  const host = headers.get('x-forwarded-host') ?? headers.get('host') ?? 'localhost';
  const proto = headers.get('x-forwarded-proto') ?? 'http';
  return `${proto === 'https' ? 'https' : 'http'}://${host}`;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Collects Set-Cookie headers while a handler runs and attaches them to its response. */
class ResponseJar implements Jar {
  readonly #incoming: string | null;
  readonly #set = new Map<string, { value: string; header: string }>();

  constructor(request: Request) {
    this.#incoming = request.headers.get('cookie');
  }

  get(name: string): string | undefined {
    const written = this.#set.get(name);
    if (written) return written.value === '' ? undefined : written.value;
    return readCookie(this.#incoming, name);
  }

  set(name: string, value: string, options: CookieOptions): void {
    this.#set.set(name, { value, header: serializeCookie(name, value, options) });
  }

  apply(response: Response): Response {
    if (this.#set.size === 0) return response;
    // Responses made by Response.json/redirect may have immutable headers: copy into a new one.
    const headers = new Headers(response.headers);
    for (const { header } of this.#set.values()) headers.append('set-cookie', header);
    this.#set.clear();
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

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
  const decision = throttle.hit(r.clientIp(headers), r.now());
  return decision.allowed ? undefined : { code: 'RATE_LIMITED', retryAfterSeconds: decision.retryAfterSeconds };
}

function failureFrom(error: unknown): Failure {
  if (error instanceof SesameApiError) {
    // Misconfiguration (bad client credentials, a link URI Sesame does not allow) is the app's
    // problem, not the user's: log it for the operator, tell the user something went wrong.
    if (error.code === 'UNAUTHENTICATED' || error.code === 'REDIRECT_URI_NOT_ALLOWED' || error.code === 'INTERNAL') {
      console.error(`[sesame] ${error.code} (HTTP ${error.status}${error.requestId ? `, request ${error.requestId}` : ''}): ${error.message}`);
      return { code: 'INTERNAL' };
    }
    return { code: error.code, retryAfterSeconds: error.retryAfterSeconds };
  }
  console.error('[sesame] unexpected error', error);
  return { code: 'INTERNAL' };
}

const STATUS: Readonly<Record<KitErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 500,
  REDIRECT_URI_NOT_ALLOWED: 500,
  AUTH_REQUEST_NOT_FOUND: 404,
  INVALID_CREDENTIAL: 400,
  EXPIRED: 400,
  ALREADY_USED: 400,
  SAME_BROWSER_REQUIRED: 400,
  TOO_MANY_ATTEMPTS: 429,
  SEND_LIMIT_EXCEEDED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
  RATE_LIMITED: 429,
};

function errorJson(failure: Failure): Response {
  const headers = new Headers({ 'cache-control': 'no-store' });
  if (failure.retryAfterSeconds !== undefined) headers.set('retry-after', String(failure.retryAfterSeconds));
  return Response.json(
    {
      error: {
        code: failure.code,
        message: userMessage(failure.code, failure.retryAfterSeconds),
        ...(failure.retryAfterSeconds === undefined ? {} : { retry_after: failure.retryAfterSeconds }),
      },
    },
    { status: STATUS[failure.code], headers },
  );
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

function redirectToLogin(r: Resolved, request: Request, failure: Failure, next: string | undefined): Response {
  const params: Record<string, string> = { error: failure.code };
  if (failure.retryAfterSeconds !== undefined) params.retry_after = String(failure.retryAfterSeconds);
  if (next !== undefined && next !== r.afterSignInPath) params.next = next;
  const response = redirect(request, loginUrl(r, params));
  if (failure.retryAfterSeconds !== undefined) response.headers.set('retry-after', String(failure.retryAfterSeconds));
  return response;
}

/**
 * 303: the browser follows a POST's answer with a GET, so a reload never re-submits. The
 * location stays relative: behind `next start` the request URL names the listening address,
 * which need not be the host the browser used (and holds its cookies for).
 */
function redirect(_request: Request, path: string): Response {
  return new Response(null, { status: 303, headers: { location: path, 'cache-control': 'no-store' } });
}

interface Body {
  readonly json: boolean;
  readonly fields: Record<string, unknown>;
}

async function readBody(request: Request): Promise<Body> {
  const type = request.headers.get('content-type') ?? '';
  if (type.includes('application/json')) {
    try {
      const parsed: unknown = await request.json();
      return { json: true, fields: typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {} };
    } catch {
      return { json: true, fields: {} };
    }
  }
  if (type.includes('application/x-www-form-urlencoded') || type.includes('multipart/form-data')) {
    try {
      const form = await request.formData();
      const fields: Record<string, unknown> = {};
      form.forEach((value, key) => {
        if (typeof value === 'string') fields[key] = value;
      });
      return { json: false, fields };
    } catch {
      return { json: false, fields: {} };
    }
  }
  // No body (e.g. a bare fetch POST to logout): answer in JSON, the API default.
  return { json: true, fields: {} };
}

/**
 * Login-CSRF guard. `Sec-Fetch-Site` (sent by every current browser) says whether the request
 * came from this origin; it is used first because a page with `Referrer-Policy: no-referrer`
 * (the link confirmation page) makes the browser send `Origin: null` on its own form posts.
 * Without it, `Origin` must name this host. Requests with neither are not from a browser, so
 * CSRF does not apply (curl, server-to-server).
 */
function sameOrigin(request: Request): boolean {
  const site = request.headers.get('sec-fetch-site');
  if (site !== null) return site === 'same-origin' || site === 'none';
  const origin = request.headers.get('origin');
  if (origin === null) return true;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return false;
  }
  const hosts = [request.headers.get('host'), request.headers.get('x-forwarded-host'), new URL(request.url).host];
  return hosts.some((h) => h !== null && h.toLowerCase() === originHost.toLowerCase());
}
