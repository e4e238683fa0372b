/** The SQLite store's development inbox: rendered emails kept for reading, newest first. */
import type { DevInbox } from '@sesame/core';
import { toDevInboxMessage, type DevInboxRow } from '../rows.js';
import type { Statements } from './statements.js';

export function sqliteDevInbox({ get, all, run }: Statements): DevInbox {
  return {
    async putDevInboxMessage(message) {
      run(
        `INSERT INTO dev_inbox (id, outbox_id, to_address, from_address, subject, text_body, html_body, created_at)
         VALUES (@id, @outboxId, @to, @from, @subject, @text, @html, @createdAt)
         ON CONFLICT (id) DO UPDATE SET outbox_id = excluded.outbox_id, to_address = excluded.to_address,
           from_address = excluded.from_address, subject = excluded.subject, text_body = excluded.text_body,
           html_body = excluded.html_body, created_at = excluded.created_at`,
        { ...message },
      );
      return Promise.resolve();
    },
    async listDevInbox(options) {
      const rows = all('SELECT * FROM dev_inbox ORDER BY created_at DESC, rowid DESC LIMIT @limit', {
        limit: Math.max(0, Math.trunc(options.limit)),
      }) as DevInboxRow[];
      return Promise.resolve(rows.map(toDevInboxMessage));
    },
    async getDevInboxMessage(id) {
      const row = get('SELECT * FROM dev_inbox WHERE id = @id', { id }) as DevInboxRow | undefined;
      return Promise.resolve(row ? toDevInboxMessage(row) : null);
    },
  };
}
