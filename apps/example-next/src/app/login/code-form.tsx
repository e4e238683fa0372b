'use client';

import { useRef, useState, type SyntheticEvent } from 'react';
import { useHydrated } from './hooks';
import { ENTER_CODE, NETWORK_FAILED, SOMETHING_WRONG, endsSignIn, isCodeFault, type ErrorAnswer } from './texts';

/** What a code attempt can end in, short of signing in. */
export interface CodeFailure {
  readonly text: string;
  /** The typed code is wrong or missing: the field is marked invalid. */
  readonly fieldFault: boolean;
  /** The auth request is over (expired, locked, used): only a fresh start helps. */
  readonly final: boolean;
}

interface CodeFormProps {
  readonly invalid: boolean;
  readonly describedBy: string | undefined;
  readonly onFailure: (failure: CodeFailure) => void;
  /** Signed in: leave for this path. */
  readonly onSignedIn: (path: string) => void;
}

interface VerifyAnswer extends ErrorAnswer {
  readonly ok?: boolean;
  readonly redirect_to?: string;
}

/**
 * The code form. Without JavaScript it posts to the verify route, which redirects. With it, the
 * code goes as JSON and a failure never reloads the page: focus stays in the field with the code
 * selected, so a phone keeps its keyboard open for the next try.
 */
export function CodeForm({ invalid, describedBy, onFailure, onSignedIn }: CodeFormProps) {
  const hydrated = useHydrated();
  const field = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);

  function fail(failure: CodeFailure): void {
    onFailure(failure);
    field.current?.focus();
    field.current?.select();
  }

  async function submit(event: SyntheticEvent<HTMLFormElement>): Promise<void> {
    event.preventDefault();
    if (busy) return;
    const code = (field.current?.value ?? '').trim();
    if (code === '') {
      fail({ text: ENTER_CODE, fieldFault: true, final: false });
      return;
    }
    setBusy(true);
    let signedIn = false;
    try {
      const response = await fetch('/api/auth/verify', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ code }),
      });
      const answer = (await response.json()) as VerifyAnswer;
      if (response.ok && answer.ok === true) {
        signedIn = true;
        onSignedIn(typeof answer.redirect_to === 'string' ? answer.redirect_to : '/');
        return;
      }
      const errorCode = answer.error?.code;
      fail({ text: answer.error?.message ?? SOMETHING_WRONG, fieldFault: isCodeFault(errorCode), final: endsSignIn(errorCode) });
    } catch {
      fail({ text: NETWORK_FAILED, fieldFault: false, final: false });
    } finally {
      // Signed in: the button stays busy until the next page replaces this one.
      if (!signedIn) setBusy(false);
    }
  }

  return (
    <form method="post" action="/api/auth/verify" noValidate={hydrated} onSubmit={(e) => void submit(e)}>
      <label htmlFor="code">One-time code</label>
      <input
        ref={field}
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
        aria-invalid={invalid}
        aria-describedby={describedBy}
      />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in with code'}
      </button>
    </form>
  );
}
