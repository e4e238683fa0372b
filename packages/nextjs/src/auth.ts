/**
 * The kit's server side: one `createSesameAuth(config)` gives the route handlers, the Server
 * Action for send and the session readers, all sharing one configuration, one Sesame client
 * and one set of throttles.
 *
 * Only the Server Action and the session readers need `next/headers`, which they import lazily.
 */
import { readPending, readSession, requestSession } from './auth-cookies.js';
import { resolve, type Resolved, type ResolvedSettings, type SesameAuthConfig } from './config.js';
import { guarded, handleLogout, handleResend, handleSend, handleSession, handleVerifyGet, handleVerifyPost } from './handlers.js';
import { nextJar } from './next-cookies.js';
import { sendAction, type SendActionState } from './send-action.js';
import type { PendingSignIn, Session } from './tokens.js';

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
      return readSession(r, await nextJar());
    },
    getPendingSignIn: async () => {
      const r = get();
      return readPending(r, await nextJar());
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
