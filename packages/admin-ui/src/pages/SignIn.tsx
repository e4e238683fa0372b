/**
 * Sign-in: an email → "Check your inbox" (the same answer for any address), with the code as a
 * fallback; and the page the emailed link opens, which asks before it consumes the token.
 */
import { useState, type SyntheticEvent, type ReactNode } from 'react';
import { api, type Session, type Setup } from '../api.js';
import { navigate } from '../router.js';
import { Alert, BrandMark, Field } from '../ui.js';
import { useAction } from '../use-action.js';

function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="auth-page" id="content">
      <div className="auth-card">
        <BrandMark className="auth-brand" />
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

function NoAdminYet() {
  return (
    <div className="alert alert-info" role="note">
      <p>
        <strong>No admin exists yet.</strong> Add one on the server, then sign in with that address:
      </p>
      <pre className="command">npx sesame admins add you@example.com</pre>
    </div>
  );
}

export function SignInPage({ setup, notice, onSignedIn }: { setup: Setup; notice: string | undefined; onSignedIn: (s: Session) => void }) {
  const [email, setEmail] = useState('');
  const [sentTo, setSentTo] = useState<string | undefined>();
  const [code, setCode] = useState('');
  const { busy, error, setError, run } = useAction();

  const start = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) {
      setError('Enter an email address, like you@example.com.');
      return;
    }
    await run(async () => {
      await api.startSession(email.trim());
      setSentTo(email.trim());
      setCode('');
    });
  };

  const verify = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    if (code.trim() === '') {
      setError('Enter the code from the email.');
      return;
    }
    await run(async () => onSignedIn(await api.verifySession({ code: code.trim() })));
  };

  if (sentTo !== undefined) {
    return (
      <Card title="Check your inbox">
        <p>
          If <strong>{sentTo}</strong> is an admin of this Sesame, an email with a sign-in link and a code is on its way. Open the link in
          this browser, or enter the code below.
        </p>
        {error !== undefined && <Alert kind="error">{error}</Alert>}
        <form onSubmit={(e) => void verify(e)} noValidate>
          <Field label="One-time code">
            {(props) => (
              <input
                {...props}
                className="mono code-input"
                inputMode="text"
                autoComplete="one-time-code"
                autoCapitalize="characters"
                spellCheck={false}
                maxLength={12}
                value={code}
                onChange={(e) => setCode(e.target.value)}
                autoFocus
              />
            )}
          </Field>
          <button type="submit" className="button primary block" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in with code'}
          </button>
        </form>
        <p className="footnote">
          <button
            type="button"
            className="link-button"
            onClick={() => {
              setSentTo(undefined);
              setError(undefined);
            }}
          >
            Use another email address
          </button>
        </p>
      </Card>
    );
  }

  return (
    <Card title="Sign in">
      {notice !== undefined && <Alert kind="info">{notice}</Alert>}
      {!setup.admins_exist && <NoAdminYet />}
      <p className="muted">Sesame signs its admins in the way it signs in your users: with an emailed link or code.</p>
      {error !== undefined && <Alert kind="error">{error}</Alert>}
      <form onSubmit={(e) => void start(e)} noValidate>
        <Field label="Email address">
          {(props) => (
            <input
              {...props}
              type="email"
              autoComplete="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              autoFocus
              required
            />
          )}
        </Field>
        <button type="submit" className="button primary block" disabled={busy}>
          {busy ? 'Sending…' : 'Email me a sign-in link'}
        </button>
      </form>
      {setup.dev_inbox && (
        <p className="footnote">
          No SMTP server is configured: emails go to the <a href="/dev/inbox">dev inbox</a>.
        </p>
      )}
    </Card>
  );
}

export function VerifyPage({ setup, onSignedIn }: { setup: Setup; onSignedIn: (s: Session) => void }) {
  const linkToken = new URLSearchParams(window.location.search).get('link_token') ?? '';
  const { busy, error, run } = useAction();

  const go = async (): Promise<void> => {
    await run(async () => onSignedIn(await api.verifySession({ link_token: linkToken })));
  };

  return (
    <Card title="Continue sign-in">
      {linkToken === '' ? (
        <Alert kind="error">This link has no sign-in token. Open the link from the email again, or request a new one.</Alert>
      ) : (
        <>
          <p>You opened a sign-in link for the Sesame dashboard. Continue to finish signing in on this browser.</p>
          {error !== undefined && <Alert kind="error">{error}</Alert>}
          <button type="button" className="button primary block" disabled={busy} onClick={() => void go()}>
            {busy ? 'Signing in…' : 'Continue sign-in'}
          </button>
        </>
      )}
      {!setup.admins_exist && <NoAdminYet />}
      <p className="footnote">
        <a
          href="/admin/"
          onClick={(e) => {
            e.preventDefault();
            navigate('/', { replace: true });
          }}
        >
          Back to sign in
        </a>
      </p>
    </Card>
  );
}
