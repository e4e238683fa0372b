/** A tiny History API router: the dashboard has six pages, a dependency would be larger than it. */
import { useEffect, useState, type MouseEvent } from 'react';

export const BASE = '/admin';

const listeners = new Set<() => void>();

export function currentPath(): string {
  const path = window.location.pathname;
  const rest = path.startsWith(BASE) ? path.slice(BASE.length) : path;
  return rest === '' ? '/' : rest.replace(/\/+$/, '') || '/';
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = `${BASE}${to}`;
  if (options.replace === true) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  for (const listener of listeners) listener();
  window.scrollTo(0, 0);
}

export function usePath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = (): void => setPath(currentPath());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return path;
}

/** An ordinary link (keyboard, middle-click and "open in new tab" keep working) routed in place. */
export function onLinkClick(to: string) {
  return (event: MouseEvent<HTMLAnchorElement>): void => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
    // As after a page load, the new page's content is where keyboard and screen reader users go on.
    requestAnimationFrame(() => document.getElementById('content')?.focus({ preventScroll: true }));
  };
}
