import { auth } from '@/lib/session-store';

export const dynamic = 'force-dynamic';

/** The magic link lands here; it never signs in by itself without this browser's cookie. */
export function GET(request: Request): Promise<Response> {
  return auth.handlers.verify.GET(request);
}

/** The code form, and the "Continue signing in" button of the confirmation page. */
export function POST(request: Request): Promise<Response> {
  return auth.handlers.verify.POST(request);
}
