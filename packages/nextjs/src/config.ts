/** The kit's configuration, and its checked, defaulted form shared by every handler. */
import { SesameClient, type PasswordlessTemplate } from '@sesame/client';
import { parseAppUrl, type AppUrl } from './origin.js';
import { clientKey, createThrottle, type ClientIpFunction, type ClientIpSource, type Throttle, type ThrottleRule } from './throttle.js';

export interface SesameAuthConfig {
  /** Sesame's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly sesameUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Signs the session and auth-request cookies (HS256); at least 32 characters. */
  readonly sessionSecret: string;
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
  readonly client: SesameClient;
  /** `undefined` only outside production: then a loopback Host stands in for it. */
  readonly appUrl: AppUrl | undefined;
  readonly appName: string;
  readonly sessionMaxAge: number;
  readonly secure: boolean;
  readonly expiresIn: number | undefined;
  readonly template: PasswordlessTemplate | undefined;
  readonly sendThrottle: Throttle | undefined;
  readonly verifyThrottle: Throttle | undefined;
  readonly clientKey: (request: ClientIpSource) => string;
  readonly now: () => number;
}

// This package builds without Node's types (it must run in Edge too); Next.js provides
// `process.env` in both runtimes and inlines NODE_ENV.
declare const process: { readonly env: Readonly<Record<string, string | undefined>> };

const DEFAULT_SESSION_MAX_AGE = 7 * 24 * 3600;
const DEFAULT_RESEND_COOLDOWN = 30;

export function resolve(config: SesameAuthConfig): Resolved {
  const missing = (['sesameUrl', 'clientId', 'clientSecret', 'sessionSecret'] as const).filter((k) => !config[k]);
  if (missing.length > 0) throw new Error(`Sesame kit configuration is missing: ${missing.join(', ')}.`);
  if (config.sessionSecret.length < 32) throw new Error('The session secret must be at least 32 characters.');
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
  return {
    config,
    client: config.client ?? new SesameClient({ baseUrl: config.sesameUrl, clientId: config.clientId, clientSecret: config.clientSecret }),
    appUrl,
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
    clientKey: (request) => clientKey(request, { trustedProxyHops: hops, clientIp }),
    now: config.now ?? Date.now,
  };
}
