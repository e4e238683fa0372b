/**
 * Allowed redirect URIs (docs/ARCHITECTURE.md "Policy"). A magic link may only point at a URI
 * that the policy or the calling client registered, so a stolen client secret cannot mail users a
 * link to an attacker's site.
 *
 * A URL is judged in exactly the form that is stored and emailed: the WHATWG serialisation
 * (`href`). Input that a URL parser would rewrite in any way a reader could be fooled by
 * (whitespace it strips, `\` it reads as `/`, `user@` before the host, dot segments it
 * resolves) is refused instead of silently repaired, so what was checked is what is sent.
 */
import type { RedirectRule } from './policy.js';

export type CanonicalUrl =
  { readonly ok: true; readonly url: URL; readonly href: string } | { readonly ok: false; readonly problem: string };

/** The name of the query parameter that carries the token in an emailed link. */
export const LINK_TOKEN_PARAM = 'link_token';

const WHITESPACE_OR_CONTROL = /[\s\p{Cc}]/u;
// Invisible and direction-changing characters: zero-width, soft hyphen, variation selectors, bidi
// controls and every other format character. They can make a link read as something it is not.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Bidi_Control}]/u;
const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;
const SCHEME_AUTHORITY_REST = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([\s\S]*)$/;

/**
 * The harmless differences allowed between an input and its `href`: ASCII case in the scheme
 * and host, an explicit default port (`:443` for https, `:80` for http) and the `/` of an empty
 * path. None changes where the URL leads or how it reads; anything else must already be canonical.
 */
function withHarmlessCanonicalisation(value: string): string {
  const match = SCHEME_AUTHORITY_REST.exec(value);
  if (!match) return value;
  const [, rawScheme = '', authority = '', rest = ''] = match;
  const scheme = rawScheme.toLowerCase();
  const defaultPort = scheme === 'https' ? ':443' : scheme === 'http' ? ':80' : null;
  let host = authority.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
  if (defaultPort !== null && host.endsWith(defaultPort)) host = host.slice(0, -defaultPort.length);
  const path = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
  return `${scheme}://${host}${path}`;
}

/**
 * Checks that `value` is an absolute http(s) URL written canonically, and answers the parsed
 * URL with the exact string to store and send. Problems read as field descriptions and never
 * quote the value.
 */
