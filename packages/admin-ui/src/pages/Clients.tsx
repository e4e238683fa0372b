/**
 * API clients: create (secret shown once), list with last use and send budget, rotate (new secret
 * once), set the send budget, revoke (confirmed).
 */
import { useState, type SyntheticEvent } from 'react';
import { api, type Client } from '../api.js';
import { Alert, ConfirmDialog, Field, SecretBox, Time } from '../ui.js';
import { useAction, useLoad } from '../use-action.js';

type Pending = { kind: 'rotate' | 'revoke' | 'limit'; client: Client } | undefined;

const MAX_SENDS_PER_MINUTE = 1_000_000;

/** The budget field's text as a number of sends a minute, null for the default, or an error message. */
function parseBudget(text: string): { value: number | null } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { value: null };
  const value = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || value < 1 || value > MAX_SENDS_PER_MINUTE) {
    return { error: `Enter a whole number from 1 to ${MAX_SENDS_PER_MINUTE.toLocaleString('en')}, or leave it empty for the default.` };
  }
  return { value };
}

function budgetText(client: Client, fallback: number | null): string {
  if (client.sends_per_minute !== null) return `${client.sends_per_minute.toLocaleString('en')}/min`;
  return fallback === null ? 'default' : `default (${fallback.toLocaleString('en')}/min)`;
}

