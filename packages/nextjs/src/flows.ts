/**
 * The three sign-in steps (start, resend, verify), shared by the route handlers and the Server
 * Action: each checks its input and throttle, calls Sesame, and keeps the cookies in step.
 */
import { clearCookie, readPending, setPending, setSession } from './auth-cookies.js';
import type { Resolved } from './config.js';
import { failureFrom } from './failures.js';
import type { Failure, Jar } from './http.js';
import { endsAuthRequest } from './messages.js';
import { safeNextPath } from './next-path.js';
import { decide } from './on-verified.js';
import type { AppUrl } from './origin.js';
import type { Throttle } from './throttle.js';
import type { PendingSignIn } from './tokens.js';

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: Failure };

export interface SignedIn {
  readonly email: string;
  readonly next: string;
}

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;

export async function startSignIn(
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
    const template = await r.templateFor(email);
    const templateVariables = await r.templateVariablesFor(email);
    const sent = await r.client.sendPasswordlessEmail({
      email,
      // From configuration (or, in development, a loopback Host): never from forwarding headers.
      magiclinkAuthUri: `${app.base}${r.verifyPath}`,
      // Sesame hands `state` back at verify: the link lands on `next` even in another browser
      // when same-browser enforcement is off (it is re-checked with safeNextPath there).
      state: next,
      ...(r.expiresIn === undefined ? {} : { expiresIn: r.expiresIn }),
      ...(template === undefined ? {} : { template }),
      ...(templateVariables === undefined ? {} : { templateVariables }),
    });
    const now = r.now();
    const pending: PendingSignIn = {
      authRequestId: sent.authRequestId,
      email,
      next,
      expiresAt: sent.expiresAt * 1000,
      resendAvailableAt: now + r.resendCooldownSeconds * 1000,
      ...(template === undefined ? {} : { template }),
    };
    await setPending(r, jar, pending, sent.expiresIn);
    // A refusal's text belongs to the sign-in that was refused, not to this new one.
    if (jar.get(r.signInErrorCookie) !== undefined) clearCookie(r, jar, r.signInErrorCookie);
    return { ok: true, value: pending };
  } catch (error) {
    return { ok: false, failure: failureFrom(error) };
  }
}

export async function resendSignIn(r: Resolved, jar: Jar, headers: Headers): Promise<Outcome<PendingSignIn>> {
  const pending = await readPending(r, jar);
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

/**
 * Verifies with Sesame, then asks the app (`onVerified`) before any session exists. Once Sesame
 * has consumed the request, every ending (session, refusal, the app's failure) clears the
 * auth-request cookie: there is nothing left to retry with it.
 */
export async function verifySignIn(
  r: Resolved,
  jar: Jar,
  request: Request,
  input: { code?: string; linkToken?: string },
): Promise<Outcome<SignedIn>> {
  const limited = throttled(r.verifyThrottle, r, request.headers);
  if (limited) return { ok: false, failure: limited };
  const pending = await readPending(r, jar);
  const code = input.code?.trim() ?? '';
  const linkToken = input.linkToken?.trim() ?? '';
  if ((code === '') === (linkToken === '') || code.length > 20 || linkToken.length > 100) {
    return { ok: false, failure: { code: 'INVALID_ARGUMENT' } };
  }
  // A code is only meaningful with the auth request this browser started.
  if (code !== '' && !pending) return { ok: false, failure: { code: 'AUTH_REQUEST_NOT_FOUND' } };
  let verified: Awaited<ReturnType<typeof r.client.verifyPasswordlessEmail>>;
  try {
    verified =
      code !== ''
        ? await r.client.verifyPasswordlessEmail({ code, authRequestId: pending!.authRequestId })
        : await r.client.verifyPasswordlessEmail({ linkToken, authRequestId: pending?.authRequestId });
  } catch (error) {
    const failure = failureFrom(error);
    if (endsAuthRequest(failure.code) && pending) clearCookie(r, jar, r.signInCookie);
    return { ok: false, failure };
  }
  clearCookie(r, jar, r.signInCookie);
  const next = safeNextPath(verified.state ?? pending?.next, r.afterSignInPath);
  const decided = await decide(
    r.onVerified,
    { email: verified.email, template: verified.template, state: verified.state, next, request },
    r.afterSignInPath,
  );
  if (!decided.ok) return { ok: false, failure: decided.failure };
  await setSession(r, jar, verified.email, decided.claims);
  if (jar.get(r.signInErrorCookie) !== undefined) clearCookie(r, jar, r.signInErrorCookie);
  return { ok: true, value: { email: verified.email, next: decided.next } };
}

function throttled(throttle: Throttle | undefined, r: Resolved, headers: Headers): Failure | undefined {
  if (!throttle) return undefined;
  const decision = throttle.hit(r.clientKey({ headers }), r.now());
  return decision.allowed ? undefined : { code: 'RATE_LIMITED', retryAfterSeconds: decision.retryAfterSeconds };
}
