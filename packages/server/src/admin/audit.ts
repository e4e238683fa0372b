/** The audit log of admin changes (docs/ADMIN_API.md "Policy"): who changed what, before and after. */
import { invalidArgument, type Store } from '@sesame/core';
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../http/hono-env.js';
import { iso, parseJsonOrNull, queryInt, type AdminDeps } from './common.js';

export type AuditAction =
  | 'policy.update'
  | 'template.update'
  | 'template.reset'
  | 'brand.update'
  | 'brand.reset'
  | 'client.create'
  | 'client.rotate'
  | 'client.revoke'
  | 'client.send_limit';

/** A document for the audit log, or null. */
function auditJson(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** A setting saved (or, with a null value, removed) by an admin, with what the audit log records of it. */
export interface AuditedSettingChange {
  readonly key: string;
  readonly value: string | null;
  readonly actor: string;
  readonly action: AuditAction;
  readonly before: unknown;
  readonly after: unknown;
}

/** Changes a setting at `now` with its audit entry in the same transaction. */
export async function changeSettingAudited(store: Pick<Store, 'changeSetting'>, now: number, change: AuditedSettingChange): Promise<void> {
  const { key, value, actor, action, before, after } = change;
  await store.changeSetting({ key, value, now, audit: { at: now, actor, action, before: auditJson(before), after: auditJson(after) } });
}

/**
 * Saves `document` (JSON; null removes the setting) as the signed-in admin, now, with its audit
 * entry in the same transaction. Returns the time it was saved.
 */
export async function saveSettingAsAdmin(
  c: Context<AppEnv>,
  deps: Pick<AdminDeps, 'store' | 'clock'>,
  key: string,
  action: AuditAction,
  document: unknown,
  audit: { readonly before: unknown; readonly after: unknown },
): Promise<number> {
  const now = deps.clock.now();
  const value = document === null ? null : JSON.stringify(document);
  await changeSettingAudited(deps.store, now, { key, value, actor: c.get('adminEmail'), action, ...audit });
  return now;
}

export function auditRoutes(deps: Pick<AdminDeps, 'store'>): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/', async (c) => {
    const limit = queryInt(c.req.query('limit'), 'limit', 1, 100, 50);
    const beforeText = c.req.query('before');
    let beforeId: number | undefined;
    if (beforeText !== undefined && beforeText !== '') {
      if (!/^\d{1,15}$/.test(beforeText)) throw invalidArgument([{ field: 'before', description: 'must be an entry id' }]);
      beforeId = Number(beforeText);
    }
    const entries = await deps.store.listAudit({ limit, ...(beforeId === undefined ? {} : { beforeId }) });
    return c.json({
      entries: entries.map((entry) => ({
        id: String(entry.id),
        at: iso(entry.at),
        actor: entry.actor,
        action: entry.action,
        before: parseJsonOrNull(entry.before),
        after: parseJsonOrNull(entry.after),
      })),
      next_before: entries.length === limit ? String(entries.at(-1)!.id) : null,
    });
  });
  return routes;
}
