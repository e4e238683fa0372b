import { NextRequest, NextResponse } from 'next/server';
import { authErrorMessage } from '@/lib/auth-errors';
import { appUrl, forgetAuthRequest, readAuthRequest } from '@/lib/auth-request';
import { getScalekit } from '@/lib/scalekit';
import { createSession } from '@/lib/session-store';

function loginWithError(message: string) {
  return NextResponse.redirect(new URL(`/login?error=${encodeURIComponent(message)}`, appUrl()), 303);
}

// The magic link: Scalekit appends ?link_token=… to the magiclinkAuthUri given at send.
export async function GET(req: NextRequest) {
  const linkToken = req.nextUrl.searchParams.get('link_token');
  const authRequest = await readAuthRequest();
  if (!linkToken) return loginWithError('This sign-in link is incomplete.');
  if (!authRequest) return loginWithError('Open the link in the browser where you asked for it.');
  try {
    const verified = await getScalekit().passwordless.verifyPasswordlessEmail({ linkToken }, authRequest.authRequestId);
    if (verified.state !== authRequest.state) return loginWithError('This sign-in link does not belong to this browser.');
    await createSession(verified.email);
    await forgetAuthRequest();
    return NextResponse.redirect(new URL(authRequest.next, appUrl()), 303);
  } catch (err) {
    return loginWithError(authErrorMessage(err, 'This sign-in link is invalid or has expired.'));
  }
}

// The one-time code, typed on the login page.
export async function POST(req: NextRequest) {
  const body = (await req.json().catch(() => ({}))) as { code?: unknown };
  const code = typeof body.code === 'string' ? body.code.trim() : '';
  if (!code) return NextResponse.json({ error: 'Please enter the code from the email.' }, { status: 400 });
  const authRequest = await readAuthRequest();
  if (!authRequest) return NextResponse.json({ error: 'Your sign-in expired. Please start again.' }, { status: 400 });
  try {
    const verified = await getScalekit().passwordless.verifyPasswordlessEmail({ code }, authRequest.authRequestId);
    if (verified.state !== authRequest.state) return NextResponse.json({ error: 'Please start again.' }, { status: 400 });
    await createSession(verified.email);
    await forgetAuthRequest();
    return NextResponse.json({ email: verified.email, next: authRequest.next });
  } catch (err) {
    return NextResponse.json({ error: authErrorMessage(err, 'That code is incorrect or has expired.') }, { status: 400 });
  }
}
