/** The kit's configuration, and its checked, defaulted form shared by every handler. */
import { SesameClient, type PasswordlessTemplate } from '@sesame/client';
import { cookieAttributes, type CookieAttributes, type SameSiteSetting } from './cookie-config.js';
import type { OnVerified } from './on-verified.js';
import { parseAppUrl, type AppUrl } from './origin.js';
import { createMemorySessionStore, type SessionStore } from './session.js';
import { secretsWithFallbacks, type VerifySecrets } from './tokens.js';
import { templateChooser, variablesChooser, type TemplateSetting, type TemplateVariablesSetting } from './templates.js';
import { clientKey, createThrottle, type ClientIpFunction, type ClientIpSource, type Throttle, type ThrottleRule } from './throttle.js';

export interface SesameAuthConfig {
  /** Sesame's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly sesameUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Signs the session and auth-request cookies (HS256); at least 32 characters. */
  readonly sessionSecret: string;
  /**
   * Older session secrets, still accepted (each at least 32 characters): a cookie signed with one
   * keeps working until it expires, while everything new is signed with `sessionSecret`.
   * Removing one ends every cookie only it could verify. See "Rotating SESSION_SECRET".
   */
  readonly sessionSecretFallbacks?: readonly string[] | undefined;
  /**
   * The app's public URL (origin, optionally with a base path), e.g. `https://app.example.com`.
   * The magic link points here and POSTs must come from its origin. Required when
   * `NODE_ENV=production`; in development it may be left out, and then only requests whose
   * `Host` is a loopback address (127.0.0.1, localhost, [::1]) are served.
   */
  readonly appUrl?: string | undefined;
  /**
   * How many reverse proxies in front of the app append the client's address to
   * X-Forwarded-For (0: the app is exposed directly, and no forwarding header is believed).
   */
  readonly trustedProxyHops?: number | undefined;
  /**
   * The client's address as your platform vouches for it (overrides `trustedProxyHops`).
   * Returning null/undefined puts the request in the shared "unattributed" bucket.
   */
  readonly clientIp?: ClientIpFunction | undefined;
  readonly appName?: string;
  readonly loginPath?: string;
  /** The route where `verify` is mounted (the magic link points here). */
  readonly verifyPath?: string;
  /** Where to land after sign-in when no `next` was given. */
  readonly afterSignInPath?: string;
  readonly session?: {
    readonly cookieName?: string;
    /** Lifetime of a session cookie; a renewal issues a new one for as long again. */
    readonly maxAgeSeconds?: number;
    /** Defaults to `NODE_ENV === 'production'`. Applies to every cookie of the kit. */
    readonly secure?: boolean;
    /** `lax` (default) or `strict`; `none` only with `secure`. */
    readonly sameSite?: SameSiteSetting | undefined;
    /** Share the session cookie with subdomains (e.g. `example.com`); absent = this host only. */
    readonly domain?: string | undefined;
    /**
     * Sliding renewal (default on): a session used after half its cookie's lifetime gets a fresh
     * cookie where cookies can be written (route handlers, Server Actions, the middleware).
     */
    readonly renew?: boolean | undefined;
    /** No renewal extends a session past this long after sign-in. Default 30 days (or maxAgeSeconds if longer). */
    readonly absoluteMaxAgeSeconds?: number | undefined;
  };
  readonly signIn?: {
    readonly cookieName?: string;
    /** Seconds the emailed code and link stay valid (60–3600); absent = Sesame's policy default. */
    readonly expiresIn?: number | undefined;
    /** Seconds the resend button stays disabled after an email was sent. */
    readonly resendCooldownSeconds?: number;
    /** SIGNIN or SIGNUP, or a function of the address choosing one (e.g. SIGNUP for an address the app has not seen). */
    readonly template?: TemplateSetting | undefined;
    /** Passed to Sesame as `template_variables`: an object, or a function of the address. */
    readonly templateVariables?: TemplateVariablesSetting | undefined;
    /** SameSite of the auth-request cookie: `lax` (default; the emailed link arrives from another site) or `strict`. */
    readonly sameSite?: SameSiteSetting | undefined;
    readonly domain?: string | undefined;
  };
  /**
   * Runs after Sesame verified the address and before the session is set: returns claims for
   * the session, or `{ refuse: 'text' }` to turn the sign-in away. A throw is a failed sign-in
   * (INTERNAL, logged), never a session.
   */
  readonly onVerified?: OnVerified | undefined;
  /** Where revoked sessions are kept; default in memory (one instance only). */
  readonly sessions?: SessionStore | undefined;
  /** Per-client throttles in front of Sesame (`false` turns one off). */
  readonly throttle?: {
    readonly send?: ThrottleRule | false;
    readonly verify?: ThrottleRule | false;
    /** Superseded by the top-level `clientIp` (which receives the request) and `trustedProxyHops`; still honoured. */
    readonly clientIp?: (headers: Headers) => string;
  };
  /** A ready client (tests, custom fetch); otherwise one is made from the URL and credentials. */
  readonly client?: SesameClient;
  /** Milliseconds since the epoch; injected so tests can move time. */
  readonly now?: () => number;
}

