/**
 * The PostgreSQL store's admin methods (activity, audit, settings with their change record):
 * the SQLite ones (../sqlite/admin.ts) in this dialect, run through the store's own connection
 * handling (bounded waits, retries, UNAVAILABLE).
 */
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

type AdminMethods = Pick<Store, 'getSettingEntry' | 'changeSetting' | 'listAuthRequests' | 'appendAudit' | 'listAudit'>;

export interface AdminSession {
  rows<R>(text: string, values?: readonly unknown[]): Promise<R[]>;
  count(text: string, values?: readonly unknown[]): Promise<number>;
}

export interface AdminRunners {
  /** A read that may run twice. */
  read<T>(work: (s: AdminSession) => Promise<T>): Promise<T>;
  /** One write statement, outside a transaction. */
  write<T>(work: (s: AdminSession) => Promise<T>): Promise<T>;
  /** Several statements in one transaction. */
  transaction<T>(work: (s: AdminSession) => Promise<T>): Promise<T>;
}

const QUALIFIED_COLUMNS = AUTH_REQUEST_COLUMNS.split(',')
  .map((column) => `a.${column.trim()}`)
  .join(', ');

/** PostgreSQL text cannot hold NUL: no row has such a key, as on SQLite. */
const unstorable = (key: string): boolean => key.includes('\u0000');

const INSERT_AUDIT = `INSERT INTO audit_log (at, actor, action, before_json, after_json)
  VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::text)`;

export function postgresAdminMethods(runners: AdminRunners): AdminMethods {
  return {
    async getSettingEntry(key) {
      if (unstorable(key)) return null;
      const [row] = await runners.read((s) =>
        s.rows<{ value: string; updated_at: number }>('SELECT value, updated_at FROM settings WHERE key = $1::text', [key]),
      );
      return row ? { value: row.value, updatedAt: row.updated_at } : null;
    },

    async changeSetting(command) {
      const { audit } = command;
      await runners.transaction(async (s) => {
        if (command.value === null) {
          await s.count('DELETE FROM settings WHERE key = $1::text', [command.key]);
        } else {
          await s.count(
            `INSERT INTO settings (key, value, updated_at) VALUES ($1::text, $2::text, $3::bigint)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
            [command.key, command.value, command.now],
          );
        }
        await s.count(INSERT_AUDIT, [audit.at, audit.actor, audit.action, audit.before, audit.after]);
      });
    },

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
      const rows = await runners.read((s) =>
        s.rows<ActivityRow>(
          `SELECT ${QUALIFIED_COLUMNS}, a.seq AS position,
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
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((row) => toActivity(row, query.now)),
        nextCursor: rows.length > limit && last ? activityCursor(last) : null,
      };
    },

    async appendAudit(entry) {
      await runners.write((s) => s.count(INSERT_AUDIT, [entry.at, entry.actor, entry.action, entry.before, entry.after]));
    },

    async listAudit(options) {
      const limit = Math.max(1, Math.trunc(options.limit));
      const rows = await runners.read((s) =>
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
