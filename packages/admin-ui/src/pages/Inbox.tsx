/** Dev inbox: the emails Sesame would have sent, when it has no SMTP server (development only). */
import { useState } from 'react';
import { api, type InboxMessage } from '../api.js';
import { Alert, Time } from '../ui.js';
import { useLoad } from '../use-action.js';

export function InboxPage() {
  const [messages, setMessages] = useState<readonly InboxMessage[] | undefined>();
  const [error, setError] = useState<string | undefined>();

  const load = useLoad(async () => {
    const answer = await api.devInbox();
    setMessages([...answer.messages].sort((a, b) => b.created_at.localeCompare(a.created_at)));
    setError(undefined);
  }, setError);

  return (
    <section>
      <div className="page-head">
        <h1>Dev inbox</h1>
        <p className="muted">No SMTP server is configured, so emails stay here, newest first. Set SESAME_SMTP_URL to send real mail.</p>
        <button type="button" className="button secondary small" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {error !== undefined && <Alert kind="error">{error}</Alert>}
      {messages?.length === 0 && <p className="muted">No messages yet.</p>}
      {messages?.map((m) => (
        <article className="card" key={m.id} aria-label={m.subject}>
          <h2 className="message-subject">{m.subject}</h2>
          <p className="muted small">
            To <strong>{m.to}</strong> · from {m.from} · <Time value={m.created_at} />
          </p>
          <iframe
            title={`Email: ${m.subject}`}
            sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
            referrerPolicy="no-referrer"
            srcDoc={m.html}
            className="preview-frame"
          />
          <details>
            <summary>Text version</summary>
            <pre className="preview-text">{m.text}</pre>
          </details>
        </article>
      ))}
    </section>
  );
}
