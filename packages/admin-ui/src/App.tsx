/**
 * The dashboard shell: finds out who is signed in (GET session), then shows the sign-in pages or
 * the signed-in layout (header, navigation, one page). `/admin/verify` is the page emailed links
 * open; it never consumes the token by itself.
 */
import { useCallback, useEffect, useState } from 'react';
import { api, fetchCsrfToken, onSessionLost, setCsrfToken, type Session, type Setup } from './api.js';
import { ActivityPage } from './pages/Activity.js';
import { ClientsPage } from './pages/Clients.js';
import { InboxPage } from './pages/Inbox.js';
import { PolicyPage } from './pages/Policy.js';
import { SignInPage, VerifyPage } from './pages/SignIn.js';
import { TemplatesPage } from './pages/Templates.js';
import { navigate, onLinkClick, usePath } from './router.js';
import { Alert, BrandMark, errorMessage } from './ui.js';

interface NavItem {
  readonly path: string;
  readonly label: string;
}

const PAGES: readonly NavItem[] = [
  { path: '/policy', label: 'Policy' },
  { path: '/templates', label: 'Templates & branding' },
  { path: '/clients', label: 'API clients' },
  { path: '/activity', label: 'Activity' },
];

type Boot = { state: 'loading' } | { state: 'failed'; message: string } | { state: 'ready'; setup: Setup; session: Session | null };

export function App() {
  const path = usePath();
  const [boot, setBoot] = useState<Boot>({ state: 'loading' });
  const [notice, setNotice] = useState<string | undefined>();

  const load = useCallback(async (): Promise<void> => {
    try {
      const [, setup] = await Promise.all([fetchCsrfToken(), api.setup()]);
      let session: Session | null = null;
      try {
        session = await api.session();
        setCsrfToken(session.csrf_token);
      } catch {
        session = null;
      }
      setBoot({ state: 'ready', setup, session });
    } catch (error) {
      setBoot({ state: 'failed', message: errorMessage(error) });
    }
  }, []);

  useEffect(() => {
    void load();
    onSessionLost(() => {
      setNotice('Your session has ended. Sign in again.');
      setBoot((b) => (b.state === 'ready' ? { ...b, session: null } : b));
    });
  }, [load]);

  useEffect(() => {
    const page =
      path === '/verify'
        ? 'Continue sign-in'
        : (PAGES.find((p) => p.path === path)?.label ?? (path === '/inbox' ? 'Dev inbox' : 'Sign in'));
    document.title = `${page} · Sesame admin`;
  }, [path]);

  // Signed in on /verify, /, or an unknown path: the policy page is home.
  const signedInNow = boot.state === 'ready' && boot.session !== null;
  const devInbox = boot.state === 'ready' && boot.setup.dev_inbox;
  const needsHome = signedInNow && !PAGES.some((p) => p.path === path) && !(devInbox && path === '/inbox');
  useEffect(() => {
    if (needsHome) navigate('/policy', { replace: true });
  }, [needsHome]);

  if (boot.state === 'loading') {
    return (
      <div className="boot" aria-busy="true">
        <p>Loading…</p>
      </div>
    );
  }
  if (boot.state === 'failed') {
    return (
      <main className="narrow">
        <h1>Sesame admin</h1>
        <Alert kind="error">{boot.message}</Alert>
        <button type="button" className="button primary" onClick={() => void load()}>
          Try again
        </button>
      </main>
    );
  }

  const { setup, session } = boot;
  const signedIn = (s: Session): void => {
    setCsrfToken(s.csrf_token);
    setNotice(undefined);
    setBoot({ state: 'ready', setup: { ...setup, admins_exist: true }, session: s });
    // Signed in again after a lapsed session: the page the admin was on stays (the effect above
    // takes /verify and unknown paths home).
  };

  if (path === '/verify' && session === null) {
    return <VerifyPage setup={setup} onSignedIn={signedIn} />;
  }
  if (session === null) {
    return <SignInPage setup={setup} notice={notice} onSignedIn={signedIn} />;
  }

  const signOut = async (): Promise<void> => {
    try {
      await api.logout();
    } catch {
      // The cookie is cleared by the answer; a failure here still ends the session in this tab.
    }
    setNotice('You are signed out.');
    setBoot({ state: 'ready', setup, session: null });
    navigate('/', { replace: true });
  };

  const nav: NavItem[] = [...PAGES, ...(setup.dev_inbox ? [{ path: '/inbox', label: 'Dev inbox' }] : [])];
  const active = nav.find((item) => item.path === path)?.path ?? '/policy';

  return (
    <div className="layout">
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="topbar">
        <BrandMark />
        <nav aria-label="Dashboard">
          <ul>
            {nav.map((item) => (
              <li key={item.path}>
                <a href={`/admin${item.path}`} aria-current={item.path === active ? 'page' : undefined} onClick={onLinkClick(item.path)}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="account">
          <span className="muted" data-testid="admin-email">
            {session.email}
          </span>
          <button type="button" className="button secondary small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="content" tabIndex={-1}>
        {active === '/policy' && <PolicyPage />}
        {active === '/templates' && <TemplatesPage email={session.email} />}
        {active === '/clients' && <ClientsPage />}
        {active === '/activity' && <ActivityPage />}
        {active === '/inbox' && <InboxPage />}
      </main>
    </div>
  );
}
