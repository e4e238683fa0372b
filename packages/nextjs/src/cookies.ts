/** Just enough cookie handling for plain `Request`/`Response` handlers (RFC 6265 syntax). */

export type SameSite = 'Lax' | 'Strict' | 'None';

export interface CookieOptions {
  readonly httpOnly: boolean;
  readonly secure: boolean;
  readonly sameSite: SameSite;
  readonly path: string;
  /** Seconds; 0 deletes the cookie. */
  readonly maxAge: number;
  /** Shares the cookie with subdomains; absent = this host only. */
  readonly domain?: string | undefined;
}

export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  // Browsers drop a SameSite=None cookie without Secure; refusing here beats a silent sign-out.
  if (options.sameSite === 'None' && !options.secure) throw new Error(`The cookie ${name} is SameSite=None and must be Secure.`);
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${options.path}`, `Max-Age=${Math.max(0, Math.floor(options.maxAge))}`];
  if (options.maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (options.domain !== undefined) parts.push(`Domain=${options.domain}`);
  if (options.httpOnly) parts.push('HttpOnly');
  if (options.secure) parts.push('Secure');
  parts.push(`SameSite=${options.sameSite}`);
  return parts.join('; ');
}

export function readCookie(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
