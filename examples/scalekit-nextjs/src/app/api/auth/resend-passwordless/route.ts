import { NextResponse } from 'next/server';
import { authErrorMessage } from '@/lib/auth-errors';
import { readAuthRequest, rememberAuthRequest } from '@/lib/auth-request';
import { getScalekit } from '@/lib/scalekit';

export async function POST() {
  const authRequest = await readAuthRequest();
  if (!authRequest) return NextResponse.json({ error: 'Your sign-in expired. Please start again.' }, { status: 400 });
  try {
    const resendResponse = await getScalekit().passwordless.resendPasswordlessEmail(authRequest.authRequestId);
    await rememberAuthRequest({ ...authRequest, authRequestId: resendResponse.authRequestId }, resendResponse.expiresIn);
    return NextResponse.json({ expiresIn: resendResponse.expiresIn });
  } catch (err) {
    return NextResponse.json({ error: authErrorMessage(err, 'We could not resend the email. Please try again.') }, { status: 400 });
  }
}
