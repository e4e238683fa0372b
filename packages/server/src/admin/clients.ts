/**
 * API clients over the admin API (docs/ADMIN_API.md "API clients"), on the same code as the
 * `sesame clients` CLI (../clients.ts): a secret is shown once, only its keyed hash is stored,
 * and a revoked client's tokens stop working at once (the bearer check reads the store).
 */
import { invalidArgument, parseRedirectRules, type ApiClientRecord, type FieldViolation } from '@sesame/core';
import { Hono } from 'hono';
import type { AppEnv } from '../env.js';
import { TransportError } from '../errors.js';
import { createClient, rotateClientSecret } from '../clients.js';
import { auditJson } from './audit.js';
import { iso, readObject, type AdminDeps } from './common.js';

const MAX_REDIRECT_URIS = 50;

/** Redirect rules as the CLI prints them: a trailing `*` marks a prefix rule. */
export function toWireClient(client: ApiClientRecord) {
  return {
    id: client.id,
    name: client.name,
    redirect_uris: client.redirectUris.map((rule) => (rule.match === 'prefix' ? `${rule.uri}*` : rule.uri)),
    created_at: iso(client.createdAt),
    revoked_at: iso(client.revokedAt),
    last_used_at: iso(client.lastUsedAt),
  };
}

function parseNewClient(body: Record<string, unknown>): { name: string; redirectUris: string[] } {
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
        violations.push({ field: `redirect_uris.${index}`, description: 'must be an absolute http(s) URL (a trailing * makes a prefix rule)' });
        continue;
      }
      try {
        if (parseRedirectRules(uri).length !== 1) throw new Error('empty');
        redirectUris.push(uri.trim());
      } catch {
        violations.push({ field: `redirect_uris.${index}`, description: 'must be an absolute http(s) URL (a trailing * makes a prefix rule)' });
      }
    }
  }
  if (violations.length > 0) throw invalidArgument(violations);
  return { name, redirectUris };
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
    return c.json({ clients: clients.map(toWireClient) });
  });

  routes.post('/', async (c) => {
    const { name, redirectUris } = parseNewClient(await readObject(c, deps));
    const now = deps.clock.now();
    const created = await createClient(store, { key, name, redirectUris, now });
    const client = toWireClient(created.record);
    await store.appendAudit({ at: now, actor: c.get('adminEmail'), action: 'client.create', before: null, after: auditJson(client) });
    return c.json({ client, client_secret: created.secret }, 201);
  });

  routes.post('/:id/rotate', async (c) => {
    const rotated = await rotateClientSecret(store, { key, clientId: c.req.param('id') });
    if (!rotated) throw notFound();
    const client = toWireClient(rotated.record);
    await store.appendAudit({ at: deps.clock.now(), actor: c.get('adminEmail'), action: 'client.rotate', before: null, after: auditJson(client) });
    return c.json({ client, client_secret: rotated.secret });
  });

  routes.post('/:id/revoke', async (c) => {
    const id = c.req.param('id');
    const now = deps.clock.now();
    const revoked = await store.revokeApiClient(id, now);
    const record = await store.findApiClient(id);
    if (!record) throw notFound();
    const client = toWireClient(record);
    // Revoking a revoked client changes nothing and records nothing.
    if (revoked) await store.appendAudit({ at: now, actor: c.get('adminEmail'), action: 'client.revoke', before: null, after: auditJson(client) });
    return c.json({ client });
  });

  return routes;
}
