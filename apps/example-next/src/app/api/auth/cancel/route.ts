import { auth } from '@/lib/session-store';

export const dynamic = 'force-dynamic';

/** "Use a different email": forgets this browser's pending sign-in (JSON `{ ok: true }`, or 303 to the login page for a form). */
export function POST(request: Request): Promise<Response> {
  return auth.handlers.cancel(request);
}
