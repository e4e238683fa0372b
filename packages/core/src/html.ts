/** HTML escaping shared by every page and email Sesame renders. */

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const NEEDS_ESCAPE = /[&<>"']/;

/** Escapes text for HTML element content and for attribute values in either kind of quotes. */
export function escapeHtml(value: string): string {
  // Most values (codes, names, times) have nothing to escape: skip the replace and its callbacks.
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}
