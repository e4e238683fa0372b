import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { getSession } from '@/lib/session-store';

export const metadata: Metadata = { title: 'Dashboard' };
export const dynamic = 'force-dynamic';

export default async function DashboardPage() {
  // The proxy already redirects signed-out visitors; checking here too means a
  // misconfigured matcher can never expose the page.
  const session = await getSession();
  if (!session) redirect('/login?next=/dashboard');
  const expires = new Date(session.expiresAt).toUTCString();
  return (
    <div className="card">
      <h1>Dashboard</h1>
      <p className="muted">You are signed in. This page is only visible with a valid session.</p>
      <div className="identity">
        <span className="avatar" aria-hidden="true">
          {session.email.charAt(0)}
        </span>
        <div>
          <span className="muted small">Signed in as</span>
          <br />
          <strong data-testid="signed-in-email">{session.email}</strong>
        </div>
      </div>
      <p className="muted small">Your session lasts until {expires}.</p>
      <form method="post" action="/api/auth/logout">
        <button type="submit" className="secondary">
          Sign out
        </button>
      </form>
    </div>
  );
}
