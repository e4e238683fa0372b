/**
 * The kit's server side: one `createSesameAuth(config)` gives the route handlers, the Server
 * Action for send and the session readers, all sharing one configuration, one Sesame client,
 * one set of throttles and one store of revoked sessions.
 *
 * Only the Server Action and the session readers need `next/headers` (and `requireSession`
 * `next/navigation`), which they import lazily.
 */
import { clearCookie, readPending, readSession, renewSession, requestSession, revokeSession } from './auth-cookies.js';
import { resolve, type Resolved, type ResolvedSettings, type SesameAuthConfig } from './config.js';
import {
  guarded,
  handleCancel,
  handleLogout,
  handleResend,
  handleSend,
  handleSession,
  handleVerifyGet,
  handleVerifyPost,
} from './handlers.js';
import type { Jar } from './http.js';
import { nextJar } from './next-cookies.js';
import { loginRedirectPath, withSession, type RequireSessionOptions, type SessionHandler } from './protect.js';
import { sendAction, type SendActionState } from './send-action.js';
import type { Session } from './session.js';
import { signInError, type SignInError, type SignInErrorQuery } from './sign-in-error.js';
import type { PendingSignIn } from './tokens.js';

export type { ResolvedSettings, SesameAuthConfig } from './config.js';
export type { SendActionState } from './send-action.js';

export type Handler = (request: Request) => Promise<Response>;

export interface SesameAuth {
  readonly handlers: {
    readonly send: Handler;
    readonly resend: Handler;
    readonly verify: { readonly GET: Handler; readonly POST: Handler };
    readonly session: Handler;
    readonly logout: Handler;
    /** POST: forgets this browser's pending sign-in ("use a different email"). */
    readonly cancel: Handler;
  };
  /** For `useActionState`: sends the email from a form (`email`, optional `next`). */
  sendAction(previous: SendActionState, form: FormData): Promise<SendActionState>;
  /**
   * The signed-in user of the current request (Server Components, Server Actions): signed,
   * unexpired, not signed out. In a Server Action a due session is renewed; a Server Component
   * cannot write cookies, so there it is only read.
   */
  getSession(): Promise<Session | null>;
  /** `getSession()`, or a redirect to the login page (Server Components and Server Actions). */
  requireSession(options?: RequireSessionOptions): Promise<Session>;
  /** Wraps a Route Handler: 401 `NOT_SIGNED_IN` JSON without a session, the session otherwise (renewed when due). */
  withSession<Context = unknown>(handler: SessionHandler<Context>): (request: Request, context: Context) => Promise<Response>;
  /** Ends the current session on the server and clears its cookie (Server Actions). */
  signOut(): Promise<void>;
  /** The sign-in this browser started and has not finished (for the "check your inbox" view). */
  getPendingSignIn(): Promise<PendingSignIn | null>;
  /**
   * The login page's error: pass its search params. Known `?error=` codes become their text; a
   * refusal shows the app's own words only from the signed cookie set while refusing this browser.
   */
  getSignInError(query?: SignInErrorQuery): Promise<SignInError | null>;
  /** The session of a request (Route Handlers, middleware): read only, never renewed. */
  sessionFromRequest(request: Request): Promise<Session | null>;
  readonly settings: () => ResolvedSettings;
}

/** Next.js refuses cookie writes outside Server Actions and Route Handlers; then renewal waits for one. */
async function tryRenew(r: Resolved, jar: Jar, session: Session): Promise<void> {
  try {
    await renewSession(r, jar, session);
  } catch {
    // A Server Component: read-only cookies.
  }
}

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
    cancel: async (request: Request) => guarded(request, get, handleCancel),
  };

  // The request's cookies are read before the configuration: reading them is what tells
  // `next build` the page is dynamic, so a page without `dynamic = 'force-dynamic'` is not
  // prerendered with the runtime secrets absent.
  const getSession = async (): Promise<Session | null> => {
    const jar = await nextJar();
    const r = get();
    const session = await readSession(r, jar);
    if (session) await tryRenew(r, jar, session);
    return session;
  };

  return {
    handlers,
    sendAction: async (_previous, form) => sendAction(get(), form),
    getSession,
    requireSession: async (options) => {
      const session = await getSession();
      if (session) return session;
      const { redirect } = await import('next/navigation.js');
      return redirect(loginRedirectPath(get(), options));
    },
    withSession: (handler) => withSession(get, handler),
    signOut: async () => {
      const jar = await nextJar();
      const r = get();
      const session = await readSession(r, jar);
      if (session) await revokeSession(r, session);
      clearCookie(r, jar, r.sessionCookie);
      clearCookie(r, jar, r.signInCookie);
    },
    getPendingSignIn: async () => {
      const jar = await nextJar();
      return readPending(get(), jar);
    },
    getSignInError: async (query) => {
      const jar = await nextJar();
      return signInError(get(), jar, query);
    },
    sessionFromRequest: async (request) => requestSession(get(), request),
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
