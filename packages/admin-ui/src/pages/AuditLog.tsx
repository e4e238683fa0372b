/** The change history under the policy: every change made through the admin API, newest first. */
import { useCallback, useEffect, useState } from 'react';
import { api, type AuditEntry } from '../api.js';
import { Alert, Time } from '../ui.js';
import { reportFailure } from '../use-action.js';

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

export function AuditLog() {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [loaded, setLoaded] = useState(false);

  const load = useCallback(async (before: string | null): Promise<void> => {
    await reportFailure(async () => {
      const page = await api.audit(before);
      setEntries((old) => (before === null ? [...page.entries] : [...old, ...page.entries]));
      setNext(page.next_before);
      setLoaded(true);
    }, setError);
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
              <tr key={entry.id}>
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
