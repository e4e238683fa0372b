import { cookies } from 'next/headers';

// The pending sign-in of this browser: Scalekit's auth_request_id (a magic link is only
// accepted together with it), the state sent with it, and where to go once signed in.
const AUTH_REQUEST_COOKIE = 'auth_request_id';
const STATE_COOKIE = 'auth_state';
const NEXT_COOKIE = 'auth_next';

export interface AuthRequest {
  authRequestId: string;
  state: string;
  next: string;
}

/** A path inside this app; anything else (another origin, `//host`) becomes /dashboard. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') ? value : '/dashboard';
}

/** The app's own URL: the magic link points here, and redirects are built from it. */
export function appUrl(): string {
  return process.env.APP_URL ?? 'http://localhost:3000';
}

export async function rememberAuthRequest(request: AuthRequest, expiresIn: number): Promise<void> {
  const cookieStore = await cookies();
  const options = {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: process.env.NODE_ENV === 'production',
    path: '/',
    maxAge: expiresIn,
  };
  cookieStore.set(AUTH_REQUEST_COOKIE, request.authRequestId, options);
  cookieStore.set(STATE_COOKIE, request.state, options);
  cookieStore.set(NEXT_COOKIE, request.next, options);
}

export async function readAuthRequest(): Promise<AuthRequest | null> {
  const cookieStore = await cookies();
  const authRequestId = cookieStore.get(AUTH_REQUEST_COOKIE)?.value;
  if (!authRequestId) return null;
  return {
    authRequestId,
    state: cookieStore.get(STATE_COOKIE)?.value ?? '',
    next: safeNext(cookieStore.get(NEXT_COOKIE)?.value),
  };
}

export async function forgetAuthRequest(): Promise<void> {
  const cookieStore = await cookies();
  for (const name of [AUTH_REQUEST_COOKIE, STATE_COOKIE, NEXT_COOKIE]) cookieStore.delete(name);
}
