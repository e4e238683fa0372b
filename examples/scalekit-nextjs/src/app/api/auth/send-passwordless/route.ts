import { randomUUID } from 'node:crypto';
import { TemplateType } from '@scalekit-sdk/node/lib/pkg/grpc/scalekit/v1/auth/passwordless_pb';
import { NextRequest, NextResponse } from 'next/server';
import { authErrorMessage } from '@/lib/auth-errors';
import { appUrl, rememberAuthRequest, safeNext } from '@/lib/auth-request';
import { getScalekit } from '@/lib/scalekit';

export async function POST(req: NextRequest) {
  const body = (await req.json().catch(() => ({}))) as { email?: unknown; next?: unknown };
  const email = typeof body.email === 'string' ? body.email.trim() : '';
  if (!email) return NextResponse.json({ error: 'Please enter your email address.' }, { status: 400 });

  const state = randomUUID();
  try {
    const sendResponse = await getScalekit().passwordless.sendPasswordlessEmail(email, {
      template: TemplateType.SIGNIN,
      expiresIn: 300,
      // The magic link opens this route, which verifies it (register this URL with Scalekit).
      magiclinkAuthUri: `${appUrl()}/api/auth/verify`,
      state,
    });
    // Keep the auth request in this browser: verify and resend need it.
    await rememberAuthRequest({ authRequestId: sendResponse.authRequestId, state, next: safeNext(body.next) }, sendResponse.expiresIn);
    return NextResponse.json({ email, expiresIn: sendResponse.expiresIn, passwordlessType: sendResponse.passwordlessType });
  } catch (err) {
    return NextResponse.json({ error: authErrorMessage(err, 'We could not send the email. Please try again.') }, { status: 400 });
  }
}
