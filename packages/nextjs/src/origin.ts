/**
 * The app's own origin: where the magic link points and which `Origin` a state-changing POST
 * must come from. It comes from configuration (`appUrl`), never from X-Forwarded-Host,
 * Forwarded or X-Forwarded-Proto: `next start` passes those through from the client, so a
 * caller of the send route would choose where a victim's link points. Without `appUrl` (only
 * allowed outside production) the `Host` header is used when it names the host's own loopback
 * interface, which a remote attacker cannot make a victim's browser send to a public app.
 */

/** `appUrl` checked and reduced to its origin plus an optional base path (no trailing slash). */
export interface AppUrl {
  readonly origin: string;
  /** Origin and base path, e.g. `https://app.example` or `https://example.com/app`. */
  readonly base: string;
}

export function parseAppUrl(value: string): AppUrl {
  const problem = (why: string): Error =>
    new Error(`appUrl must be the app's public URL, like https://app.example.com (${why}); got ${JSON.stringify(value.slice(0, 200))}.`);
  // The value goes into every emailed link: anything a reader could be fooled by is refused.
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (c <= 0x20 || c === 0x7f || ch === '\\' || /\s/u.test(ch)) throw problem('no spaces, control characters or backslashes');
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw problem('not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw problem('http or https only');
  if (url.username !== '' || url.password !== '') throw problem('no user name or password');
  if (url.search !== '' || url.hash !== '' || value.endsWith('?') || value.endsWith('#')) throw problem('no query or fragment');
  return { origin: url.origin, base: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i;

/** `http://<Host>` when the Host header names a loopback address, else `undefined`. */
export function loopbackOrigin(headers: Headers): string | undefined {
  const host = headers.get('host')?.trim();
  if (host === undefined || !LOOPBACK_HOST.test(host)) return undefined;
  return new URL(`http://${host.toLowerCase()}`).origin;
}

/**
 * The origin requests are served for: the configured one, else (development) a loopback Host.
 * `undefined` means the request must be refused.
 */
export function requestAppUrl(configured: AppUrl | undefined, headers: Headers): AppUrl | undefined {
  if (configured !== undefined) return configured;
  const origin = loopbackOrigin(headers);
  return origin === undefined ? undefined : { origin, base: origin };
}

let warnedAboutHost = false;

/** `requestAppUrl`, telling the operator once per process when it refuses a request. */
export function requestAppUrlOrWarn(configured: AppUrl | undefined, headers: Headers): AppUrl | undefined {
  const app = requestAppUrl(configured, headers);
  if (app === undefined && !warnedAboutHost) {
    // Without the Host value: it is the client's text.
    warnedAboutHost = true;
    console.warn('[sesame] refused a request for a non-loopback Host: set appUrl to serve the app at its public address.');
  }
  return app;
}

/**
 * Login-CSRF guard. `Sec-Fetch-Site` (sent by every current browser) says whether the request
 * came from this origin; it is used first because a page with `Referrer-Policy: no-referrer`
 * (the link confirmation page) makes the browser send `Origin: null` on its own form posts.
 * Without it, `Origin` must be the app's origin. Requests with neither are not from a browser,
 * so CSRF does not apply (curl, server-to-server).
 */
export function isSameOrigin(headers: Headers, appOrigin: string): boolean {
  const site = headers.get('sec-fetch-site');
  if (site !== null) return site === 'same-origin' || site === 'none';
  const origin = headers.get('origin');
  if (origin === null) return true;
  try {
    return new URL(origin).origin === appOrigin;
  } catch {
    return false;
  }
}
