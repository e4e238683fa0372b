/** Sesame's errors as the kit's failures: what the user is told, and what only the operator needs to read. */
import { SesameApiError } from '@sesame/client';
import type { Failure } from './http.js';

export function failureFrom(error: unknown): Failure {
  if (error instanceof SesameApiError) {
    // Misconfiguration (bad client credentials, a link URI Sesame does not allow) is the app's
    // problem, not the user's: log it for the operator, tell the user something went wrong.
    if (error.code === 'UNAUTHENTICATED' || error.code === 'REDIRECT_URI_NOT_ALLOWED' || error.code === 'INTERNAL') {
      console.error(
        `[sesame] ${error.code} (HTTP ${error.status}${error.requestId ? `, request ${error.requestId}` : ''}): ${error.message}`,
      );
      return { code: 'INTERNAL' };
    }
    return { code: error.code, retryAfterSeconds: error.retryAfterSeconds };
  }
  console.error('[sesame] unexpected error', error);
  return { code: 'INTERNAL' };
}
