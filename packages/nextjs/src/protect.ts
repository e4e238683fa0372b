/**
 * Protected Server Functions and Route Handlers check the session themselves: the middleware is
 * a first gate only, and a Server Action is reachable by a POST to any page. These are the checks.
 */
import { renewSession, requestSession } from './auth-cookies.js';
import type { Resolved } from './config.js';
import { errorJson, ResponseJar } from './http.js';
import { loginUrl } from './login-redirect.js';
import { safeNextPath } from './next-path.js';
import type { Session } from './session.js';

export type SessionHandler<Context> = (request: Request, session: Session, context: Context) => Response | Promise<Response>;

export interface RequireSessionOptions {
  /** The path to come back to after signing in (a same-origin path; others are ignored). */
  readonly next?: string | undefined;
}

/** A Route Handler that answers 401 `NOT_SIGNED_IN` JSON without a valid session, and renews a due one. */
export function withSession<Context>(
  get: () => Resolved,
  handler: SessionHandler<Context>,
): (request: Request, context: Context) => Promise<Response> {
  return async (request, context) => {
    const r = get();
    const session = await requestSession(r, request);
    if (session === null) return errorJson({ code: 'NOT_SIGNED_IN' });
    const jar = new ResponseJar(request);
    await renewSession(r, jar, session);
    return jar.apply(await handler(request, session, context));
  };
}

/** Where `requireSession` sends a signed-out visitor. */
export function loginRedirectPath(r: Resolved, options: RequireSessionOptions | undefined): string {
  const next = safeNextPath(options?.next, '');
  return loginUrl(r, next === '' || next === r.afterSignInPath ? {} : { next });
}
