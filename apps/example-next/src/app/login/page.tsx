import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { endsAuthRequest, safeNextPath, type SendActionState } from '@sesame/nextjs';
import { auth, getPendingSignIn, getSession } from '@/lib/session-store';
import { LoginFlow } from './login-flow';

export const metadata: Metadata = { title: 'Sign in' };
export const dynamic = 'force-dynamic';

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export default async function LoginPage({ searchParams }: { searchParams: SearchParams }) {
  const params = await searchParams;
  const next = safeNextPath(first(params.next), '/dashboard');
  if (await getSession()) redirect(next);

  // Only known codes become text: a crafted ?error= cannot put its own words on the page. A
  // refusal's words come from the app, through a signed cookie the kit set in this browser.
  const error = await auth.getSignInError(params);

  const pending = await getPendingSignIn();
  const now = Date.now();
  const initial: SendActionState =
    pending && !(error && endsAuthRequest(error.code))
      ? {
          status: 'sent',
          email: pending.email,
          resendInSeconds: Math.max(0, Math.ceil((pending.resendAvailableAt - now) / 1000)),
          expiresInSeconds: Math.max(0, Math.floor((pending.expiresAt - now) / 1000)),
        }
      : { status: 'idle', email: '' };

  let notice: string | undefined;
  if (first(params.signed_out) === '1') notice = 'You have been signed out.';
  if (first(params.resent) === '1') notice = 'A new email is on its way. Codes and links from earlier emails no longer work.';

  return (
    <div className="card">
      <LoginFlow initial={initial} next={pending?.next ?? next} error={error ?? undefined} notice={notice} />
    </div>
  );
}
