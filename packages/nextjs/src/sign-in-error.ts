/**
 * What the login page says after a failed sign-in. The `?error=` code comes from the URL, which
 * anyone can write, so only known codes become text; the app's own words for a refusal come
 * only from the signed cookie the kit set while refusing, in this browser.
 */
import { readSignInError } from './auth-cookies.js';
import type { Resolved } from './config.js';
import type { Jar } from './http.js';
import { isKitErrorCode, userMessage, type KitErrorCode } from './messages.js';

export interface SignInError {
  readonly code: KitErrorCode;
  readonly message: string;
}

/** The login page's search params (Next passes `string | string[] | undefined` values). */
export type SignInErrorQuery = Readonly<Record<string, string | readonly string[] | undefined>>;

function first(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/**
 * With the page's search params: the message for its `?error=` (null when none or unknown),
 * a refusal in the app's words when this browser's cookie holds them. Without: only a refusal
 * this browser's cookie holds.
 */
export async function signInError(r: Resolved, jar: Pick<Jar, 'get'>, query: SignInErrorQuery | undefined): Promise<SignInError | null> {
  const note = await readSignInError(r, jar);
  if (query === undefined) return note;
  const code = first(query.error);
  if (!isKitErrorCode(code)) return null;
  if (code === 'SIGN_IN_REFUSED' && note !== null) return note;
  const wait = Number(first(query.retry_after) ?? '');
  const retryAfter = Number.isInteger(wait) && wait > 0 && wait < 86_400 ? wait : undefined;
  return { code, message: userMessage(code, retryAfter) ?? '' };
}