export function ClientsPage() {
  const [clients, setClients] = useState<readonly Client[] | undefined>();
  const [defaultBudget, setDefaultBudget] = useState<number | null>(null);
  const [name, setName] = useState('');
  const [uris, setUris] = useState('');
  const [budget, setBudget] = useState('');
  const [limitText, setLimitText] = useState('');
  const [nameError, setNameError] = useState<string | undefined>();
  const [budgetError, setBudgetError] = useState<string | undefined>();
  const [limitError, setLimitError] = useState<string | undefined>();
  const [secret, setSecret] = useState<{ client: Client; secret: string; rotated: boolean } | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const [pending, setPending] = useState<Pending>();
  const { busy, error, setError, run } = useAction();

  const load = useLoad(async () => {
    const list = await api.clients();
    setClients(list.clients);
    setDefaultBudget(list.default_sends_per_minute);
  }, setError);

  const create = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    setMessage(undefined);
    setNameError(undefined);
    setBudgetError(undefined);
    const parsedBudget = parseBudget(budget);
    if ('error' in parsedBudget) setBudgetError(parsedBudget.error);
    if (name.trim() === '') setNameError('Give the client a name, such as the app that will use it.');
    if (name.trim() === '' || 'error' in parsedBudget) return;
    await run(async () => {
      const redirectUris = uris
        .split(/\s+/)
        .map((u) => u.trim())
        .filter((u) => u !== '');
      const created = await api.createClient(name.trim(), redirectUris, parsedBudget.value);
      setSecret({ client: created.client, secret: created.client_secret, rotated: false });
      setName('');
      setUris('');
      setBudget('');
      await load();
    });
  };

  const askLimit = (client: Client): void => {
    setLimitText(client.sends_per_minute === null ? '' : String(client.sends_per_minute));
    setLimitError(undefined);
    setPending({ kind: 'limit', client });
  };

  const confirm = async (): Promise<void> => {
    if (!pending) return;
    const { kind, client } = pending;
    const parsedLimit = parseBudget(limitText);
    if (kind === 'limit' && 'error' in parsedLimit) {
      setLimitError(parsedLimit.error);
      return;
    }
    setPending(undefined);
    setMessage(undefined);
    await run(async () => {
      if (kind === 'rotate') {
        const rotated = await api.rotateClient(client.id);
        setSecret({ client: rotated.client, secret: rotated.client_secret, rotated: true });
      } else if (kind === 'limit') {
        const updated = await api.setClientSendLimit(client.id, 'value' in parsedLimit ? parsedLimit.value : null);
        setMessage(`Client “${client.name}” may now send ${budgetText(updated.client, defaultBudget)}.`);
      } else {
        await api.revokeClient(client.id);
        if (secret?.client.id === client.id) setSecret(undefined);
        setMessage(`Client “${client.name}” is revoked: its tokens no longer work.`);
      }
      await load();
    });
  };

  return (
    <section>
      <div className="page-head">
        <h1>API clients</h1>
        <p className="muted">
          Apps call Sesame with a client id and secret (OAuth2 client credentials at <code>/oauth/token</code>).
        </p>
      </div>
      {error !== undefined && <Alert kind="error">{error}</Alert>}
      {message !== undefined && <Alert kind="success">{message}</Alert>}
      {secret && (
        <div className="card card-highlight" aria-labelledby="secret-title">
          <h2 id="secret-title">{secret.rotated ? `New secret for “${secret.client.name}”` : `Client “${secret.client.name}” created`}</h2>
          <p>
            Copy the secret now: Sesame keeps only a hash of it and will not show it again.
            {secret.rotated ? ' The old secret and every access token issued with it have stopped working.' : ''}
          </p>
          <SecretBox label="Client ID" value={secret.client.id} />
          <SecretBox label="Client secret" value={secret.secret} />
          <button type="button" className="button secondary small" onClick={() => setSecret(undefined)}>
            I have copied it
          </button>
        </div>
      )}
      <form className="card" onSubmit={(e) => void create(e)} noValidate aria-labelledby="create-title">
        <h2 id="create-title">Create a client</h2>
        <div className="grid-2">
          <Field label="Client name" error={nameError}>
            {(props) => <input {...props} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />}
          </Field>
          <Field
            label="Redirect URIs (optional)"
            hint="One per line: where this client's magic links may point. End one with * for a prefix rule."
          >
            {(props) => (
              <textarea {...props} className="mono" rows={2} value={uris} onChange={(e) => setUris(e.target.value)} spellCheck={false} />
            )}
          </Field>
          <Field
            label="Sends a minute (optional)"
            hint={`Emails this client may request a minute; empty for the default${defaultBudget === null ? '' : ` (${defaultBudget.toLocaleString('en')})`}.`}
            error={budgetError}
          >
            {(props) => <input {...props} inputMode="numeric" value={budget} onChange={(e) => setBudget(e.target.value)} />}
          </Field>
        </div>
        <div className="actions">
          <button type="submit" className="button primary" disabled={busy}>
            Create client
          </button>
        </div>
      </form>
      <div className="card">
        <h2>Clients</h2>
        {clients === undefined ? (
          <p className="muted">Loading…</p>
        ) : clients.length === 0 ? (
          <p className="muted">No clients yet.</p>
        ) : (
          <table className="table" aria-label="Clients">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Client ID</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Sends a minute</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {clients.map((client) => (
                <tr key={client.id} data-client-id={client.id}>
                  <th scope="row">
                    {client.name}
                    {client.redirect_uris.length > 0 && <div className="hint mono">{client.redirect_uris.join(' ')}</div>}
                  </th>
                  <td className="mono small">{client.id}</td>
                  <td>
                    <Time value={client.created_at} />
                  </td>
                  <td>
                    <Time value={client.last_used_at} fallback="never" />
                  </td>
                  <td className="small">{budgetText(client, defaultBudget)}</td>
                  <td>
                    {client.revoked_at === null ? (
                      <span className="pill pill-ok">active</span>
                    ) : (
                      <span className="pill pill-bad" title={client.revoked_at}>
                        revoked
                      </span>
                    )}
                  </td>
                  <td className="row-actions">
                    {client.revoked_at === null && (
                      <div>
                        <button
                          type="button"
                          className="button secondary small"
                          disabled={busy}
                          onClick={() => setPending({ kind: 'rotate', client })}
                        >
                          Rotate secret<span className="visually-hidden"> of {client.name}</span>
                        </button>
                        <button type="button" className="button secondary small" disabled={busy} onClick={() => askLimit(client)}>
                          Send limit<span className="visually-hidden"> of {client.name}</span>
                        </button>
                        <button
                          type="button"
                          className="button danger small"
                          disabled={busy}
                          onClick={() => setPending({ kind: 'revoke', client })}
                        >
                          Revoke<span className="visually-hidden"> {client.name}</span>
                        </button>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <ConfirmDialog
        open={pending !== undefined}
        title={
          pending?.kind === 'revoke'
            ? `Revoke “${pending.client.name}”?`
            : pending?.kind === 'limit'
              ? `Send limit of “${pending.client.name}”`
              : `Rotate the secret of “${pending?.client.name ?? ''}”?`
        }
        confirmLabel={pending?.kind === 'revoke' ? 'Revoke client' : pending?.kind === 'limit' ? 'Save limit' : 'Rotate secret'}
        danger={pending?.kind === 'revoke'}
        onConfirm={() => void confirm()}
        onCancel={() => setPending(undefined)}
      >
        {pending?.kind === 'revoke' ? (
          <p>
            Its access tokens stop working at once, it can no longer get new ones, and its emails still queued are not sent. This cannot be
            undone.
          </p>
        ) : pending?.kind === 'limit' ? (
          <Field
            label="Sends a minute"
            hint={`Past it, this client's sends answer 429 until the minute is over. Empty for the default${defaultBudget === null ? '' : ` (${defaultBudget.toLocaleString('en')})`}.`}
            error={limitError}
          >
            {(props) => <input {...props} inputMode="numeric" value={limitText} onChange={(e) => setLimitText(e.target.value)} />}
          </Field>
        ) : (
          <p>A new secret is made and shown once; the current secret and every access token issued with it stop working at once.</p>
        )}
      </ConfirmDialog>
    </section>
  );
}
