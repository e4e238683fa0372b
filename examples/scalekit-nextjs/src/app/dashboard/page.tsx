import { redirect } from 'next/navigation';
import { readSessionEmail } from '@/lib/session-store';

export const metadata = { title: 'Dashboard' };

export default async function DashboardPage() {
  // The proxy already sent visitors without a session to /login; check again where the data is.
  const email = await readSessionEmail();
  if (!email) redirect('/login?next=/dashboard');
  return (
    <div className="card">
      <h1>Dashboard</h1>
      <p>
        Signed in as <strong data-testid="session-email">{email}</strong>
      </p>
      <form action="/api/auth/logout" method="post">
        <button type="submit">Sign out</button>
      </form>
    </div>
  );
}
