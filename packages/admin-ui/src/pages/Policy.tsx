/** Policy: every setting with its range, saved whole (PUT), errors per field; the change history below. */
import { useEffect, useState, type SyntheticEvent } from 'react';
import { api, violationFor, violationsOf, type FieldViolation, type Policy, type PolicyAnswer } from '../api.js';
import { Alert, Field, Time, errorMessage } from '../ui.js';
import { useAction } from '../use-action.js';
import { AuditLog } from './AuditLog.js';
import {
  NUMBER_FIELDS,
  defaultOf,
  fromForm,
  localViolations,
  maxItems,
  rangeHint,
  toForm,
  withDefault,
  type NumberKey,
  type PolicyForm,
} from './policy-form.js';
import { RedirectUrisFieldset } from './RedirectUrisFieldset.js';

const NEEDS_ATTENTION = 'Some settings need attention: see the fields marked below.';

export function PolicyPage() {
  const [answer, setAnswer] = useState<PolicyAnswer | undefined>();
  const [form, setForm] = useState<PolicyForm | undefined>();
  const [violations, setViolations] = useState<FieldViolation[]>([]);
  const [saved, setSaved] = useState<string | undefined>();
  const [auditKey, setAuditKey] = useState(0);
  const { busy, error, setError, run } = useAction();

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
  /** A whole-number field: the server's range and the default as its hint, its violation below. */
  const numberField = (key: NumberKey) => {
    const { label, field, unit, fallback } = NUMBER_FIELDS[key];
    return (
      <Field label={label} hint={withDefault(rangeHint(ranges, field, unit, fallback), defaultOf(defaults, field))} error={v(field)}>
        {(props) => <input {...props} type="number" inputMode="numeric" value={form[key]} onChange={(e) => set(key, e.target.value)} />}
      </Field>
    );
  };

  const save = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    setSaved(undefined);
    const local = localViolations(form);
    if (local.length > 0) {
      setViolations(local);
      setError(NEEDS_ATTENTION);
      return;
    }
    await run(
      async () => {
        const result = await api.savePolicy(fromForm(form));
        setAnswer({ ...answer, policy: result.policy, updated_at: result.updated_at });
        setForm(toForm(result.policy));
        setViolations([]);
        setSaved('Policy saved. It applies to the next request on every instance.');
        setAuditKey((k) => k + 1);
      },
      (e) => {
        const fields = violationsOf(e);
        setViolations(fields);
        return fields.length > 0 ? NEEDS_ATTENTION : errorMessage(e);
      },
    );
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
            {numberField('expiry_seconds')}
            <Field label="OTP format" hint={withDefault('NUMERIC or ALPHANUMERIC', defaults.otp_format, 'One of')} error={v('otp_format')}>
              {(props) => (
                <select {...props} value={form.otp_format} onChange={(e) => set('otp_format', e.target.value as Policy['otp_format'])}>
                  <option value="NUMERIC">NUMERIC</option>
                  <option value="ALPHANUMERIC">ALPHANUMERIC</option>
                </select>
              )}
            </Field>
            {numberField('otp_length')}
            {numberField('otp_attempts_per_request')}
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
            {numberField('emails_max')}
            {numberField('emails_window')}
            {numberField('failed_max')}
            {numberField('failed_window')}
          </div>
        </fieldset>

        <RedirectUrisFieldset
          uris={form.allowed_redirect_uris}
          maxUris={maxItems(ranges, 'allowed_redirect_uris')}
          violation={v}
          onChange={(uris) => set('allowed_redirect_uris', uris)}
        />

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
