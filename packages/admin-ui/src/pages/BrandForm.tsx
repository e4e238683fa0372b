/** Branding of every email: app name, from-name, logo and accent colour; saved or reset (confirmed). */
import { useState, type SyntheticEvent } from 'react';
import { api, violationFor, violationsOf, type Brand, type FieldViolation } from '../api.js';
import { Alert, ConfirmDialog, Field, errorMessage } from '../ui.js';
import { useAction, useLoad } from '../use-action.js';

interface BrandDraft {
  app_name: string;
  logo_url: string;
  accent_color: string;
  from_name: string;
}

const toDraft = (b: Brand): BrandDraft => ({
  app_name: b.app_name,
  logo_url: b.logo_url ?? '',
  accent_color: b.accent_color,
  from_name: b.from_name ?? '',
});

export function BrandForm({ onChanged }: { onChanged: () => void }) {
  const [draft, setDraft] = useState<BrandDraft | undefined>();
  const [isDefault, setIsDefault] = useState(true);
  const [violations, setViolations] = useState<FieldViolation[]>([]);
  const [message, setMessage] = useState<string | undefined>();
  const [confirmReset, setConfirmReset] = useState(false);
  const { busy, error, setError, run } = useAction();

  const load = useLoad(async () => {
    const answer = await api.brand();
    setDraft(toDraft(answer.brand));
    setIsDefault(answer.is_default);
  }, setError);

  if (!draft) {
    return <div className="card">{error !== undefined ? <Alert kind="error">{error}</Alert> : <p className="muted">Loading…</p>}</div>;
  }
  const v = (field: string): string | undefined => violationFor(violations, field);
  const set = (patch: Partial<BrandDraft>): void => {
    setDraft({ ...draft, ...patch });
    setMessage(undefined);
  };

  const save = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    await run(
      async () => {
        await api.saveBrand({
          app_name: draft.app_name,
          logo_url: draft.logo_url.trim() === '' ? null : draft.logo_url.trim(),
          accent_color: draft.accent_color,
          from_name: draft.from_name,
        });
        setViolations([]);
        await load();
        setMessage('Branding saved.');
        onChanged();
      },
      (e) => {
        setViolations(violationsOf(e));
        return violationsOf(e).length > 0 ? 'Some fields need attention: see below.' : errorMessage(e);
      },
    );
  };

  const reset = async (): Promise<void> => {
    setConfirmReset(false);
    await run(async () => {
      await api.resetBrand();
      setViolations([]);
      await load();
      setMessage('Branding is back to the default.');
      onChanged();
    });
  };

  const colorOk = /^#[0-9a-fA-F]{6}$/.test(draft.accent_color);
  return (
    <form className="card" onSubmit={(e) => void save(e)} noValidate aria-labelledby="brand-title">
      <h2 id="brand-title">Branding</h2>
      <p className="muted">Used by every template ({'{{app_name}}'}, the logo and colour) and in the From header.</p>
      {error !== undefined && <Alert kind="error">{error}</Alert>}
      {message !== undefined && <Alert kind="success">{message}</Alert>}
      <div className="grid">
        <Field label="App name" error={v('app_name')}>
          {(props) => <input {...props} value={draft.app_name} onChange={(e) => set({ app_name: e.target.value })} />}
        </Field>
        <Field label="From name" hint="Shown as the sender's name." error={v('from_name')}>
          {(props) => <input {...props} value={draft.from_name} onChange={(e) => set({ from_name: e.target.value })} />}
        </Field>
        <Field label="Logo URL" hint="https://… — leave empty for no logo." error={v('logo_url')}>
          {(props) => (
            <input {...props} type="url" className="mono" value={draft.logo_url} onChange={(e) => set({ logo_url: e.target.value })} />
          )}
        </Field>
        <Field label="Accent colour" hint="A hex colour such as #4f46e5." error={v('accent_color')}>
          {(props) => (
            <div className="color-row">
              <input {...props} className="mono" value={draft.accent_color} onChange={(e) => set({ accent_color: e.target.value })} />
              <span className="swatch" aria-hidden="true" style={{ background: colorOk ? draft.accent_color : 'transparent' }} />
            </div>
          )}
        </Field>
      </div>
      <div className="actions">
        <button type="button" className="button secondary" disabled={busy || isDefault} onClick={() => setConfirmReset(true)}>
          Reset branding
        </button>
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save branding'}
        </button>
      </div>
      <ConfirmDialog
        open={confirmReset}
        title="Reset the branding?"
        confirmLabel="Reset branding"
        danger
        onConfirm={() => void reset()}
        onCancel={() => setConfirmReset(false)}
      >
        <p>App name, logo, colour and from-name go back to Sesame&apos;s defaults.</p>
      </ConfirmDialog>
    </form>
  );
}
