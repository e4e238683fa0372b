/** The Server Action behind a sign-in form (`useActionState`): the start step, answered as form state. */
import type { Resolved } from './config.js';
import { startSignIn, type Outcome } from './flows.js';
import { userMessage, type KitErrorCode } from './messages.js';
import { nextJar } from './next-cookies.js';
import { requestAppUrlOrWarn } from './origin.js';
import type { PendingSignIn } from './tokens.js';

export interface SendActionState {
  readonly status: 'idle' | 'sent' | 'error';
  readonly email: string;
  readonly code?: KitErrorCode;
  readonly message?: string;
  readonly retryAfterSeconds?: number;
  /** Seconds until the resend button may be used, counted when the answer was made. */
  readonly resendInSeconds?: number;
  /** Seconds until the emailed code and link expire. */
  readonly expiresInSeconds?: number;
}

export async function sendAction(r: Resolved, form: FormData): Promise<SendActionState> {
  const { headers } = await import('next/headers.js');
  const requestHeaders = await headers();
  const jar = await nextJar();
  const email = form.get('email');
  const emailText = typeof email === 'string' ? email.trim().slice(0, 320) : '';
  const app = requestAppUrlOrWarn(r.appUrl, requestHeaders);
  const result: Outcome<PendingSignIn> =
    app === undefined
      ? { ok: false, failure: { code: 'HOST_NOT_ALLOWED' } }
      : await startSignIn(r, jar, requestHeaders, app, email, form.get('next'));
  if (!result.ok) {
    const { code, retryAfterSeconds } = result.failure;
    return {
      status: 'error',
      email: emailText,
      code,
      message: userMessage(code, retryAfterSeconds) ?? userMessage('INTERNAL')!,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    };
  }
  const now = r.now();
  return {
    status: 'sent',
    email: result.value.email,
    resendInSeconds: Math.max(0, Math.ceil((result.value.resendAvailableAt - now) / 1000)),
    expiresInSeconds: Math.max(0, Math.floor((result.value.expiresAt - now) / 1000)),
  };
}
