/**
 * What the dashboard shows of the past on PostgreSQL: the activity view and the audit log. Other
 * roles write their audit entries through `insertAudit`, inside their own transactions.
 */
import type { Activity, NewAuditEntry } from '@sesame/core';
import {
  ACTIVITY_REQUEST_COLUMNS,
  parseActivityCursor,
  statusCondition,
  toActivityPage,
  toAuditEntry,
  type ActivityRow,
  type AuditRow,
} from '../admin-rows.js';
import { unstorable, type Session } from './session.js';
import type { Runners } from './transactions.js';

/** Appends `audit` when given, in `s`'s transaction: a change and its record commit together. */
export async function insertAudit(s: Session, audit: NewAuditEntry | undefined): Promise<void> {
  if (!audit) return;
  await s.count(
    `INSERT INTO audit_log (at, actor, action, before_json, after_json) VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::text)`,
    [audit.at, audit.actor, audit.action, audit.before, audit.after],
  );
}

export function postgresActivity(db: Runners): Activity {
  return {
    async listAuthRequests(query) {
      const cursor = parseActivityCursor(query.cursor);
      const limit = Math.max(1, Math.trunc(query.limit));
      if (query.emailKey !== undefined && unstorable(query.emailKey)) return { items: [], nextCursor: null };
      const values: unknown[] = [limit + 1];
      const where: string[] = [];
      if (query.emailKey !== undefined) {
        values.push(query.emailKey);
        where.push(`a.email_key = $${values.length}::text`);
      }
      if (query.status === 'pending' || query.status === 'expired') {
        values.push(query.now);
        where.push(statusCondition(query.status, `$${values.length}::bigint`));
      } else if (query.status !== undefined) {
        where.push(statusCondition(query.status, ''));
      }
      if (cursor) {
        values.push(cursor.createdAt, cursor.position);
        const at = `$${values.length - 1}::bigint`;
        where.push(`(a.created_at < ${at} OR (a.created_at = ${at} AND a.seq < $${values.length}::bigint))`);
      }
      // One statement per page: the newest outbox email's status and the whole timeline are
      // correlated subqueries, so the page costs one round trip whatever its length.
      const rows = await db.read((s) =>
        s.rows<ActivityRow>(
          `SELECT ${ACTIVITY_REQUEST_COLUMNS}, a.seq AS position,
             (SELECT o.status FROM outbox o WHERE o.auth_request_id = a.id
               ORDER BY o.created_at DESC, o.status = 'superseded', o.id DESC LIMIT 1) AS delivery,
             (SELECT json_agg(json_build_array(e.seq, e.outbox_id, e.at, e.kind, e.attempt, e.detail) ORDER BY e.at, e.seq)
               FROM delivery_events e WHERE e.auth_request_id = a.id) AS timeline
           FROM auth_requests a
           ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY a.created_at DESC, a.seq DESC
           LIMIT $1::bigint`,
          values,
        ),
      );
      return toActivityPage(rows, limit, query.now);
    },

    async appendAudit(entry) {
      await db.write((s) => insertAudit(s, entry));
    },

    async listAudit(options) {
      const limit = Math.max(1, Math.trunc(options.limit));
      const rows = await db.read((s) =>
        options.beforeId === undefined
          ? s.rows<AuditRow>('SELECT id, at, actor, action, before_json, after_json FROM audit_log ORDER BY id DESC LIMIT $1::bigint', [
              limit,
            ])
          : s.rows<AuditRow>(
              'SELECT id, at, actor, action, before_json, after_json FROM audit_log WHERE id < $2::bigint ORDER BY id DESC LIMIT $1::bigint',
              [limit, options.beforeId],
            ),
      );
      return rows.map(toAuditEntry);
    },
  };
}
