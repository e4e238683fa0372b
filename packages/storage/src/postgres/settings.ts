/** Settings on PostgreSQL: small JSON documents, and changes written with their audit entry. */
import type { Settings } from '@sesame/core';
import { insertAudit } from './activity.js';
import { unstorable } from './session.js';
import type { Runners } from './transactions.js';

const UPSERT_SETTING = `INSERT INTO settings (key, value, updated_at) VALUES ($1::text, $2::text, $3::bigint)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`;

export function postgresSettings(db: Runners): Settings {
  return {
    async getSetting(key) {
      if (unstorable(key)) return null;
      const [row] = await db.read((s) => s.rows<{ value: string }>('SELECT value FROM settings WHERE key = $1::text', [key]));
      return row ? row.value : null;
    },
    async putSetting(key, value, now) {
      await db.write((s) => s.count(UPSERT_SETTING, [key, value, now]));
    },
    async getSettingEntry(key) {
      if (unstorable(key)) return null;
      const [row] = await db.read((s) =>
        s.rows<{ value: string; updated_at: number }>('SELECT value, updated_at FROM settings WHERE key = $1::text', [key]),
      );
      return row ? { value: row.value, updatedAt: row.updated_at } : null;
    },
    async changeSetting(command) {
      await db.transaction(async (s) => {
        if (command.value === null) {
          await s.count('DELETE FROM settings WHERE key = $1::text', [command.key]);
        } else {
          await s.count(UPSERT_SETTING, [command.key, command.value, command.now]);
        }
        await insertAudit(s, command.audit);
      });
    },
  };
}
