import { useEffect, useRef } from 'react';

/** Often enough to feel immediate after the link is opened in another tab; cheap for the server. */
export const SESSION_POLL_MS = 2_500;
/** When the auth request's lifetime is unknown: polling still stops, after a quarter of the longest lifetime Sesame allows (3600 s). */
const FALLBACK_LIFETIME_SECONDS = 15 * 60;

/**
 * While "check your inbox" is shown, asks the session route whether this browser got signed in
 * meanwhile (the link opened in another tab sets the same cookie) and calls `onSignedIn` once.
 * It asks only while the tab is visible (and at once when it becomes visible again: the user is
 * back from the mail app), and stops when the auth request expires.
 */
export function useSignedInElsewhere(expiresInSeconds: number | undefined, onSignedIn: () => void): void {
  const callback = useRef(onSignedIn);
  useEffect(() => {
    callback.current = onSignedIn;
  });

  useEffect(() => {
    const deadline = Date.now() + (expiresInSeconds ?? FALLBACK_LIFETIME_SECONDS) * 1000;
    let stopped = false;
    let asking = false;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const isStopped = (): boolean => stopped;
    const visible = (): boolean => document.visibilityState === 'visible';
    const schedule = (): void => {
      clearTimeout(timer);
      if (!stopped && visible() && Date.now() < deadline) timer = setTimeout(() => void ask(), SESSION_POLL_MS);
    };
    async function ask(): Promise<void> {
      if (stopped || asking || !visible() || Date.now() >= deadline) return;
      asking = true;
      try {
        const response = await fetch('/api/auth/session', { cache: 'no-store', headers: { accept: 'application/json' } });
        const body = (await response.json()) as { authenticated?: unknown };
        // Unmounted meanwhile: `stopped` changed while the answer was on its way.
        if (!isStopped() && body.authenticated === true) {
          stopped = true;
          callback.current();
          return;
        }
      } catch {
        // Offline for a moment: the next round asks again.
      } finally {
        asking = false;
      }
      schedule();
    }
    const onVisibility = (): void => {
      if (visible()) void ask();
      else clearTimeout(timer);
    };

    schedule();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [expiresInSeconds]);
}
