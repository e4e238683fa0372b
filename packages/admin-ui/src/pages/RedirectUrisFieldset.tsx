/** The policy's allowed redirect URIs: one row each (URI, exact or prefix), added and removed in place. */
import type { RedirectUri } from '../api.js';

export function RedirectUrisFieldset({
  uris,
  maxUris,
  violation,
  onChange,
}: {
  uris: readonly RedirectUri[];
  maxUris: number | undefined;
  /** The violation of a field of this list (`allowed_redirect_uris`, `allowed_redirect_uris.1.uri`…). */
  violation: (field: string) => string | undefined;
  onChange: (uris: RedirectUri[]) => void;
}) {
  const v = violation;
  const setUri = (index: number, patch: Partial<RedirectUri>): void => onChange(uris.map((r, i) => (i === index ? { ...r, ...patch } : r)));
  return (
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
                <button type="button" className="button secondary small" onClick={() => onChange(uris.filter((_, j) => j !== i))}>
                  Remove<span className="visually-hidden"> redirect URI {i + 1}</span>
                </button>
              </div>
              {error !== undefined && <p className="field-error">{error}</p>}
            </li>
          );
        })}
      </ul>
      <button type="button" className="button secondary small" onClick={() => onChange([...uris, { uri: '', match: 'prefix' }])}>
        Add a redirect URI
      </button>
    </fieldset>
  );
}
