/** Settings: plain values by key, and changes that commit together with their audit entry. */
import { describe, expect, it } from 'vitest';
import { T0 } from './fixtures.js';
import type { SuiteContext } from './context.js';

export function registerSettingsSuite(ctx: SuiteContext): void {
  describe('settings', () => {
    it('gets and replaces settings', async () => {
      const store = ctx.store();
      expect(await store.getSetting('policy')).toBeNull();
      await store.putSetting('policy', '{"a":1}', T0);
      await store.putSetting('branding', '{"name":"Acme"}', T0);
      await store.putSetting('policy', '{"a":2}', T0 + 1);
      expect(await store.getSetting('policy')).toBe('{"a":2}');
      expect(await store.getSetting('branding')).toBe('{"name":"Acme"}');
    });

    it('changes and removes a setting together with its audit entry', async () => {
      const store = ctx.store();
      expect(await store.getSettingEntry('policy')).toBeNull();
      const audit = { at: T0, actor: 'root@example.com', action: 'policy.update', before: null, after: '{"a":1}' };
      await store.changeSetting({ key: 'policy', value: '{"a":1}', now: T0, audit });
      await store.changeSetting({
        key: 'policy',
        value: '{"a":2}',
        now: T0 + 5,
        audit: { ...audit, at: T0 + 5, before: '{"a":1}', after: '{"a":2}' },
      });
      expect(await store.getSettingEntry('policy')).toEqual({ value: '{"a":2}', updatedAt: T0 + 5 });
      expect(await store.getSetting('policy')).toBe('{"a":2}');
      await store.changeSetting({
        key: 'policy',
        value: null,
        now: T0 + 9,
        audit: { ...audit, at: T0 + 9, action: 'policy.reset', before: '{"a":2}', after: null },
      });
      expect(await store.getSettingEntry('policy')).toBeNull();
      expect((await store.listAudit({ limit: 10 })).map((entry) => [entry.action, entry.after])).toEqual([
        ['policy.reset', null],
        ['policy.update', '{"a":2}'],
        ['policy.update', '{"a":1}'],
      ]);
    });
  });
}
