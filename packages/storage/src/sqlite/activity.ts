/**
 * The SQLite store's view of the past for the dashboard: the activity list and the audit log.
 * Reads only, apart from `appendAudit`; kept apart from the send/verify/outbox path.
 */
import type { Activity } from '@sesame/core';
import { ACTIVITY_REQUEST_COLUMNS, parseActivityCursor, statusCondition, toActivityPage, toAuditEntry } from '../admin-rows.js';
import type { ActivityRow, AuditRow } from '../admin-rows.js';
import { auditWriter } from './audit.js';
import type { Params, Statements } from './statements.js';

const AUDIT_COLUMNS = 'id, at, actor, action, before_json, after_json';

export function sqliteActivity(statements: Statements): Activity {
  const { all } = statements;
  const insertAudit = auditWriter(statements);

  return {
    async listAuthRequests(query) {
      const cursor = parseActivityCursor(query.cursor);
      const limit = Math.max(1, Math.trunc(query.limit));
      const where: string[] = [];
      const params: Params = { now: query.now, limit: limit + 1 };
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
      const rows = all(
        `SELECT ${ACTIVITY_REQUEST_COLUMNS}, a.rowid AS position,
           (SELECT o.status FROM outbox o WHERE o.auth_request_id = a.id
             ORDER BY o.created_at DESC, o.status = 'superseded', o.rowid DESC LIMIT 1) AS delivery,
           (SELECT json_group_array(json_array(e.seq, e.outbox_id, e.at, e.kind, e.attempt, e.detail))
             FROM delivery_events e WHERE e.auth_request_id = a.id) AS timeline
         FROM auth_requests a
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY a.created_at DESC, a.rowid DESC
         LIMIT @limit`,
        params,
      ) as ActivityRow[];
      return Promise.resolve(toActivityPage(rows, limit, query.now));
    },

    async appendAudit(entry) {
      insertAudit(entry);
      return Promise.resolve();
    },

    async listAudit(options) {
      const limit = Math.max(1, Math.trunc(options.limit));
      const rows = (
        options.beforeId === undefined
          ? all(`SELECT ${AUDIT_COLUMNS} FROM audit_log ORDER BY id DESC LIMIT @limit`, { limit })
          : all(`SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE id < @beforeId ORDER BY id DESC LIMIT @limit`, {
              limit,
              beforeId: options.beforeId,
            })
      ) as AuditRow[];
      return Promise.resolve(rows.map(toAuditEntry));
    },
  };
}