export interface ResolvedSettings {
  readonly loginPath: string;
  readonly verifyPath: string;
  readonly afterSignInPath: string;
  readonly sessionCookie: string;
  readonly signInCookie: string;
  readonly resendCooldownSeconds: number;
}

export interface Resolved extends ResolvedSettings {
  readonly config: SesameAuthConfig;
  /** What the kit's cookies are verified with: `sessionSecret`, then its fallbacks. */
  readonly verifySecrets: VerifySecrets;
  readonly client: SesameClient;
  /** `undefined` only outside production: then a loopback Host stands in for it. */
  readonly appUrl: AppUrl | undefined;
  readonly appName: string;
  readonly sessionMaxAge: number;
  /** Seconds after sign-in beyond which no renewal extends a session. */
  readonly sessionAbsoluteMaxAge: number;
  readonly renew: boolean;
  readonly secure: boolean;
  readonly sessionCookieAttributes: CookieAttributes;
  readonly signInCookieAttributes: CookieAttributes;
  /** The short-lived cookie carrying a refusal's text to the login page. */
  readonly signInErrorCookie: string;
  readonly expiresIn: number | undefined;
  readonly templateFor: (email: string) => Promise<PasswordlessTemplate | undefined>;
  readonly templateVariablesFor: (email: string) => Promise<Readonly<Record<string, string>> | undefined>;
  readonly onVerified: OnVerified | undefined;
  readonly sessions: SessionStore;
  readonly sendThrottle: Throttle | undefined;
  readonly verifyThrottle: Throttle | undefined;
  readonly clientKey: (request: ClientIpSource) => string;
  readonly now: () => number;
}

// This package builds without Node's types (it must run in Edge too); Next.js provides
// `process.env` in both runtimes and inlines NODE_ENV.
declare const process: { readonly env: Readonly<Record<string, string | undefined>> };

const DEFAULT_SESSION_MAX_AGE = 7 * 24 * 3600;
const DEFAULT_ABSOLUTE_MAX_AGE = 30 * 24 * 3600;
const DEFAULT_RESEND_COOLDOWN = 30;

