import { useEffect, useRef, useState, useSyncExternalStore } from 'react';

const noSubscription = (): (() => void) => () => undefined;

/**
 * False in the server's HTML and during hydration, true once scripts run. Forms turn the
 * browser's own validation off only then: without JavaScript, `required` still guards them.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    noSubscription,
    () => true,
    () => false,
  );
}

/** Seconds left until a deadline, ticking; the first render matches the server's number. */
export function useCountdown(initialSeconds: number): [number, (seconds: number) => void] {
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
