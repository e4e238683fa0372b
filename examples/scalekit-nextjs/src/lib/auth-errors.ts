import { ScalekitTooManyRequestsException } from '@scalekit-sdk/node';

/** What the login page shows for a failed Scalekit call; the details go to the server log. */
export function authErrorMessage(err: unknown, fallback: string): string {
  console.error(err);
  if (err instanceof ScalekitTooManyRequestsException) return 'Too many attempts. Please wait a minute and try again.';
  return fallback;
}
