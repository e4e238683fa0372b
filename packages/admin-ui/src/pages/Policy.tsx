/** Policy: every setting with its range, saved whole (PUT), errors per field; the change history below. */
import { useCallback, useEffect, useState, type SyntheticEvent } from 'react';
import {
  api,
  rangeOf,
  violationFor,
  type AuditEntry,
  type FieldViolation,
  type Policy,
  type PolicyAnswer,
  type RedirectUri,
} from '../api.js';
import { Alert, Field, Time, errorMessage } from '../ui.js';

/** The form keeps numbers as typed text; they become numbers on save. */
interface PolicyForm {
  passwordless_type: Policy['passwordless_type'];
  expiry_seconds: string;
  otp_format: Policy['otp_format'];
  otp_length: string;
  same_browser_enforcement: boolean;
  otp_attempts_per_request: string;
  emails_max: string;
  emails_window: string;
  failed_max: string;
  failed_window: string;
  allowed_redirect_uris: RedirectUri[];
}

function toForm(p: Policy): PolicyForm {
  return {
    passwordless_type: p.passwordless_type,
    expiry_seconds: String(p.expiry_seconds),
    otp_format: p.otp_format,
    otp_length: String(p.otp_length),
    same_browser_enforcement: p.same_browser_enforcement,
    otp_attempts_per_request: String(p.otp_attempts_per_request),
    emails_max: String(p.emails_per_address.max),
    emails_window: String(p.emails_per_address.window_seconds),
    failed_max: String(p.failed_otp_per_address.max),
    failed_window: String(p.failed_otp_per_address.window_seconds),
    allowed_redirect_uris: p.allowed_redirect_uris.map((r) => ({ ...r })),
  };
}

/** Numbers that are not whole numbers are sent as typed, so the server names the field. */
function num(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? Number.NaN : Number(trimmed);
}

function fromForm(f: PolicyForm): Policy {
  return {
    passwordless_type: f.passwordless_type,
    expiry_seconds: num(f.expiry_seconds),
    otp_format: f.otp_format,
    otp_length: num(f.otp_length),
    same_browser_enforcement: f.same_browser_enforcement,
    otp_attempts_per_request: num(f.otp_attempts_per_request),
    emails_per_address: { max: num(f.emails_max), window_seconds: num(f.emails_window) },
    failed_otp_per_address: { max: num(f.failed_max), window_seconds: num(f.failed_window) },
    allowed_redirect_uris: f.allowed_redirect_uris.filter((r) => r.uri.trim() !== '').map((r) => ({ uri: r.uri.trim(), match: r.match })),
  };
}

/** Client-side checks only for what JSON cannot carry (a non-number); ranges are the server's to judge. */
function localViolations(f: PolicyForm): FieldViolation[] {
  const numeric: [keyof PolicyForm, string][] = [
    ['expiry_seconds', 'expiry_seconds'],
    ['otp_length', 'otp_length'],
    ['otp_attempts_per_request', 'otp_attempts_per_request'],
    ['emails_max', 'emails_per_address.max'],
    ['emails_window', 'emails_per_address.window_seconds'],
    ['failed_max', 'failed_otp_per_address.max'],
    ['failed_window', 'failed_otp_per_address.window_seconds'],
  ];
  return numeric
    .filter(([key]) => !Number.isInteger(num(f[key] as string)))
    .map(([, field]) => ({ field, description: 'Enter a whole number.' }));
}

function rangeHint(ranges: unknown, field: string, unit = '', fallback?: string): string | undefined {
  const range = rangeOf(ranges, field);
  if (range?.min !== undefined && range.max !== undefined) return `${range.min}–${range.max}${unit}`;
  if (range?.min !== undefined) return `at least ${range.min}${unit}`;
  if (range?.max !== undefined) return `at most ${range.max}${unit}`;
  if (range?.values) return range.values.join(', ');
  return fallback;
}

function maxItems(ranges: unknown, field: string): number | undefined {
  const node = typeof ranges === 'object' && ranges !== null ? (ranges as Record<string, unknown>)[field] : undefined;
  const max = typeof node === 'object' && node !== null ? (node as { max_items?: unknown }).max_items : undefined;
  return typeof max === 'number' ? max : undefined;
}

