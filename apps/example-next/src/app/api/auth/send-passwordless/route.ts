import { auth } from '@/lib/session-store';

export const dynamic = 'force-dynamic';

export function POST(request: Request): Promise<Response> {
  return auth.handlers.send(request);
}
