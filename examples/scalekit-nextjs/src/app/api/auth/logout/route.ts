import { NextResponse } from 'next/server';
import { appUrl } from '@/lib/auth-request';
import { clearSession } from '@/lib/session-store';

// A form POST from the dashboard; 303 turns it into a GET of the login page.
export async function POST() {
  await clearSession();
  return NextResponse.redirect(new URL('/login', appUrl()), 303);
}
