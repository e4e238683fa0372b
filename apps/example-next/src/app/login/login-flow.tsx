'use client';

import { useActionState, useEffect, useRef, useState, type SyntheticEvent } from 'react';
import type { SendActionState } from '@sesame/nextjs';
import { sendPasswordless } from './actions';

interface LoginFlowProps {
  /** What the server knows at render time: idle, or an email already sent from this browser. */
  readonly initial: SendActionState;
  readonly next: string;
  /** Text for an error carried in the URL (from the verify route). */
  readonly error?: string | undefined;
  readonly notice?: string | undefined;
}

export function LoginFlow({ initial, next, error, notice }: LoginFlowProps) {
  const [state, formAction, sending] = useActionState(sendPasswordless, initial);
  // "Use a different email" applies to the state it was pressed on; a new send shows the inbox again.
  const [editingFor, setEditingFor] = useState<SendActionState | null>(null);
  const [overrideError, setOverrideError] = useState<{ for: SendActionState; message: string } | null>(null);
  // Each answer of the action is a new sign-in: count them, so the inbox view (and its resend
  // countdown) starts afresh even when the same address is sent twice.
  const [seen, setSeen] = useState(state);
  const [generation, setGeneration] = useState(0);
  if (seen !== state) {
    setSeen(state);
    setGeneration(generation + 1);
  }
  const fromUrl = state === initial;
  const restartMessage = overrideError?.for === state ? overrideError.message : undefined;

  if (state.status === 'sent' && editingFor !== state && restartMessage === undefined) {
    return (
      <CheckInbox
        key={generation}
        state={state}
        error={fromUrl ? error : undefined}
        notice={fromUrl ? notice : undefined}
        onRestart={(message) => {
          if (message === undefined) setEditingFor(state);
          else setOverrideError({ for: state, message });
        }}
      />
    );
  }

  const message = restartMessage ?? (state.status === 'error' ? state.message : fromUrl ? error : undefined);
  // Only a malformed address is the field's fault; "use the original browser" is not.
  const emailInvalid = state.status === 'error' && state.code === 'INVALID_ARGUMENT';
  return (
    <>
      <h1>Sign in</h1>
      <p className="muted">Enter your email and we’ll send you a sign-in link and a one-time code. No password needed.</p>
      {message !== undefined && (
        <p className="alert alert-error" role="alert" id="login-error">
          {message}
        </p>
      )}
      {message === undefined && fromUrl && notice !== undefined && (
        <p className="alert alert-ok" role="status">
          {notice}
        </p>
      )}
      <form action={formAction} noValidate={false}>
        <label htmlFor="email">Email address</label>
        <input
          id="email"
          name="email"
          type="email"
          autoComplete="email"
          required
          maxLength={320}
          defaultValue={state.email}
          aria-invalid={emailInvalid}
          aria-describedby={message !== undefined ? 'login-error' : undefined}
          autoFocus
        />
        <input type="hidden" name="next" value={next} />
        <button type="submit" className="primary" disabled={sending}>
          {sending ? 'Sending…' : 'Email me a sign-in link'}
        </button>
      </form>
    </>
  );
}

interface CheckInboxProps {
  readonly state: SendActionState;
  readonly error: string | undefined;
  readonly notice: string | undefined;
  /** Back to the email form; with a message when the auth request can no longer succeed. */
  readonly onRestart: (message?: string) => void;
}

interface ResendAnswer {
  readonly resend_available_in?: number;
  readonly error?: { readonly code?: string; readonly message?: string; readonly retry_after?: number };
}

/** Codes after which this auth request is dead: the user has to start again. */
const FINAL_CODES = new Set(['EXPIRED', 'TOO_MANY_ATTEMPTS', 'ALREADY_USED', 'AUTH_REQUEST_NOT_FOUND']);

