/**
 * Open-redirect guard: only same-origin relative paths are honoured as `next`. Anything else
 * (absolute URLs, protocol-relative `//host`, backslash tricks browsers normalise to `//`,
 * control characters) falls back to the default.
 */
const PROBE_ORIGIN = 'http://next.invalid';

export function safeNextPath(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 1000) return fallback;
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return fallback;
  // Browsers drop tabs and newlines inside URLs, so "/\t/evil.com" would become "//evil.com".
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return fallback;
  }
  let url: URL;
  try {
    url = new URL(value, PROBE_ORIGIN);
  } catch {
    return fallback;
  }
  if (url.origin !== PROBE_ORIGIN) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
