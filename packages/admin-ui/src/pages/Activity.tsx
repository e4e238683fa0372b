/** Activity: recent auth requests, newest first, each expandable to its delivery timeline. */
import { Fragment, useCallback, useEffect, useState, type SyntheticEvent } from 'react';
import { api, type ActivityPage as Page, type AuthRequestRow } from '../api.js';
import { Alert, Time } from '../ui.js';
import { useAction } from '../use-action.js';

const STATUSES = ['pending', 'verified', 'expired', 'locked'] as const;
const PAGE_SIZE = 25;

interface Filters {
  email: string;
  status: string;
}

function kindLabel(kind: string): string {
  switch (kind) {
    case 'queued':
      return 'Queued';
    case 'attempt':
      return 'Delivery attempt';
    case 'retry_scheduled':
      return 'Not delivered, retry scheduled';
    case 'sent':
      return 'Sent';
    case 'failed':
      return 'Failed';
    case 'superseded':
      return 'Superseded';
    default:
      return kind.replace(/_/g, ' ').replace(/^\w/, (c) => c.toUpperCase());
  }
}

function deliveryPill(delivery: AuthRequestRow['delivery']) {
  if (delivery === null) return <span className="muted">—</span>;
  const tone = delivery === 'sent' ? 'ok' : delivery === 'failed' ? 'bad' : delivery === 'queued' ? 'warn' : 'muted';
  return <span className={`pill pill-${tone}`}>{delivery}</span>;
}

function statusPill(status: AuthRequestRow['status']) {
  const tone = status === 'verified' ? 'ok' : status === 'locked' ? 'bad' : status === 'pending' ? 'warn' : 'muted';
  return <span className={`pill pill-${tone}`}>{status}</span>;
}

export function ActivityPage() {
  const [draft, setDraft] = useState<Filters>({ email: '', status: '' });
  const [filters, setFilters] = useState<Filters>({ email: '', status: '' });
  // cursors[i] is the cursor of page i (null for the newest page).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<Page | undefined>();
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const { busy: loading, error, run } = useAction();

  const index = cursors.length - 1;
  const cursor = cursors[index] ?? null;

  const load = useCallback(async (): Promise<void> => {
    await run(async () => setPage(await api.activity({ email: filters.email, status: filters.status, cursor, limit: PAGE_SIZE })));
  }, [filters, cursor, run]);

  useEffect(() => {
    void load();
  }, [load]);

  const apply = (event: SyntheticEvent): void => {
    event.preventDefault();
    setFilters({ email: draft.email.trim(), status: draft.status });
    setCursors([null]);
    setOpen(new Set());
  };

  const toggle = (ref: string): void => {
    const next = new Set(open);
    if (next.has(ref)) next.delete(ref);
    else next.add(ref);
    setOpen(next);
  };

  const rows = page?.auth_requests ?? [];
  return (
    <section>
      <div className="page-head">
        <h1>Activity</h1>
        <p className="muted">
          Recent auth requests and the delivery of their emails. Addresses are masked; filter by an exact address to find one.
        </p>
      </div>
      <form className="card filters" onSubmit={apply} aria-label="Filter activity">
        <div className="field">
          <label htmlFor="filter-email">Email address</label>
          <input
            id="filter-email"
            type="email"
            value={draft.email}
            onChange={(e) => setDraft({ ...draft, email: e.target.value })}
            placeholder="exact address"
          />
        </div>
        <div className="field">
          <label htmlFor="filter-status">Status</label>
          <select id="filter-status" value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value })}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="filter-actions">
          <button type="submit" className="button primary">
            Apply filters
          </button>
          <button type="button" className="button secondary" onClick={() => void load()} disabled={loading}>
            Refresh
          </button>
        </div>
      </form>
      {error !== undefined && <Alert kind="error">{error}</Alert>}
      <div className="card" aria-busy={loading}>
        {page && rows.length === 0 && (
          <p className="muted">No auth requests{filters.email !== '' || filters.status !== '' ? ' match these filters' : ' yet'}.</p>
        )}
        {rows.length > 0 && (
          <table className="table activity" aria-label="Auth requests">
            <thead>
              <tr>
                <th scope="col">
                  <span className="visually-hidden">Timeline</span>
                </th>
                <th scope="col">Ref</th>
                <th scope="col">Email</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Verified</th>
                <th scope="col">Failed attempts</th>
                <th scope="col">Emails</th>
                <th scope="col">Delivery</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => {
                const expanded = open.has(row.ref);
                const panel = `timeline-${row.ref}`;
                return (
                  <Fragment key={row.ref}>
                    <tr data-ref={row.ref} className={expanded ? 'expanded' : undefined}>
                      <td>
                        <button
                          type="button"
                          className="expander"
                          aria-expanded={expanded}
                          aria-controls={panel}
                          onClick={() => toggle(row.ref)}
                        >
                          <span aria-hidden="true">{expanded ? '▾' : '▸'}</span>
                          <span className="visually-hidden">Timeline of {row.ref}</span>
                        </button>
                      </td>
                      <td className="mono">{row.ref}</td>
                      <td>{row.email_masked}</td>
                      <td>
                        {row.type}
                        <div className="hint">{row.template}</div>
                      </td>
                      <td>{statusPill(row.status)}</td>
                      <td>
                        <Time value={row.created_at} />
                      </td>
                      <td>
                        <Time value={row.consumed_at} />
                      </td>
                      <td>{row.attempts}</td>
                      <td>{row.sends}</td>
                      <td>{deliveryPill(row.delivery)}</td>
                    </tr>
                    {expanded && (
                      <tr className="timeline-row">
                        <td colSpan={10} id={panel}>
                          <ol className="timeline" aria-label={`Delivery timeline of ${row.ref}`}>
                            {row.timeline.length === 0 && <li className="muted">No delivery events.</li>}
                            {row.timeline.map((event, i) => (
                              <li key={i} className={`event event-${event.kind}`}>
                                <Time value={event.at} /> <strong>{kindLabel(event.kind)}</strong>
                                {event.attempt !== null && <span className="muted"> · attempt {event.attempt}</span>}
                                {event.detail !== null && event.detail !== '' && <div className="mono detail">{event.detail}</div>}
                              </li>
                            ))}
                          </ol>
                          <p className="hint">
                            Expires <Time value={row.expires_at} />.
                          </p>
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        )}
        <nav className="pager" aria-label="Pages">
          <button
            type="button"
            className="button secondary small"
            disabled={index === 0 || loading}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            ← Newer
          </button>
          <span className="muted">Page {index + 1}</span>
          <button
            type="button"
            className="button secondary small"
            disabled={!page || page.next_cursor === null || loading}
            onClick={() => {
              if (page?.next_cursor) setCursors([...cursors, page.next_cursor]);
            }}
          >
            Older →
          </button>
        </nav>
      </div>
    </section>
  );
}
