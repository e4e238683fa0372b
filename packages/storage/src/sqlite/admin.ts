/**
 * The SQLite store's admin methods (activity, audit, settings with their change record), kept
 * apart from the send/verify/outbox path they only read.
 */
import type Database from 'better-sqlite3';
import type { Store } from '@sesame/core';
import {
  activityCursor,
  parseActivityCursor,
  statusCondition,
  toActivity,
  toAuditEntry,
  type ActivityRow,
  type AuditRow,
} from '../admin-rows.js';
import { AUTH_REQUEST_COLUMNS } from '../rows.js';
import { statementCache } from './statements.js';

type AdminMethods = Pick<Store, 'getSettingEntry' | 'changeSetting' | 'listAuthRequests' | 'appendAudit' | 'listAudit'>;
type Params = Record<string, unknown>;

const QUALIFIED_COLUMNS = AUTH_REQUEST_COLUMNS.split(',')
  .map((column) => `a.${column.trim()}`)
  .join(', ');

export function sqliteAdminMethods(db: Database.Database): AdminMethods {
  const sql = statementCache(db);

  function insertAudit(entry: Parameters<Store['appendAudit']>[0]): void {
    sql(`INSERT INTO audit_log (at, actor, action, before_json, after_json) VALUES (@at, @actor, @action, @before, @after)`).run({
      at: entry.at,
      actor: entry.actor,
      action: entry.action,
      before: entry.before,
      after: entry.after,
    });
  }

  const changeSetting = db.transaction((command: Parameters<Store['changeSetting']>[0]): void => {
    if (command.value === null) {
      sql('DELETE FROM settings WHERE key = @key').run({ key: command.key });
    } else {
      sql(
        `INSERT INTO settings (key, value, updated_at) VALUES (@key, @value, @now)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ).run({ key: command.key, value: command.value, now: command.now });
    }
    insertAudit(command.audit);
  });

  return {
    async getSettingEntry(key) {
      const row = sql('SELECT value, updated_at FROM settings WHERE key = @key').get({ key }) as
        { value: string; updated_at: number } | undefined;
      return Promise.resolve(row ? { value: row.value, updatedAt: row.updated_at } : null);
    },

    async changeSetting(command) {
      changeSetting.immediate(command);
      return Promise.resolve();
    },

    async listAuthRequests(query) {
      const cursor = parseActivityCursor(query.cursor);
      const where: string[] = [];
      const params: Params = { now: query.now, limit: Math.max(1, Math.trunc(query.limit)) + 1 };
      if (query.emailKey !== undefined) {
        where.push('a.email_key = @emailKey');
        params.emailKey = query.emailKey;
      }
      if (query.status !== undefined) where.push(statusCondition(query.status, '@now'));
      if (cursor) {
        where.push('(a.created_at < @cursorAt OR (a.created_at = @cursorAt AND a.rowid < @cursorPosition))');
        params.cursorAt = cursor.createdAt;
        params.cursorPosition = cursor.position;
      }
      // One statement per page: the newest outbox email's status and the whole timeline are
      // correlated subqueries, so the page costs one round trip whatever its length.
      const rows = sql(
        `SELECT ${QUALIFIED_COLUMNS}, a.rowid AS position,
           (SELECT o.status FROM outbox o WHERE o.auth_request_id = a.id
             ORDER BY o.created_at DESC, o.status = 'superseded', o.rowid DESC LIMIT 1) AS delivery,
           (SELECT json_group_array(json_array(e.seq, e.outbox_id, e.at, e.kind, e.attempt, e.detail))
             FROM delivery_events e WHERE e.auth_request_id = a.id) AS timeline
         FROM auth_requests a
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY a.created_at DESC, a.rowid DESC
         LIMIT @limit`,
      ).all(params) as ActivityRow[];
      const limit = Math.max(1, Math.trunc(query.limit));
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return Promise.resolve({
        items: page.map((row) => toActivity(row, query.now)),
        nextCursor: rows.length > limit && last ? activityCursor(last) : null,
      });
    },

    async appendAudit(entry) {
      insertAudit(entry);
      return Promise.resolve();
    },

    async listAudit(options) {
      const limit = Math.max(1, Math.trunc(options.limit));
      const rows = (
        options.beforeId === undefined
          ? sql('SELECT id, at, actor, action, before_json, after_json FROM audit_log ORDER BY id DESC LIMIT @limit').all({ limit })
          : sql(
              'SELECT id, at, actor, action, before_json, after_json FROM audit_log WHERE id < @beforeId ORDER BY id DESC LIMIT @limit',
            ).all({
              limit,
              beforeId: options.beforeId,
            })
      ) as AuditRow[];
      return Promise.resolve(rows.map(toAuditEntry));
    },
  };
}
