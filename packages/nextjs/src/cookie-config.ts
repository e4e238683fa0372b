/** The cookies' SameSite and Domain settings, checked once so no response can carry a cookie a browser would drop. */
import type { SameSite } from './cookies.js';
import type { AppUrl } from './origin.js';

export type SameSiteSetting = 'lax' | 'strict' | 'none';

export interface CookieAttributes {
  readonly secure: boolean;
  readonly sameSite: SameSite;
  readonly domain: string | undefined;
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);

/**
 * `what` names the setting in messages (e.g. "session"). Refused: an unknown SameSite; `none`
 * without `secure` (browsers drop it); a domain that is not a host name, is an IP address, or
 * does not contain the app's host (the browser would ignore the cookie); and a `__Host-` /
 * `__Secure-` cookie name whose rules the attributes break.
 */
export function cookieAttributes(
  what: string,
  name: string,
  settings: { readonly sameSite?: SameSiteSetting | undefined; readonly domain?: string | undefined },
  secure: boolean,
  appUrl: AppUrl | undefined,
): CookieAttributes {
  const setting: unknown = settings.sameSite ?? 'lax';
  if (setting !== 'lax' && setting !== 'strict' && setting !== 'none') {
    throw new Error(`${what}.sameSite must be 'lax', 'strict' or 'none'.`);
  }
  if (setting === 'none' && !secure) throw new Error(`${what}.sameSite 'none' needs secure cookies (browsers drop it otherwise).`);
  const sameSite: SameSite = setting === 'lax' ? 'Lax' : setting === 'strict' ? 'Strict' : 'None';
  const domain = checkDomain(what, settings.domain, appUrl);
  if (name.startsWith('__Host-') && (domain !== undefined || !secure)) {
    throw new Error(`The ${what} cookie name starts with __Host-: it needs secure cookies and no domain.`);
  }
  if (name.startsWith('__Secure-') && !secure) throw new Error(`The ${what} cookie name starts with __Secure-: it needs secure cookies.`);
  return { secure, sameSite, domain };
}

function checkDomain(what: string, raw: string | undefined, appUrl: AppUrl | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  // A leading dot is what older specs wrote; browsers ignore it.
  const domain = raw.trim().toLowerCase().replace(/^\./, '');
  if (!DOMAIN.test(domain) || /^[\d.]+$/.test(domain)) {
    throw new Error(`${what}.domain must be a host name such as example.com; got ${JSON.stringify(raw.slice(0, 100))}.`);
  }
  if (appUrl !== undefined) {
    const host = new URL(appUrl.origin).hostname;
    if (host !== domain && !host.endsWith(`.${domain}`)) {
      throw new Error(`${what}.domain ${domain} does not contain the app's host ${host}: browsers would ignore the cookie.`);
    }
  }
  return domain;
}
