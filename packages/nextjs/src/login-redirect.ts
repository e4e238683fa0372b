/** Redirects to the app's login page, carrying an outcome (`error`, `resent`, `signed_out`) for it to show. */
import type { Resolved } from './config.js';
import { redirect, type Failure } from './http.js';

export function loginUrl(r: Resolved, params: Record<string, string>): string {
  const query = new URLSearchParams(params).toString();
  return query === '' ? r.loginPath : `${r.loginPath}?${query}`;
}

/** `next` is kept only when it differs from the default landing page. */
export function redirectToLogin(r: Resolved, failure: Failure, next: string | undefined): Response {
  const params: Record<string, string> = { error: failure.code };
  if (failure.retryAfterSeconds !== undefined) params.retry_after = String(failure.retryAfterSeconds);
  if (next !== undefined && next !== r.afterSignInPath) params.next = next;
  const response = redirect(loginUrl(r, params));
  if (failure.retryAfterSeconds !== undefined) response.headers.set('retry-after', String(failure.retryAfterSeconds));
  return response;
}
