import { auth } from '@/lib/session-store';

export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return auth.handlers.session(request);
}
