/**
 * API clients over the admin API (docs/ADMIN_API.md "API clients"), on the same code as the
 * `sesame clients` CLI (../clients.ts): a secret is shown once, only its keyed hash is stored,
 * rotating or revoking a client stops its earlier tokens at once (the bearer check reads the
 * store), and every change is written with its audit entry in one store call.
 */
import { RedirectRuleError, invalidArgument, parseRedirectRules, type ApiClientRecord, type FieldViolation } from '@sesame/core';
import { Hono } from 'hono';
import type { AppEnv } from '../http/hono-env.js';
import { TransportError } from '../http/error-handler.js';
import { clientWire, createClient, revokeClient, rotateClientSecret, setClientSendLimit } from '../auth/api-clients.js';
import { parseWire, readObject, type AdminDeps } from './common.js';
import { MAX_REDIRECT_URIS, SENDS_PER_MINUTE_RULE, sendLimitSchema, sendsPerMinuteSchema } from './wire-schemas.js';

/** The client as the admin API answers it. */
export function toWireClient(client: ApiClientRecord) {
  return clientWire(client);
}

/** An absent or null `sends_per_minute` is the deployment's default. */
function parseSendsPerMinute(body: Record<string, unknown>, violations: FieldViolation[]): number | null {
  const parsed = sendsPerMinuteSchema.safeParse(body.sends_per_minute ?? null);
  if (parsed.success) return parsed.data;
  violations.push({ field: 'sends_per_minute', description: SENDS_PER_MINUTE_RULE });
  return null;
}

function parseNewClient(body: Record<string, unknown>): { name: string; redirectUris: string[]; sendsPerMinute: number | null } {
  const violations: FieldViolation[] = [];
  const name = typeof body.name === 'string' ? body.name.trim() : '';
  if (name.length < 1 || name.length > 100) violations.push({ field: 'name', description: 'must be 1 to 100 characters' });
  const raw = body.redirect_uris ?? body.redirectUris ?? [];
  const redirectUris: string[] = [];
  if (!Array.isArray(raw) || raw.length > MAX_REDIRECT_URIS) {
    violations.push({ field: 'redirect_uris', description: `must be a list of at most ${MAX_REDIRECT_URIS} URLs` });
  } else {
    for (const [index, uri] of (raw as unknown[]).entries()) {
      if (typeof uri !== 'string' || uri.length > 1000 || uri.includes(',')) {
        violations.push({
          field: `redirect_uris.${index}`,
          description: 'must be an absolute http(s) URL (a trailing * makes a prefix rule)',
        });
        continue;
      }
      try {
        if (parseRedirectRules(uri).length !== 1) throw new Error('empty');
        redirectUris.push(uri.trim());
      } catch (error) {
        const problem = error instanceof RedirectRuleError ? error.problem : 'must be an absolute http(s) URL';
        violations.push({ field: `redirect_uris.${index}`, description: `${problem} (a trailing * makes a prefix rule)` });
      }
    }
  }
  const sendsPerMinute = parseSendsPerMinute(body, violations);
  if (violations.length > 0) throw invalidArgument(violations);
  return { name, redirectUris, sendsPerMinute };
}

function notFound(): TransportError {
  return new TransportError(404, 'NOT_FOUND', 'No such API client.');
}

export function clientRoutes(deps: AdminDeps): Hono<AppEnv> {
  const { store } = deps;
  const routes = new Hono<AppEnv>();
  const key = deps.keys.clientSecret;

  routes.get('/', async (c) => {
    const clients = await store.listApiClients();
    return c.json({ clients: clients.map(toWireClient), default_sends_per_minute: deps.sendBudgets?.perClientPerMinute ?? null });
  });

  routes.post('/', async (c) => {
    const { name, redirectUris, sendsPerMinute } = parseNewClient(await readObject(c, deps));
    const now = deps.clock.now();
    const created = await createClient(store, {
      key,
      name,
      redirectUris,
      now,
      sendsPerMinute,
      author: { actor: c.get('adminEmail'), at: now },
    });
    return c.json({ client: toWireClient(created.record), client_secret: created.secret }, 201);
  });

  routes.post('/:id/rotate', async (c) => {
    const author = { actor: c.get('adminEmail'), at: deps.clock.now() };
    const rotated = await rotateClientSecret(store, { key, clientId: c.req.param('id'), author });
    if (!rotated) throw notFound();
    return c.json({ client: toWireClient(rotated.record), client_secret: rotated.secret });
  });

  routes.post('/:id/revoke', async (c) => {
    const now = deps.clock.now();
    // Revoking a revoked client changes nothing and records nothing.
    const result = await revokeClient(store, { clientId: c.req.param('id'), now, author: { actor: c.get('adminEmail'), at: now } });
    if (!result) throw notFound();
    return c.json({ client: toWireClient(result.record) });
  });

  routes.put('/:id/send-limit', async (c) => {
    // Required here: null sets the deployment's default, an absent field is refused.
    const { sends_per_minute: sendsPerMinute } = parseWire(sendLimitSchema, await readObject(c, deps), 'body');
    const author = { actor: c.get('adminEmail'), at: deps.clock.now() };
    const updated = await setClientSendLimit(store, { clientId: c.req.param('id'), sendsPerMinute, author });
    if (!updated) throw notFound();
    return c.json({ client: toWireClient(updated) });
  });

  return routes;
}
