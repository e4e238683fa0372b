/**
 * What the user reads for each outcome. The texts for Sesame's codes are the `userMessage`s of
 * `@sesame/core`'s ERROR_TABLE (a test keeps them equal), so the server, the SDKs and the kit say
 * the same thing. The kit adds `RATE_LIMITED` (its own per-client throttle),
 * `HOST_NOT_ALLOWED` (a request to an app without `appUrl` on a non-loopback host),
 * `SIGN_IN_REFUSED` (the app's `onVerified` turned the address away; the app's own words travel
 * separately, see sign-in-error.ts) and `NOT_SIGNED_IN` (a protected route without a session).
 */
import { isSesameErrorCode, type SesameErrorCode } from '@sesame/client';

export type KitErrorCode = SesameErrorCode | 'RATE_LIMITED' | 'HOST_NOT_ALLOWED' | 'SIGN_IN_REFUSED' | 'NOT_SIGNED_IN';

export const USER_MESSAGES: Readonly<Record<KitErrorCode, string>> = {
  INVALID_ARGUMENT: 'Some of the information sent is missing or malformed.',
  UNAUTHENTICATED: 'The request could not be authenticated.',
  REDIRECT_URI_NOT_ALLOWED: 'This sign-in link destination is not allowed.',
  AUTH_REQUEST_NOT_FOUND: 'This sign-in request was not found. Please start again.',
  INVALID_CREDENTIAL: 'That code or link is not valid.',
  EXPIRED: 'This sign-in code or link has expired. Please request a new one.',
  ALREADY_USED: 'This sign-in code or link was already used.',
  SAME_BROWSER_REQUIRED: 'Open the link in the browser where you started signing in, or enter the code there.',
  TOO_MANY_ATTEMPTS: 'Too many attempts. Please request a new code later.',
  SEND_LIMIT_EXCEEDED: 'Too many emails were requested. Please wait a moment.',
  UNAVAILABLE: 'The service is temporarily unavailable. Please try again in a moment.',
  INTERNAL: 'Something went wrong on our side.',
  RATE_LIMITED: 'Too many requests from your network. Please wait a moment.',
  HOST_NOT_ALLOWED: 'This app is not set up to be used at this address.',
  SIGN_IN_REFUSED: 'This sign-in was not allowed.',
  NOT_SIGNED_IN: 'Please sign in to continue.',
};

export function isKitErrorCode(value: unknown): value is KitErrorCode {
  return (
    value === 'RATE_LIMITED' ||
    value === 'HOST_NOT_ALLOWED' ||
    value === 'SIGN_IN_REFUSED' ||
    value === 'NOT_SIGNED_IN' ||
    isSesameErrorCode(value)
  );
}

/**
 * The text for a code, with the wait spelled out when one is known. Accepts untrusted input
 * (a `?error=` query value) and answers `undefined` for anything that is not a known code, so
 * a crafted URL can never put its own words on the page.
 */
export function userMessage(code: unknown, retryAfterSeconds?: number): string | undefined {
  if (!isKitErrorCode(code)) return undefined;
  const base = USER_MESSAGES[code];
  if (retryAfterSeconds === undefined || retryAfterSeconds <= 0) return base;
  return `${base} You can try again in ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}.`;
}

/**
 * Codes after which the auth request cannot succeed any more: the UI goes back to the email
 * form ("start again") instead of asking for the code again.
 */
export function endsAuthRequest(code: KitErrorCode): boolean {
  return (
    code === 'EXPIRED' ||
    code === 'TOO_MANY_ATTEMPTS' ||
    code === 'ALREADY_USED' ||
    code === 'AUTH_REQUEST_NOT_FOUND' ||
    // Sesame consumed the request before the app said no: there is nothing left to retry.
    code === 'SIGN_IN_REFUSED'
  );
}
