'use client';

import { useActionState, useEffect, useRef, useState, type SyntheticEvent } from 'react';
import type { SendActionState } from '@sesame/nextjs';
import { sendPasswordless } from './actions';
import { CheckInbox } from './check-inbox';
import { useHydrated } from './hooks';
import { ENTER_EMAIL, ENTER_VALID_EMAIL, dropOneTimeParams, type ShownError } from './texts';

interface LoginFlowProps {
  /** What the server knows at render time: idle, or an email already sent from this browser. */
  readonly initial: SendActionState;
  readonly next: string;
  /** An error carried in the URL (from the verify route): its code and text. */
  readonly error?: ShownError | undefined;
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

  // The URL's message is on screen now; a reload must not show it again.
  useEffect(dropOneTimeParams, []);

  const fromUrl = state === initial;
  const restartMessage = overrideError?.for === state ? overrideError.message : undefined;

  if (state.status === 'sent' && editingFor !== state && restartMessage === undefined) {
    return (
      <CheckInbox
        key={generation}
        state={state}
        next={next}
        error={fromUrl ? error : undefined}
        notice={fromUrl ? notice : undefined}
        onRestart={(message) => {
          if (message === undefined) setEditingFor(state);
          else setOverrideError({ for: state, message });
        }}
      />
    );
  }

  const message = restartMessage ?? (state.status === 'error' ? state.message : fromUrl ? error?.message : undefined);
  return (
    <EmailStep
      key={generation}
      formAction={formAction}
      sending={sending}
      email={state.email}
      next={next}
      message={message}
      // Only a malformed address is the field's fault; "use the original browser" is not.
      serverSaysInvalid={state.status === 'error' && state.code === 'INVALID_ARGUMENT'}
      notice={message === undefined && fromUrl ? notice : undefined}
    />
  );
}

interface EmailStepProps {
  readonly formAction: (form: FormData) => void;
  readonly sending: boolean;
  readonly email: string;
  readonly next: string;
  readonly message: string | undefined;
  readonly serverSaysInvalid: boolean;
  readonly notice: string | undefined;
}

function EmailStep({ formAction, sending, email, next, message, serverSaysInvalid, notice }: EmailStepProps) {
  const hydrated = useHydrated();
  const field = useRef<HTMLInputElement>(null);
  // A missing or malformed address is caught here, with words that say what to type.
  const [missing, setMissing] = useState<string | null>(null);
  const shown = missing ?? message;

  function check(event: SyntheticEvent<HTMLFormElement>): void {
    const input = field.current;
    if (!input) return;
    const problem = input.value.trim() === '' ? ENTER_EMAIL : input.validity.typeMismatch ? ENTER_VALID_EMAIL : null;
    setMissing(problem);
    if (problem !== null) {
      // Cancelling the submit event keeps React from running the form's action.
      event.preventDefault();
      input.focus();
    }
  }

  return (
    <>
      <h1>Sign in</h1>
      <p className="muted">Enter your email and we’ll send you a sign-in link and a one-time code. No password needed.</p>
      {shown !== undefined && (
        <p className="alert alert-error" role="alert" id="login-error">
          {shown}
        </p>
      )}
      {shown === undefined && notice !== undefined && (
        <p className="alert alert-ok" role="status">
          {notice}
        </p>
      )}
      <form action={formAction} noValidate={hydrated} onSubmit={check}>
        <label htmlFor="email">Email address</label>
        <input
          ref={field}
          id="email"
          name="email"
          type="email"
          autoComplete="email"
          autoCapitalize="none"
          spellCheck={false}
          required
          maxLength={320}
          defaultValue={email}
          aria-invalid={missing !== null || serverSaysInvalid}
          // The hint goes once the user starts typing: it no longer describes the field.
          onChange={() => {
            if (missing !== null) setMissing(null);
          }}
          aria-describedby={shown !== undefined ? 'login-error' : undefined}
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
