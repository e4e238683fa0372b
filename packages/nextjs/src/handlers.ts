/**
 * The route handlers: functions of a `Request` returning a `Response` (no `next/server` import),
 * so they are tested in process and work in either runtime. A form post is answered with a
 * redirect, a JSON post with JSON.
 */
import { clearCookie, readPending, renewSession, requestSession, revokeSession, setSignInError } from './auth-cookies.js';
import type { Resolved } from './config.js';
import { resendSignIn, startSignIn, verifySignIn } from './flows.js';
import { errorJson, readBody, redirect, ResponseJar, type Failure } from './http.js';
import { loginUrl, redirectToLogin } from './login-redirect.js';
import { safeNextPath } from './next-path.js';
import { isSameOrigin, requestAppUrlOrWarn, type AppUrl } from './origin.js';
import { PAGE_HEADERS, renderConfirmPage, renderContinuePage } from './pages.js';
import type { PendingSignIn } from './tokens.js';

type Operation = (r: Resolved, request: Request, jar: ResponseJar, app: AppUrl) => Promise<Response>;

/**
 * Every state-changing handler first needs to know the app's origin (configured, or a loopback
 * Host in development) and refuses cross-site POSTs (login CSRF) before doing anything.
 */
export async function guarded(request: Request, get: () => Resolved, operation: Operation): Promise<Response> {
  const r = get();
  const app = requestAppUrlOrWarn(r.appUrl, request.headers);
  if (app === undefined) return errorJson({ code: 'HOST_NOT_ALLOWED' });
  const jar = new ResponseJar(request);
  if (!isSameOrigin(request.headers, app.origin)) {
    return jar.apply(Response.json({ error: { code: 'INVALID_ARGUMENT', message: 'Cross-site request refused.' } }, { status: 403 }));
  }
  return jar.apply(await operation(r, request, jar, app));
}

export async function handleSend(r: Resolved, request: Request, jar: ResponseJar, app: AppUrl): Promise<Response> {
  const body = await readBody(request);
  const result = await startSignIn(r, jar, request.headers, app, body.fields.email, body.fields.next);
  if (!result.ok) {
    return body.json ? errorJson(result.failure) : redirectToLogin(r, result.failure, safeNextPath(body.fields.next, r.afterSignInPath));
  }
  if (!body.json) return redirect(loginUrl(r, {}));
  return Response.json(pendingJson(r, result.value), { headers: { 'cache-control': 'no-store' } });
}

export async function handleResend(r: Resolved, request: Request, jar: ResponseJar): Promise<Response> {
  const body = await readBody(request);
  const result = await resendSignIn(r, jar, request.headers);
  if (!result.ok) return body.json ? errorJson(result.failure) : redirectToLogin(r, result.failure, undefined);
  if (!body.json) return redirect(loginUrl(r, { resent: '1' }));
  return Response.json(pendingJson(r, result.value), { headers: { 'cache-control': 'no-store' } });
}

export async function handleVerifyPost(r: Resolved, request: Request, jar: ResponseJar): Promise<Response> {
  const body = await readBody(request);
  const result = await verifySignIn(r, jar, request, {
    ...(typeof body.fields.code === 'string' ? { code: body.fields.code } : {}),
    ...(typeof body.fields.link_token === 'string' ? { linkToken: body.fields.link_token } : {}),
  });
  if (!result.ok) return body.json ? errorJson(result.failure) : failedToLogin(r, jar, result.failure);
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
export async function handleVerifyGet(r: Resolved, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const linkToken = url.searchParams.get('link_token') ?? '';
  const jar = new ResponseJar(request);
  if (linkToken === '' || linkToken.length > 100) return redirectToLogin(r, { code: 'INVALID_ARGUMENT' }, undefined);
  // HEAD (link checkers, Next.js answering HEAD with the GET handler) never consumes either.
  if (request.method === 'HEAD') return new Response(null, { status: 200, headers: PAGE_HEADERS });
  const pending = await readPending(r, jar);
  if (!pending) {
    const html = renderConfirmPage({ linkToken, action: r.verifyPath, loginPath: r.loginPath, appName: r.appName });
    return new Response(html, { status: 200, headers: PAGE_HEADERS });
  }
  const result = await verifySignIn(r, jar, request, { linkToken });
  if (!result.ok) return jar.apply(await failedToLogin(r, jar, result.failure));
  // A SameSite=Strict cookie set while answering a navigation that began on another site (the
  // mail client) is not sent along the redirects that follow it: a page of this origin moves on.
  if (r.sessionCookieAttributes.sameSite === 'Strict') {
    return jar.apply(new Response(renderContinuePage({ next: result.value.next, appName: r.appName }), { headers: PAGE_HEADERS }));
  }
  return jar.apply(redirect(result.value.next));
}

/**
 * The form and link paths go back to the login page with `?error=`; a refusal's own words go in a
 * short-lived signed cookie (never the URL, where anyone could write them) for `getSignInError`.
 */
async function failedToLogin(r: Resolved, jar: ResponseJar, failure: Failure): Promise<Response> {
  if (failure.code === 'SIGN_IN_REFUSED' && failure.message !== undefined) {
    await setSignInError(r, jar, { code: 'SIGN_IN_REFUSED', message: failure.message });
  }
  return redirectToLogin(r, { code: failure.code, retryAfterSeconds: failure.retryAfterSeconds }, undefined);
}

/** Who is signed in, for the browser (claims are the app's own, and readable in the cookie anyway). Renews a due session. */
export async function handleSession(r: Resolved, request: Request): Promise<Response> {
  const session = await requestSession(r, request);
  const jar = new ResponseJar(request);
  if (session) await renewSession(r, jar, session);
  const body = session
    ? { authenticated: true, email: session.email, claims: session.claims, expires_at: Math.floor(session.expiresAt / 1000) }
    : { authenticated: false };
  return jar.apply(Response.json(body, { headers: { 'cache-control': 'no-store' } }));
}

/** Signs out on the server: the session's id is revoked, so a copy of its cookie is refused too. */
export async function handleLogout(r: Resolved, request: Request, jar: ResponseJar): Promise<Response> {
  const body = await readBody(request);
  const session = await requestSession(r, request);
  if (session) await revokeSession(r, session);
  clearCookie(r, jar, r.sessionCookie);
  clearCookie(r, jar, r.signInCookie);
  if (body.json) return Response.json({ ok: true }, { headers: { 'cache-control': 'no-store' } });
  return redirect(loginUrl(r, { signed_out: '1' }));
}

/** Forgets this browser's pending sign-in ("use a different email"); the login page keeps its `next`. */
export async function handleCancel(r: Resolved, request: Request, jar: ResponseJar): Promise<Response> {
  const body = await readBody(request);
  const pending = await readPending(r, jar);
  clearCookie(r, jar, r.signInCookie);
  if (body.json) return Response.json({ ok: true }, { headers: { 'cache-control': 'no-store' } });
  const next = pending?.next;
  return redirect(loginUrl(r, next === undefined || next === r.afterSignInPath ? {} : { next }));
}

function pendingJson(r: Resolved, pending: PendingSignIn): Record<string, unknown> {
  return {
    ok: true,
    email: pending.email,
    expires_at: Math.floor(pending.expiresAt / 1000),
    resend_available_in: Math.max(0, Math.ceil((pending.resendAvailableAt - r.now()) / 1000)),
  };
}
