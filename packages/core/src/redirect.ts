/**
 * Allowed redirect URIs (DESIGN.md "Policy"). A magic link may only point at a URI that the
 * policy or the calling client registered, so a stolen client secret cannot mail users a link
 * to an attacker's site.
 */
import type { RedirectRule } from './policy.js';

/**
 * Exact rules compare whole normalised URLs. Prefix rules require the same origin (scheme,
 * host and port, compared after URL parsing, so `https://app.example.com.evil.test` never
 * matches `https://app.example.com/`) and a path-and-query that starts with the rule's.
 */
export function isRedirectAllowed(candidate: string, rules: readonly RedirectRule[]): boolean {
  const url = parseHttpUrl(candidate);
  if (!url) return false;
  return rules.some((rule) => {
    const allowed = parseHttpUrl(rule.uri);
    if (!allowed) return false;
    if (rule.match === 'exact') return allowed.href === url.href;
    return allowed.origin === url.origin && `${url.pathname}${url.search}`.startsWith(`${allowed.pathname}${allowed.search}`);
  });
}

/** An absolute http(s) URL without credentials or a fragment (the token is appended as a query). */
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

/** `{uri}?link_token=…`, or `&link_token=…` when the URI already has a query (SCALEKIT_WIRE.md). */
export function buildMagicLink(magiclinkAuthUri: string, linkToken: string): string {
  const separator = magiclinkAuthUri.includes('?') ? '&' : '?';
  return `${magiclinkAuthUri}${separator}link_token=${encodeURIComponent(linkToken)}`;
}
