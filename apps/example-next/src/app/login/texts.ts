/**
 * The words the login screens add to the kit's messages: the missing-field texts (checked in the
 * browser before anything is sent) and which outcomes are the code's fault.
 */
export const ENTER_EMAIL = 'Enter your email address.';
export const ENTER_VALID_EMAIL = 'Enter an email address like name@example.com.';
export const ENTER_CODE = 'Enter the 6-digit code from the email.';
export const NETWORK_FAILED = 'The network failed. Check your connection and try again.';
export const SOMETHING_WRONG = 'Something went wrong on our side.';
export const NEW_EMAIL_SENT = 'A new email is on its way. Codes and links from earlier emails no longer work.';

/** An error the page shows: the kit's code (when there is one) and its text. */
export interface ShownError {
  readonly code?: string | undefined;
  readonly message: string;
}

/**
 * Only these say the typed code is wrong: the field turns red for them alone. A rate limit, an
 * outage or a lost connection is not the user's typing, and a red field would send them hunting
 * for a typo.
 */
const CODE_FAULTS = new Set(['INVALID_CREDENTIAL', 'INVALID_ARGUMENT']);

export function isCodeFault(code: string | undefined): boolean {
  return code !== undefined && CODE_FAULTS.has(code);
}

/** Codes after which this auth request is dead (the kit's `endsAuthRequest`): the user has to start again. */
const FINAL_CODES = new Set(['EXPIRED', 'TOO_MANY_ATTEMPTS', 'ALREADY_USED', 'AUTH_REQUEST_NOT_FOUND', 'SIGN_IN_REFUSED']);

export function endsSignIn(code: string | undefined): boolean {
  return code !== undefined && FINAL_CODES.has(code);
}

/** The JSON error body of the kit's route handlers. */
export interface ErrorAnswer {
  readonly error?: { readonly code?: string; readonly message?: string; readonly retry_after?: number };
}

/** Query parameters that carry a one-time message: shown once, then taken out of the address bar. */
const ONE_TIME_PARAMS = ['error', 'retry_after', 'resent', 'signed_out'];

/**
 * Removes the one-time parameters (keeping `next`), so a reload or a shared URL does not repeat
 * an old message. `history.replaceState` is the way Next.js supports for this: no navigation.
 */
export function dropOneTimeParams(): void {
  const url = new URL(window.location.href);
  const present = ONE_TIME_PARAMS.filter((name) => url.searchParams.has(name));
  if (present.length === 0) return;
  for (const name of present) url.searchParams.delete(name);
  window.history.replaceState(null, '', `${url.pathname}${url.search}${url.hash}`);
}
