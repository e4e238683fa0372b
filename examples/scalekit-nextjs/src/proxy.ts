import { NextRequest, NextResponse } from 'next/server';
import { SESSION_COOKIE, emailFromSessionToken } from '@/lib/session-store';

// Next.js 16 calls this file proxy.ts (middleware.ts before): it runs before every matched request.
export async function proxy(req: NextRequest) {
  const email = await emailFromSessionToken(req.cookies.get(SESSION_COOKIE)?.value);
  if (email) return NextResponse.next();
  const loginUrl = new URL('/login', process.env.APP_URL ?? req.url);
  loginUrl.searchParams.set('next', req.nextUrl.pathname + req.nextUrl.search);
  return NextResponse.redirect(loginUrl);
}

export const config = {
  matcher: ['/dashboard/:path*'],
};
