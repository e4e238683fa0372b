'use client';

import { useEffect, useState, type SubmitEvent } from 'react';

const RESEND_COOLDOWN_SECONDS = 30;

async function postJson(url: string, body: unknown): Promise<{ ok: boolean; data: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { ok: res.ok, data };
}

function errorOf(data: Record<string, unknown>): string {
  return typeof data.error === 'string' ? data.error : 'Something went wrong. Please try again.';
}

export function LoginForm({ next, initialError }: { next: string; initialError: string }) {
  const [email, setEmail] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState(initialError);
  const [busy, setBusy] = useState(false);
  const [resendAt, setResendAt] = useState(0);
  const [now, setNow] = useState(0);
  const cooldown = Math.max(0, Math.ceil((resendAt - now) / 1000));

  // Tick once a second while the resend button waits; the time left comes from the clock,
  // so a throttled background tab still shows the right number.
  useEffect(() => {
    if (cooldown <= 0) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [cooldown]);

  function startCooldown() {
    const start = Date.now();
    setNow(start);
    setResendAt(start + RESEND_COOLDOWN_SECONDS * 1000);
  }

  async function sendEmail(e: SubmitEvent) {
    e.preventDefault();
    setBusy(true);
    setError('');
    const { ok, data } = await postJson('/api/auth/send-passwordless', { email, next });
    setBusy(false);
    if (!ok) return setError(errorOf(data));
    setSentTo(email);
    startCooldown();
  }

  async function verifyCode(e: SubmitEvent) {
    e.preventDefault();
    setBusy(true);
    setError('');
    const { ok, data } = await postJson('/api/auth/verify', { code });
    if (!ok) {
      setBusy(false);
      return setError(errorOf(data));
    }
    window.location.assign(typeof data.next === 'string' ? data.next : '/dashboard');
  }

  async function resend() {
    setBusy(true);
    setError('');
    const { ok, data } = await postJson('/api/auth/resend-passwordless', {});
    setBusy(false);
    if (!ok) return setError(errorOf(data));
    setCode('');
    startCooldown();
  }

  function startOver() {
    setSentTo(null);
    setCode('');
    setError('');
  }

  const errorText = error ? (
    <p className="error" role="alert">
      {error}
    </p>
  ) : null;

  if (!sentTo) {
    return (
      <form className="card" onSubmit={(e) => void sendEmail(e)}>
        <h1>Sign in</h1>
        <p className="muted">We will email you a magic link and a one-time code.</p>
        <label htmlFor="email">Email address</label>
        <input id="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        {errorText}
        <button type="submit" disabled={busy}>
          {busy ? 'Sending…' : 'Continue with email'}
        </button>
      </form>
    );
  }

  return (
    <form className="card" onSubmit={(e) => void verifyCode(e)}>
      <h1>Check your inbox</h1>
      <p className="muted">
        We sent a sign-in link to <strong>{sentTo}</strong>. Open it in this browser, or enter the code from the email.
      </p>
      <label htmlFor="code">One-time code</label>
      <input id="code" inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
      {errorText}
      <button type="submit" disabled={busy}>
        Verify code
      </button>
      <button type="button" className="secondary" disabled={busy || cooldown > 0} onClick={() => void resend()}>
        {cooldown > 0 ? `Resend email in ${cooldown}s` : 'Resend email'}
      </button>
      <button type="button" className="secondary" onClick={startOver}>
        Use a different email
      </button>
    </form>
  );
}