function CheckInbox({ state, error, notice, onRestart }: CheckInboxProps) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [countdown, restartCountdown] = useCountdown(state.resendInSeconds ?? 0);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'error' | 'ok'; text: string } | null>(
    error !== undefined ? { kind: 'error', text: error } : notice !== undefined ? { kind: 'ok', text: notice } : null,
  );

  useEffect(() => {
    // Moving focus tells screen-reader users the view changed; the code field is one Tab away.
    heading.current?.focus();
  }, []);

  async function resend(event: SyntheticEvent<HTMLFormElement>): Promise<void> {
    event.preventDefault();
    setBusy(true);
    try {
      const response = await fetch('/api/auth/resend-passwordless', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const answer = (await response.json()) as ResendAnswer;
      if (response.ok) {
        restartCountdown(answer.resend_available_in ?? 30);
        setMessage({ kind: 'ok', text: 'A new email is on its way. Codes and links from earlier emails no longer work.' });
      } else if (answer.error?.code !== undefined && FINAL_CODES.has(answer.error.code)) {
        onRestart(answer.error.message ?? 'Please start again.');
      } else {
        if (answer.error?.retry_after !== undefined) restartCountdown(answer.error.retry_after);
        setMessage({ kind: 'error', text: answer.error?.message ?? 'Something went wrong on our side.' });
      }
    } catch {
      setMessage({ kind: 'error', text: 'The network failed. Check your connection and try again.' });
    } finally {
      setBusy(false);
    }
  }

  const minutes = state.expiresInSeconds !== undefined ? Math.max(1, Math.round(state.expiresInSeconds / 60)) : undefined;
  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Check your inbox
      </h1>
      <p className="muted">
        We sent a sign-in link and a one-time code to <strong>{state.email}</strong>. Open the link in this browser
        {minutes !== undefined ? ` within ${minutes} minute${minutes === 1 ? '' : 's'}` : ''}, or enter the code below.
      </p>
      {message && (
        <p
          className={`alert ${message.kind === 'error' ? 'alert-error' : 'alert-ok'}`}
          role={message.kind === 'error' ? 'alert' : 'status'}
          id="inbox-message"
        >
          {message.text}
        </p>
      )}
      <form method="post" action="/api/auth/verify">
        <label htmlFor="code">One-time code</label>
        <input
          id="code"
          name="code"
          type="text"
          className="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          autoCapitalize="none"
          spellCheck={false}
          required
          maxLength={20}
          aria-invalid={message?.kind === 'error'}
          aria-describedby={message ? 'inbox-message' : undefined}
        />
        <button type="submit" className="primary">
          Sign in with code
        </button>
      </form>
      <div className="divider">Didn’t get it?</div>
      <form method="post" action="/api/auth/resend-passwordless" onSubmit={(e) => void resend(e)}>
        <button type="submit" className="secondary" disabled={countdown > 0 || busy} aria-describedby="resend-hint">
          {countdown > 0 ? `Resend email in ${countdown} s` : busy ? 'Sending…' : 'Resend email'}
        </button>
        <span id="resend-hint" className="muted small">
          Check your spam folder first. A new email replaces the previous code and link.
        </span>
      </form>
      <p className="small">
        <button type="button" className="link-button" onClick={() => onRestart()}>
          Use a different email
        </button>
      </p>
    </>
  );
}

/** Seconds left until a deadline, ticking; the first render matches the server's number. */
function useCountdown(initialSeconds: number): [number, (seconds: number) => void] {
  const [remaining, setRemaining] = useState(initialSeconds);
  const deadline = useRef(0);
  useEffect(() => {
    deadline.current = Date.now() + initialSeconds * 1000;
  }, [initialSeconds]);
  const counting = remaining > 0;
  useEffect(() => {
    if (!counting) return;
    const timer = setInterval(() => {
      setRemaining(Math.max(0, Math.ceil((deadline.current - Date.now()) / 1000)));
    }, 250);
    return () => clearInterval(timer);
  }, [counting]);
  const restart = (seconds: number): void => {
    deadline.current = Date.now() + seconds * 1000;
    setRemaining(seconds);
  };
  return [remaining, restart];
}
