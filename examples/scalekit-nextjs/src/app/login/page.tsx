import { redirect } from 'next/navigation';
import { readSessionEmail } from '@/lib/session-store';
import { LoginForm } from './login-form';

export const metadata = { title: 'Sign in' };

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string; error?: string }> }) {
  const { next, error } = await searchParams;
  if (await readSessionEmail()) redirect('/dashboard');
  return <LoginForm next={next ?? '/dashboard'} initialError={error ?? ''} />;
}
