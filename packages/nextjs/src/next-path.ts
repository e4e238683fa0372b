/**
 * Open-redirect guard: only same-origin relative paths are honoured as `next`. The candidate is
 * resolved with the WHATWG URL parser (what browsers use) against a fixed probe origin, and the
 * RESULT is checked, not the input: dot segments, `%2e`, backslashes and tabs are all rewritten
 * by the parser, so `/.//evil.example` or `/%2e//evil.example` only show their real shape
 * (`//evil.example`, another host) after parsing.
 */
const PROBE_ORIGIN = 'https://next.invalid';

export function safeNextPath(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 1000) return fallback;
  // Only path-absolute input: "dashboard" or "?x" would resolve against whatever page the
  // browser is on, which this function cannot see.
  if (!value.startsWith('/')) return fallback;
  // Refused outright although the parser would strip them: a value that only becomes safe
  // after stripping was not written by this app.
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c /* \ */) return fallback;
  }
  const path = normalisedPath(value);
  if (path === undefined) return fallback;
  // The result itself must be a same-origin path, and stay one when parsed again (this is what
  // the browser does with the Location header): no "//host", no "/\host".
  if (!path.startsWith('/') || path.startsWith('//') || path.includes('\\')) return fallback;
  if (normalisedPath(path) !== path) return fallback;
  // An encoded slash or backslash in the path is a slash to any layer that decodes once more
  // before redirecting (a proxy, the app's own code): refused, as Sesame refuses them too.
  const end = path.indexOf('?');
  if (/%(?:2f|5c)/i.test(end === -1 ? path : path.slice(0, end))) return fallback;
  return path;
}

/** Path and query of `value` resolved against the probe origin; `undefined` when it leaves it. */
function normalisedPath(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value, PROBE_ORIGIN);
  } catch {
    return undefined;
  }
  if (url.origin !== PROBE_ORIGIN || url.username !== '' || url.password !== '') return undefined;
  // The fragment is dropped: it never reaches the server and only adds ways to hide things.
  return `${url.pathname}${url.search}`;
}
