/**
 * The SQLite store's settings (the policy, branding, templates). `getSetting` is read on every
 * API call and goes through the config read cache (./config-cache.ts), whose triggers empty it
 * as any write to `settings` lands; `getSettingEntry`, for the dashboard, reads the table.
 */
import type { ChangeSettingCommand, Settings } from '@sesame/core';
import { auditWriter } from './audit.js';
import type { SqliteContext } from './context.js';

const UPSERT_SETTING = `INSERT INTO settings (key, value, updated_at) VALUES (@key, @value, @now)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`;

export function sqliteSettings(ctx: SqliteContext): Settings {
  const { get, run, memo } = ctx;
  const insertAudit = auditWriter(ctx);

  // The change and its audit entry in one transaction.
  const changeSetting = ctx.immediate((command: ChangeSettingCommand): void => {
    if (command.value === null) run('DELETE FROM settings WHERE key = @key', { key: command.key });
    else run(UPSERT_SETTING, { key: command.key, value: command.value, now: command.now });
    insertAudit(command.audit);
  });

  return {
    async getSetting(key) {
      return Promise.resolve(
        memo.read(`setting:${key}`, () => {
          const row = get('SELECT value FROM settings WHERE key = @key', { key }) as { value: string } | undefined;
          return row ? row.value : null;
        }),
      );
    },
    async putSetting(key, value, now) {
      run(UPSERT_SETTING, { key, value, now });
      return Promise.resolve();
    },
    async getSettingEntry(key) {
      const row = get('SELECT value, updated_at FROM settings WHERE key = @key', { key }) as
        { value: string; updated_at: number } | undefined;
      return Promise.resolve(row ? { value: row.value, updatedAt: row.updated_at } : null);
    },
    async changeSetting(command) {
      changeSetting(command);
      return Promise.resolve();
    },
  };
}