function withDefault(hint: string | undefined, def: string | number | boolean | undefined, kind = 'Range'): string | undefined {
  const parts = [hint !== undefined ? `${kind} ${hint}` : undefined, def !== undefined ? `default ${String(def)}` : undefined].filter(
    Boolean,
  );
  return parts.length > 0 ? `${parts.join(' · ')}.` : undefined;
}

export function PolicyPage() {
  const [answer, setAnswer] = useState<PolicyAnswer | undefined>();
  const [form, setForm] = useState<PolicyForm | undefined>();
  const [violations, setViolations] = useState<FieldViolation[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [saved, setSaved] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [auditKey, setAuditKey] = useState(0);

  useEffect(() => {
    api
      .policy()
      .then((a) => {
        setAnswer(a);
        setForm(toForm(a.policy));
      })
      .catch((e: unknown) => setError(errorMessage(e)));
  }, []);

  if (!answer || !form) {
    return (
      <section>
        <h1>Policy</h1>
        {error !== undefined ? <Alert kind="error">{error}</Alert> : <p className="muted">Loading…</p>}
      </section>
    );
  }

  const { ranges, defaults } = answer;
  const set = <K extends keyof PolicyForm>(key: K, value: PolicyForm[K]): void => {
    setForm({ ...form, [key]: value });
    setSaved(undefined);
  };
  const v = (field: string): string | undefined => violationFor(violations, field);

  const save = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    setSaved(undefined);
    const local = localViolations(form);
    if (local.length > 0) {
      setViolations(local);
      setError('Some settings need attention: see the fields marked below.');
      return;
    }
    setBusy(true);
    try {
      const result = await api.savePolicy(fromForm(form));
      setAnswer({ ...answer, policy: result.policy, updated_at: result.updated_at });
      setForm(toForm(result.policy));
      setViolations([]);
      setSaved('Policy saved. It applies to the next request on every instance.');
      setAuditKey((k) => k + 1);
    } catch (e) {
      const fields = e instanceof Error && 'fieldViolations' in e ? (e as { fieldViolations: FieldViolation[] }).fieldViolations : [];
      setViolations(fields);
      setError(fields.length > 0 ? 'Some settings need attention: see the fields marked below.' : errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const known = [
    'passwordless_type',
    'expiry_seconds',
    'otp_format',
    'otp_length',
    'same_browser_enforcement',
    'otp_attempts_per_request',
    'emails_per_address',
    'failed_otp_per_address',
    'allowed_redirect_uris',
  ];
  const unplaced = violations.filter((x) => !known.some((k) => x.field === k || x.field.includes(k)));

  const uris = form.allowed_redirect_uris;
  const maxUris = maxItems(ranges, 'allowed_redirect_uris');
  const setUri = (index: number, patch: Partial<RedirectUri>): void =>
    set(
      'allowed_redirect_uris',
      uris.map((r, i) => (i === index ? { ...r, ...patch } : r)),
    );

  return (
    <section>
      <div className="page-head">
        <h1>Policy</h1>
        <p className="muted">
          How sign-in works for every app using this Sesame. Last changed: <Time value={answer.updated_at} fallback="never (defaults)" />
        </p>
      </div>
      {error !== undefined && <Alert kind="error">{error}</Alert>}
      {unplaced.length > 0 && (
        <Alert kind="error">
          <ul>
            {unplaced.map((x) => (
              <li key={x.field}>
                {x.field}: {x.description}
              </li>
            ))}
          </ul>
        </Alert>
      )}
      {saved !== undefined && <Alert kind="success">{saved}</Alert>}
      <form className="card" onSubmit={(e) => void save(e)} noValidate aria-label="Policy">
        <fieldset>
          <legend>Credentials</legend>
          <div className="grid">
            <Field
              label="Passwordless type"
              hint={withDefault('OTP, LINK or LINK_OTP', defaults.passwordless_type, 'One of')}
              error={v('passwordless_type')}
            >
              {(props) => (
                <select
                  {...props}
                  value={form.passwordless_type}
                  onChange={(e) => set('passwordless_type', e.target.value as Policy['passwordless_type'])}
                >
                  <option value="LINK_OTP">LINK_OTP — link and code</option>
                  <option value="LINK">LINK — magic link only</option>
                  <option value="OTP">OTP — code only</option>
                </select>
              )}
            </Field>
            <Field
              label="Expiry (seconds)"
              hint={withDefault(rangeHint(ranges, 'expiry_seconds', ' s', '60–3600 s'), defaults.expiry_seconds)}
              error={v('expiry_seconds')}
            >
              {(props) => (
                <input
                  {...props}
                  type="number"
                  inputMode="numeric"
                  value={form.expiry_seconds}
                  onChange={(e) => set('expiry_seconds', e.target.value)}
                />
              )}
            </Field>
            <Field label="OTP format" hint={withDefault('NUMERIC or ALPHANUMERIC', defaults.otp_format, 'One of')} error={v('otp_format')}>
              {(props) => (
                <select {...props} value={form.otp_format} onChange={(e) => set('otp_format', e.target.value as Policy['otp_format'])}>
                  <option value="NUMERIC">NUMERIC</option>
                  <option value="ALPHANUMERIC">ALPHANUMERIC</option>
                </select>
              )}
            </Field>
            <Field
              label="OTP length"
              hint={withDefault(rangeHint(ranges, 'otp_length', ' characters', '6–8 characters'), defaults.otp_length)}
              error={v('otp_length')}
            >
              {(props) => (
                <input
                  {...props}
                  type="number"
                  inputMode="numeric"
                  value={form.otp_length}
                  onChange={(e) => set('otp_length', e.target.value)}
                />
              )}
            </Field>
            <Field
              label="OTP attempts per auth request"
              hint={withDefault(rangeHint(ranges, 'otp_attempts_per_request', '', '1–20'), defaults.otp_attempts_per_request)}
              error={v('otp_attempts_per_request')}
            >
              {(props) => (
                <input
                  {...props}
                  type="number"
                  inputMode="numeric"
                  value={form.otp_attempts_per_request}
                  onChange={(e) => set('otp_attempts_per_request', e.target.value)}
                />
              )}
            </Field>
          </div>
          <div className="check">
            <input
              id="same-browser"
              type="checkbox"
              checked={form.same_browser_enforcement}
              onChange={(e) => set('same_browser_enforcement', e.target.checked)}
              aria-describedby="same-browser-hint"
            />
            <label htmlFor="same-browser">Same-browser enforcement</label>
            <p className="hint" id="same-browser-hint">
              A link works only with the auth request id from the browser that asked for it (default{' '}
              {defaults.same_browser_enforcement ? 'on' : 'off'}).
            </p>
            {v('same_browser_enforcement') !== undefined && <p className="field-error">{v('same_browser_enforcement')}</p>}
          </div>
        </fieldset>

        <fieldset>
          <legend>Limits</legend>
          <div className="grid">
            <Field
              label="Emails per address"
              hint={withDefault(rangeHint(ranges, 'emails_per_address.max', '', '1–60'), defaults.emails_per_address.max)}
              error={v('emails_per_address.max')}
            >
              {(props) => (
                <input
                  {...props}
                  type="number"
                  inputMode="numeric"
                  value={form.emails_max}
                  onChange={(e) => set('emails_max', e.target.value)}
                />
              )}
            </Field>
            <Field
              label="Email window (seconds)"
              hint={withDefault(rangeHint(ranges, 'emails_per_address.window_seconds', ' s'), defaults.emails_per_address.window_seconds)}
              error={v('emails_per_address.window_seconds')}
            >
              {(props) => (
                <input
                  {...props}
                  type="number"
                  inputMode="numeric"
                  value={form.emails_window}
                  onChange={(e) => set('emails_window', e.target.value)}
                />
              )}
            </Field>
            <Field
              label="Failed OTP per address"
              hint={withDefault(rangeHint(ranges, 'failed_otp_per_address.max'), defaults.failed_otp_per_address.max)}
              error={v('failed_otp_per_address.max')}
            >
              {(props) => (
                <input
                  {...props}
                  type="number"
                  inputMode="numeric"
                  value={form.failed_max}
                  onChange={(e) => set('failed_max', e.target.value)}
                />
              )}
            </Field>
            <Field
              label="Failed OTP window (seconds)"
              hint={withDefault(
                rangeHint(ranges, 'failed_otp_per_address.window_seconds', ' s'),
                defaults.failed_otp_per_address.window_seconds,
              )}
              error={v('failed_otp_per_address.window_seconds')}
            >
              {(props) => (
                <input
                  {...props}
                  type="number"
                  inputMode="numeric"
                  value={form.failed_window}
                  onChange={(e) => set('failed_window', e.target.value)}
                />
              )}
            </Field>
          </div>
        </fieldset>

        <fieldset>
          <legend>Allowed redirect URIs</legend>
          <p className="hint">
            Magic links may only point at these (plus each client&apos;s registered URIs). Prefix match allows any path below the URI.
            {maxUris !== undefined ? ` Up to ${maxUris} entries.` : ''}
          </p>
          {v('allowed_redirect_uris') !== undefined && <p className="field-error">{v('allowed_redirect_uris')}</p>}
          <ul className="uri-list">
            {uris.map((r, i) => {
              const error = v(`allowed_redirect_uris.${i}.uri`) ?? v(`allowed_redirect_uris.${i}`);
              return (
                <li key={i}>
                  <div className="uri-row">
                    <label className="visually-hidden" htmlFor={`uri-${i}`}>
                      Redirect URI {i + 1}
                    </label>
                    <input
                      id={`uri-${i}`}
                      type="url"
                      className="mono"
                      value={r.uri}
                      onChange={(e) => setUri(i, { uri: e.target.value })}
                      aria-invalid={error !== undefined || undefined}
                    />
                    <label className="visually-hidden" htmlFor={`uri-match-${i}`}>
                      Match for redirect URI {i + 1}
                    </label>
                    <select
                      id={`uri-match-${i}`}
                      value={r.match}
                      onChange={(e) => setUri(i, { match: e.target.value as RedirectUri['match'] })}
                    >
                      <option value="exact">exact</option>
                      <option value="prefix">prefix</option>
                    </select>
                    <button
                      type="button"
                      className="button secondary small"
                      onClick={() =>
                        set(
                          'allowed_redirect_uris',
                          uris.filter((_, j) => j !== i),
                        )
                      }
                    >
                      Remove<span className="visually-hidden"> redirect URI {i + 1}</span>
                    </button>
                  </div>
                  {error !== undefined && <p className="field-error">{error}</p>}
                </li>
              );
            })}
          </ul>
          <button
            type="button"
            className="button secondary small"
            onClick={() => set('allowed_redirect_uris', [...uris, { uri: '', match: 'prefix' }])}
          >
            Add a redirect URI
          </button>
        </fieldset>

        <div className="actions">
          <button type="button" className="button secondary" onClick={() => setForm(toForm(defaults))}>
            Fill in the defaults
          </button>
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save policy'}
          </button>
        </div>
      </form>
      <AuditLog key={auditKey} />
    </section>
  );
}

/** Before/after may come as JSON text or as values. */
function parsed(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function summarize(beforeValue: unknown, afterValue: unknown): string[] {
  const before = parsed(beforeValue);
  const after = parsed(afterValue);
  const flat = (value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) flat(v, prefix === '' ? k : `${prefix}.${k}`, out);
    } else {
      out[prefix === '' ? 'value' : prefix] = value === undefined ? '—' : JSON.stringify(value);
    }
    return out;
  };
  const a = before === null || before === undefined ? {} : flat(before);
  const b = after === null || after === undefined ? {} : flat(after);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]);
  const short = (s: string | undefined): string => (s === undefined ? '—' : s.length > 60 ? `${s.slice(0, 57)}…` : s);
  return keys.slice(0, 8).map((k) => `${k}: ${short(a[k])} → ${short(b[k])}`);
}

function AuditLog() {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<string | number | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [loaded, setLoaded] = useState(false);

  const load = useCallback(async (before: string | number | null): Promise<void> => {
    try {
      const page = await api.audit(before);
      setEntries((old) => (before === null ? [...page.entries] : [...old, ...page.entries]));
      setNext(page.next_before);
      setLoaded(true);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, []);

  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <section className="card" aria-labelledby="audit-title">
      <h2 id="audit-title">Change history</h2>
      <p className="muted">Every change made through the admin API: policy, templates, branding, clients.</p>
      {error !== undefined && <Alert kind="error">{error}</Alert>}
      {loaded && entries.length === 0 && <p className="muted">No changes yet.</p>}
      {entries.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Changes</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={String(entry.id)}>
                <td>
                  <Time value={entry.at} />
                </td>
                <td>{entry.actor}</td>
                <td>
                  <code>{entry.action}</code>
                </td>
                <td>
                  <ul className="changes">
                    {summarize(entry.before, entry.after).map((line) => (
                      <li key={line} className="mono">
                        {line}
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next !== null && (
        <button type="button" className="button secondary small" onClick={() => void load(next)}>
          Load older changes
        </button>
      )}
    </section>
  );
}
