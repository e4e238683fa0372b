'use client';

import { useEffect, useRef, useState, type SyntheticEvent } from 'react';
import type { SendActionState } from '@sesame/nextjs';
import { CodeForm } from './code-form';
import { useCountdown } from './hooks';
import { NETWORK_FAILED, NEW_EMAIL_SENT, SOMETHING_WRONG, endsSignIn, isCodeFault, type ErrorAnswer, type ShownError } from './texts';
import { useSignedInElsewhere } from './use-signed-in-elsewhere';

interface CheckInboxProps {
  readonly state: SendActionState;
  /** Where to go once signed in. */
  readonly next: string;
  readonly error: ShownError | undefined;
  readonly notice: string | undefined;
  /** Back to the email form; with a message when the auth request can no longer succeed. */
  readonly onRestart: (message?: string) => void;
}

interface Message {
  readonly kind: 'error' | 'ok';
  readonly text: string;
  /** Only a wrong or missing code marks the field invalid. */
  readonly fieldFault: boolean;
  /** A new number per message: the same words twice (two wrong codes) are a new alert, read out again. */
  readonly seq: number;
}

interface ResendAnswer extends ErrorAnswer {
  readonly resend_available_in?: number;
}

function initialMessage(error: ShownError | undefined, notice: string | undefined): Message | null {
  if (error !== undefined) return { kind: 'error', text: error.message, fieldFault: isCodeFault(error.code), seq: 0 };
  if (notice !== undefined) return { kind: 'ok', text: notice, fieldFault: false, seq: 0 };
  return null;
}

export function CheckInbox({ state, next, error, notice, onRestart }: CheckInboxProps) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [countdown, restartCountdown] = useCountdown(state.resendInSeconds ?? 0);
  const [busy, setBusy] = useState(false);
  const [leaving, setLeaving] = useState(false);
  const [message, setShown] = useState<Message | null>(() => initialMessage(error, notice));
  const setMessage = (shown: Omit<Message, 'seq'>): void => setShown((last) => ({ ...shown, seq: (last?.seq ?? 0) + 1 }));

  useEffect(() => {
    // Moving focus tells screen-reader users the view changed; the code field is one Tab away.
    heading.current?.focus();
  }, []);

  // The link opened in another tab of this browser signs this one in too: move on by itself.
  useSignedInElsewhere(state.expiresInSeconds, () => window.location.replace(next));

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
        setMessage({ kind: 'ok', text: NEW_EMAIL_SENT, fieldFault: false });
      } else if (endsSignIn(answer.error?.code)) {
        onRestart(answer.error?.message ?? 'Please start again.');
      } else {
        if (answer.error?.retry_after !== undefined) restartCountdown(answer.error.retry_after);
        setMessage({ kind: 'error', text: answer.error?.message ?? SOMETHING_WRONG, fieldFault: false });
      }
    } catch {
      setMessage({ kind: 'error', text: NETWORK_FAILED, fieldFault: false });
    } finally {
      setBusy(false);
    }
  }

  /** The server forgets the pending sign-in too, so a reload shows the email form, not this view. */
  async function startOver(event: SyntheticEvent<HTMLFormElement>): Promise<void> {
    event.preventDefault();
    setLeaving(true);
    try {
      const response = await fetch('/api/auth/cancel', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: '{}',
      });
      await response.body?.cancel();
    } catch {
      // Offline: the form still changes; the old sign-in simply expires on its own.
    }
    onRestart();
  }

  const minutes = state.expiresInSeconds !== undefined ? Math.max(1, Math.round(state.expiresInSeconds / 60)) : undefined;
  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Check your inbox
      </h1>
      <p className="muted">
        We sent a sign-in link and a one-time code to <strong className="address">{state.email}</strong>. Open the link in this browser
        {minutes !== undefined ? ` within ${minutes} minute${minutes === 1 ? '' : 's'}` : ''}, or enter the code below.
      </p>
      {message && (
        <p
          key={message.seq}
          className={`alert ${message.kind === 'error' ? 'alert-error' : 'alert-ok'}`}
          role={message.kind === 'error' ? 'alert' : 'status'}
          id="inbox-message"
        >
          {message.text}
        </p>
      )}
      <CodeForm
        invalid={message?.fieldFault === true}
        describedBy={message ? 'inbox-message' : undefined}
        onFailure={(failure) => {
          if (failure.final) onRestart(failure.text);
          else setMessage({ kind: 'error', text: failure.text, fieldFault: failure.fieldFault });
        }}
        onSignedIn={(path) => window.location.assign(path)}
      />
      <div className="divider">Didn’t get it?</div>
      <form method="post" action="/api/auth/resend-passwordless" onSubmit={(e) => void resend(e)}>
        <button type="submit" className="secondary" disabled={countdown > 0 || busy} aria-describedby="resend-hint">
          {countdown > 0 ? `Resend email in ${countdown} s` : busy ? 'Sending…' : 'Resend email'}
        </button>
        <span id="resend-hint" className="muted small">
          Check your spam folder first. A new email replaces the previous code and link.
        </span>
      </form>
      <form method="post" action="/api/auth/cancel" className="restart small" onSubmit={(e) => void startOver(e)}>
        <button type="submit" className="link-button" disabled={leaving}>
          Use a different email
        </button>
      </form>
    </>
  );
}