export function canonicalHttpUrl(value: string): CanonicalUrl {
  if (WHITESPACE_OR_CONTROL.test(value)) return refuse('must not contain whitespace or control characters');
  if (value.includes('\\')) return refuse('must not contain a backslash');
  if (INVISIBLE.test(value)) return refuse('must not contain invisible or text-direction characters');
  if (!PRINTABLE_ASCII.test(value)) return refuse('must be ASCII: percent-encode the path and query, and write the host in its xn-- form');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refuse('must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refuse('must be an absolute http(s) URL');
  if (url.username !== '' || url.password !== '') return refuse('must not carry a user name or password');
  if (url.hash !== '' || value.includes('#')) return refuse('must not have a fragment');
  if (url.href !== withHarmlessCanonicalisation(value)) {
    return refuse(
      'must be in canonical form, exactly as a URL parser writes it back (no dot segments, special characters percent-encoded)',
    );
  }
  return { ok: true, url, href: url.href };
}

/**
 * A `magiclink_auth_uri` as it may be stored and emailed: canonical (see `canonicalHttpUrl`),
 * with a path that prefix rules can judge, and no `link_token` of its own (an app reads the
 * first one, which would then be the caller's, not the one Sesame adds).
 */
export function canonicalMagicLinkUri(value: string): CanonicalUrl {
  const checked = canonicalHttpUrl(value);
  if (!checked.ok) return checked;
  const pathProblem = unsafePathProblem(checked.url.pathname);
  if (pathProblem !== null) return refuse(pathProblem);
  if (checked.url.searchParams.has(LINK_TOKEN_PARAM)) return refuse(`must not carry a ${LINK_TOKEN_PARAM} parameter: Sesame adds it`);
  return checked;
}

function refuse(problem: string): CanonicalUrl {
  return { ok: false, problem };
}

// `/`, `\` or `%` percent-encoded, at any depth of re-encoding (`%2f`, `%252f`, …).
const ENCODED_SEPARATOR = /%(?:25)*(?:2f|5c)/i;

/**
 * Why a path may not be compared by prefix, or null. An encoded `/` or `\` and a dot segment
 * (`.`, `..`, `%2e`, `%252e`, `..;x` as some servlet containers read it) can each let a path that
 * starts with an allowed prefix reach outside it once the app's server decodes it.
 */
export function unsafePathProblem(pathname: string): string | null {
  if (ENCODED_SEPARATOR.test(pathname)) return 'must not contain an encoded / or \\ in its path';
  for (const segment of pathname.split('/')) {
    let decoded = segment;
    while (/%25/i.test(decoded)) decoded = decoded.replace(/%25/gi, '%');
    decoded = decoded.replace(/%2e/gi, '.').replace(/;[\s\S]*$/, '');
    if (decoded === '.' || decoded === '..') return 'must not contain a dot segment (. or ..) in its path';
  }
  return null;
}

/**
 * Exact rules compare whole canonical URLs. Prefix rules require the same origin (scheme, host
 * and port, compared after URL parsing, so `https://app.example.com.evil.test` never matches
 * `https://app.example.com/`) and a path under the rule's path, segment by segment: a prefix
 * rule ends in `/`, so `/auth/` never admits `/authority`. A rule saved before prefix rules had
 * to end in `/` is read as if it did. The candidate must be canonical and free of encoded
 * separators and dot segments.
 */
export function isRedirectAllowed(candidate: string, rules: readonly RedirectRule[]): boolean {
  const checked = canonicalHttpUrl(candidate);
  if (!checked.ok || unsafePathProblem(checked.url.pathname) !== null) return false;
  return rules.some((rule) => ruleAllows(rule, checked.url));
}

function ruleAllows(rule: RedirectRule, url: URL): boolean {
  const allowed = parseHttpUrl(rule.uri);
  if (!allowed) return false;
  if (rule.match === 'exact') return allowed.href === url.href;
  // A prefix rule with a query or an unsafe path (possible only in a rule saved before these
  // checks) matches nothing rather than something unintended.
  if (allowed.search !== '' || rule.uri.includes('?') || unsafePathProblem(allowed.pathname) !== null) return false;
  if (allowed.origin !== url.origin) return false;
  const base = allowed.pathname.endsWith('/') ? allowed.pathname : `${allowed.pathname}/`;
  return url.pathname.startsWith(base);
}

/** Why a redirect rule may not be saved, or null. */
export function redirectRuleProblem(rule: RedirectRule): string | null {
  const checked = canonicalHttpUrl(rule.uri);
  if (!checked.ok) return checked.problem;
  const pathProblem = unsafePathProblem(checked.url.pathname);
  if (pathProblem !== null) return pathProblem;
  if (rule.match === 'prefix') {
    if (checked.url.search !== '' || rule.uri.includes('?')) return 'a prefix rule must not have a query';
    if (!checked.url.pathname.endsWith('/')) {
      return 'a prefix rule must end in "/" (e.g. https://app.example.com/auth/), so that it admits whole path segments only';
    }
  }
  return null;
}

/** An absolute http(s) URL without credentials or a fragment, parsed leniently (for stored rules). */
export function parseHttpUrl(value: string): URL | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username !== '' || url.password !== '' || url.hash !== '' || value.includes('#')) return null;
  return url;
}

/**
 * The emailed link: the canonical URI with `link_token` appended to its query (`?` or `&`). The
 * existing query is kept byte for byte (re-serialising it through URLSearchParams would turn
 * `%20` into `+` and `?flag` into `?flag=`), so the link starts with exactly the URI that was
 * checked. Throws for a URI that is not an absolute http(s) URL.
 */
export function buildMagicLink(magiclinkAuthUri: string, linkToken: string): string {
  const url = parseHttpUrl(magiclinkAuthUri);
  if (!url) throw new Error('The magic link URI is not an absolute http(s) URL.');
  const param = `${LINK_TOKEN_PARAM}=${encodeURIComponent(linkToken)}`;
  // The setter drops one leading `?`, so the current query is handed over with its own `?`:
  // a query that itself starts with `?` keeps it.
  url.search = url.search.length > 1 ? `${url.search}&${param}` : `?${param}`;
  return url.href;
}
