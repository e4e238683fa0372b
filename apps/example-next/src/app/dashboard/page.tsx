import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { getSession } from '@/lib/session-store';
import { LocalTime } from './local-time';

export const metadata: Metadata = { title: 'Dashboard' };
export const dynamic = 'force-dynamic';

export default async function DashboardPage() {
  // The proxy already redirects signed-out visitors; checking here too means a
  // misconfigured matcher can never expose the page.
  const session = await getSession();
  if (!session) redirect('/login?next=/dashboard');
  return (
    <div className="card">
      <h1>Dashboard</h1>
      <p className="muted">You are signed in. This page is only visible with a valid session.</p>
      <div className="identity">
        <span className="avatar" aria-hidden="true">
          {session.email.charAt(0)}
        </span>
        <div className="identity-text">
          <span className="muted small">Signed in as</span>
          <br />
          <strong className="address" data-testid="signed-in-email">
            {session.email}
          </strong>
        </div>
      </div>
      {typeof session.claims.userId === 'string' ? (
        <p className="muted small">
          User id{' '}
          <code className="address" data-testid="user-id">
            {session.claims.userId}
          </code>
        </p>
      ) : null}
      <p className="muted small">
        Your session lasts until <LocalTime at={session.expiresAt} />.
      </p>
      <form method="post" action="/api/auth/logout">
        <button type="submit" className="secondary">
          Sign out
        </button>
      </form>
    </div>
  );
}
