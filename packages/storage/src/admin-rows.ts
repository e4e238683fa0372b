/**
 * Rows of the admin views (activity, audit, settings with their time) shared by both stores, and
 * the pieces of SQL that must mean the same on both: the status filter and the cursor.
 */
import {
  ACTIVITY_CURSOR_PATTERN,
  type AuditEntry,
  type AuthRequestActivity,
  type AuthRequestActivityPage,
  type AuthRequestStatus,
  type DeliveryEvent,
  type DeliveryEventKind,
  type OutboxStatus,
} from '@sesame/core';
import { AUTH_REQUEST_COLUMNS, toRecord, type AuthRequestRow } from './rows.js';

export interface ActivityRow extends AuthRequestRow {
  /** Insertion order (SQLite rowid, PostgreSQL identity): the tie-break of equal `created_at`. */
  position: number;
  delivery: OutboxStatus | null;
  /** `[[seq, outbox_id, at, kind, attempt, detail], …]`: a JSON string (SQLite) or parsed (PostgreSQL). */
  timeline: string | unknown[] | null;
}

export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  before_json: string | null;
  after_json: string | null;
}

type EventTuple = [number, string, number, DeliveryEventKind, number | null, string | null];

export function toActivity(row: ActivityRow, now: number): AuthRequestActivity {
  const raw = row.timeline === null ? [] : typeof row.timeline === 'string' ? (JSON.parse(row.timeline) as unknown[]) : row.timeline;
  // Aggregation order is not guaranteed everywhere: sort by time, then by insertion.
  const tuples = (raw as EventTuple[]).slice().sort((a, b) => a[2] - b[2] || a[0] - b[0]);
  const timeline: DeliveryEvent[] = tuples.map(([, outboxId, at, kind, attempt, detail]) => ({
    outboxId,
    authRequestId: row.id,
    at,
    kind,
    attempt,
    detail,
  }));
  return { request: toRecord(row, now), delivery: row.delivery, timeline };
}

/**
 * One page of the activity view from the rows a query read with `LIMIT limit + 1`: the extra row,
 * when there is one, only says that a next page exists.
 */
export function toActivityPage(rows: readonly ActivityRow[], limit: number, now: number): AuthRequestActivityPage {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => toActivity(row, now)),
    nextCursor: rows.length > limit && last ? activityCursor(last) : null,
  };
}

/** The columns of `auth_requests a` an activity row starts with. */
export const ACTIVITY_REQUEST_COLUMNS = AUTH_REQUEST_COLUMNS.split(',')
  .map((column) => `a.${column.trim()}`)
  .join(', ');

export function toAuditEntry(row: AuditRow): AuditEntry {
  return { id: row.id, at: row.at, actor: row.actor, action: row.action, before: row.before_json, after: row.after_json };
}

export function parseActivityCursor(cursor: string | undefined): { createdAt: number; position: number } | null {
  if (cursor === undefined) return null;
  const match = ACTIVITY_CURSOR_PATTERN.exec(cursor);
  if (!match) throw new RangeError('Not an activity cursor.');
  return { createdAt: Number(match[1]), position: Number(match[2]) };
}

export function activityCursor(row: Pick<ActivityRow, 'created_at' | 'position'>): string {
  return `${row.created_at}.${row.position}`;
}

/**
 * The WHERE condition of a status filter over `auth_requests a`, with `now` as the placeholder
 * `nowParam`. `expired` is never stored: a pending request past its expiry.
 */
export function statusCondition(status: AuthRequestStatus, nowParam: string): string {
  switch (status) {
    case 'pending':
      return `a.status = 'pending' AND a.expires_at > ${nowParam}`;
    case 'expired':
      return `a.status = 'pending' AND a.expires_at <= ${nowParam}`;
    case 'verified':
      return `a.status = 'verified'`;
    case 'locked':
      return `a.status = 'locked'`;
  }
}