export function resolve(config: SesameAuthConfig): Resolved {
  const missing = (['sesameUrl', 'clientId', 'clientSecret', 'sessionSecret'] as const).filter((k) => !config[k]);
  if (missing.length > 0) throw new Error(`Sesame kit configuration is missing: ${missing.join(', ')}.`);
  if (config.sessionSecret.length < 32) throw new Error('The session secret must be at least 32 characters.');
  const verifySecrets = secretsWithFallbacks(config.sessionSecret, config.sessionSecretFallbacks, 'sessionSecretFallbacks');
  const expiresIn = config.signIn?.expiresIn;
  if (expiresIn !== undefined && !(Number.isInteger(expiresIn) && expiresIn >= 60 && expiresIn <= 3600)) {
    throw new Error('signIn.expiresIn must be a whole number of seconds from 60 to 3600.');
  }
  const appUrl = config.appUrl === undefined || config.appUrl === '' ? undefined : parseAppUrl(config.appUrl);
  if (appUrl === undefined && process.env.NODE_ENV === 'production') {
    throw new Error(
      "appUrl is required when NODE_ENV=production: set it to the app's public URL (e.g. https://app.example.com); the magic link is never built from request headers.",
    );
  }
  const hops = config.trustedProxyHops ?? 0;
  if (!(Number.isInteger(hops) && hops >= 0 && hops <= 10)) throw new Error('trustedProxyHops must be a whole number from 0 to 10.');
  const throttle = config.throttle ?? {};
  const sendRule = throttle.send ?? { limit: 10, windowSeconds: 60 };
  const verifyRule = throttle.verify ?? { limit: 30, windowSeconds: 60 };
  const legacyClientIp = throttle.clientIp;
  const clientIp: ClientIpFunction | undefined =
    config.clientIp ?? (legacyClientIp === undefined ? undefined : (request) => legacyClientIp(request.headers));
  const sessionMaxAge = config.session?.maxAgeSeconds ?? DEFAULT_SESSION_MAX_AGE;
  if (!(Number.isInteger(sessionMaxAge) && sessionMaxAge >= 1)) throw new Error('session.maxAgeSeconds must be a whole number of seconds.');
  const absolute = config.session?.absoluteMaxAgeSeconds ?? Math.max(DEFAULT_ABSOLUTE_MAX_AGE, sessionMaxAge);
  if (!(Number.isInteger(absolute) && absolute >= sessionMaxAge)) {
    throw new Error('session.absoluteMaxAgeSeconds must be a whole number of seconds, at least session.maxAgeSeconds.');
  }
  const secure = config.session?.secure ?? process.env.NODE_ENV === 'production';
  const sessionCookie = config.session?.cookieName ?? 'sesame_session';
  const signInCookie = config.signIn?.cookieName ?? 'sesame_auth_request';
  if (config.onVerified !== undefined && typeof config.onVerified !== 'function') throw new Error('onVerified must be a function.');
  return {
    config,
    verifySecrets,
    client: config.client ?? new SesameClient({ baseUrl: config.sesameUrl, clientId: config.clientId, clientSecret: config.clientSecret }),
    appUrl,
    appName: config.appName ?? 'this app',
    loginPath: config.loginPath ?? '/login',
    verifyPath: config.verifyPath ?? '/api/auth/verify',
    afterSignInPath: config.afterSignInPath ?? '/dashboard',
    sessionCookie,
    signInCookie,
    signInErrorCookie: `${signInCookie}_error`,
    sessionMaxAge,
    sessionAbsoluteMaxAge: absolute,
    renew: config.session?.renew ?? true,
    secure,
    sessionCookieAttributes: cookieAttributes('session', sessionCookie, config.session ?? {}, secure, appUrl),
    signInCookieAttributes: cookieAttributes('signIn', signInCookie, config.signIn ?? {}, secure, appUrl),
    expiresIn,
    templateFor: templateChooser(config.signIn?.template),
    templateVariablesFor: variablesChooser(config.signIn?.templateVariables),
    onVerified: config.onVerified,
    sessions: config.sessions ?? createMemorySessionStore({ now: config.now ?? Date.now }),
    resendCooldownSeconds: config.signIn?.resendCooldownSeconds ?? DEFAULT_RESEND_COOLDOWN,
    sendThrottle: sendRule === false ? undefined : createThrottle(sendRule),
    verifyThrottle: verifyRule === false ? undefined : createThrottle(verifyRule),
    clientKey: (request) => clientKey(request, { trustedProxyHops: hops, clientIp }),
    now: config.now ?? Date.now,
  };
}
