/** The dev inbox: where emails go when no SMTP URL is set, kept and listed newest first. */
import { describe, expect, it } from 'vitest';
import { T0 } from './fixtures.js';
import type { SuiteContext } from './context.js';

export function registerDevInboxSuite(ctx: SuiteContext): void {
  describe('dev inbox', () => {
    it('stores dev inbox messages, newest first', async () => {
      const store = ctx.store();
      const message = (n: number, outboxId: string | null) => ({
        id: `m${n}`,
        outboxId,
        to: `to${n}@example.com`,
        from: 'Sesame <no-reply@example.com>',
        subject: `Subject ${n} – ünïcode`,
        text: `text ${n}`,
        html: `<p>html ${n}</p>`,
        createdAt: T0 + n,
      });
      await store.putDevInboxMessage(message(1, 'o1'));
      await store.putDevInboxMessage(message(3, null));
      await store.putDevInboxMessage(message(2, 'o2'));
      expect(await store.listDevInbox({ limit: 2 })).toEqual([message(3, null), message(2, 'o2')]);
      expect(await store.listDevInbox({ limit: 10 })).toHaveLength(3);
      expect(await store.getDevInboxMessage('m1')).toEqual(message(1, 'o1'));
      expect(await store.getDevInboxMessage('nope')).toBeNull();
    });
  });
}
