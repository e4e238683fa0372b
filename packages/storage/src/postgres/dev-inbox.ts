/** The development inbox on PostgreSQL: rendered emails kept when no SMTP server is configured. */
import type { DevInbox } from '@sesame/core';
import { toDevInboxMessage, type DevInboxRow } from '../rows.js';
import { unstorable } from './session.js';
import type { Runners } from './transactions.js';

export function postgresDevInbox(db: Runners): DevInbox {
  return {
    async putDevInboxMessage(message) {
      await db.write((s) =>
        s.count(
          `INSERT INTO dev_inbox (id, outbox_id, to_address, from_address, subject, text_body, html_body, created_at)
           VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::bigint)
           ON CONFLICT (id) DO UPDATE SET outbox_id = excluded.outbox_id, to_address = excluded.to_address,
             from_address = excluded.from_address, subject = excluded.subject, text_body = excluded.text_body,
             html_body = excluded.html_body, created_at = excluded.created_at`,
          [message.id, message.outboxId, message.to, message.from, message.subject, message.text, message.html, message.createdAt],
        ),
      );
    },
    async listDevInbox(options) {
      const rows = await db.read((s) =>
        s.rows<DevInboxRow>(
          `SELECT id, outbox_id, to_address, from_address, subject, text_body, html_body, created_at
           FROM dev_inbox ORDER BY created_at DESC, seq DESC LIMIT $1::bigint`,
          [Math.max(0, Math.trunc(options.limit))],
        ),
      );
      return rows.map(toDevInboxMessage);
    },
    async getDevInboxMessage(id) {
      if (unstorable(id)) return null;
      const [row] = await db.read((s) =>
        s.rows<DevInboxRow>(
          'SELECT id, outbox_id, to_address, from_address, subject, text_body, html_body, created_at FROM dev_inbox WHERE id = $1::text',
          [id],
        ),
      );
      return row ? toDevInboxMessage(row) : null;
    },
  };
}
