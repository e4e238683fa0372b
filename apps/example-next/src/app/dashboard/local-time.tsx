'use client';

import { useSyncExternalStore } from 'react';

const FORMAT: Intl.DateTimeFormatOptions = {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZoneName: 'short',
};

const noSubscription = (): (() => void) => () => undefined;

/**
 * A moment in the viewer's own time zone and language. The server cannot know either, so its
 * HTML (and hydration) says UTC; the browser then shows local time. The exact instant stays
 * machine-readable in `dateTime`.
 */
export function LocalTime({ at }: { readonly at: number }) {
  const inBrowser = useSyncExternalStore(
    noSubscription,
    () => true,
    () => false,
  );
  const date = new Date(at);
  const text = inBrowser
    ? new Intl.DateTimeFormat(undefined, FORMAT).format(date)
    : new Intl.DateTimeFormat('en-GB', { ...FORMAT, timeZone: 'UTC' }).format(date);
  return (
    <time dateTime={date.toISOString()} data-testid="local-time">
      {text}
    </time>
  );
}
