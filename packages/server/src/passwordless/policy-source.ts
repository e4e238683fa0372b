/**
 * Where the policy in force comes from: the `policy` setting (edited in the dashboard / admin
 * API) or, until one is saved, the default policy (docs/ARCHITECTURE.md "Policy") with the rules
 * of SESAME_ALLOWED_REDIRECT_URIS added. Read on every engine call so an edit applies at once;
 * the parse is memoised on the raw text.
 */
import { defaultPolicy, parseStoredPolicy, type Policy, type RedirectRule, type Store } from '@sesame/core';

export const POLICY_SETTING = 'policy';

export function seededDefaultPolicy(production: boolean, seedRedirectUris: readonly RedirectRule[]): Policy {
  const base = defaultPolicy({ production });
  const known = new Set(base.allowedRedirectUris.map((rule) => `${rule.match} ${rule.uri}`));
  const extra = seedRedirectUris.filter((rule) => !known.has(`${rule.match} ${rule.uri}`));
  return { ...base, allowedRedirectUris: [...base.allowedRedirectUris, ...extra] };
}

export function createPolicySource(
  store: Store,
  options: { production: boolean; seedRedirectUris: readonly RedirectRule[] },
): () => Promise<Policy> {
  const fallback = seededDefaultPolicy(options.production, options.seedRedirectUris);
  let memo: { raw: string; policy: Policy } | null = null;
  return async () => {
    const raw = await store.getSetting(POLICY_SETTING);
    if (raw === null) return fallback;
    // Read leniently: a policy saved by an earlier version still loads (see parseStoredPolicy).
    if (memo?.raw !== raw) memo = { raw, policy: parseStoredPolicy(JSON.parse(raw)) };
    return memo.policy;
  };
}
