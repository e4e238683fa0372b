/**
 * The store's lifecycle: a fresh database is not ready until `migrate()`, migrating twice changes
 * nothing, and several connections migrating at once migrate once.
 */
import { describe, expect, it } from 'vitest';
import { T0, newRequest } from './fixtures.js';
import type { RaceOp } from './race-protocol.js';
import { RACE_WORKERS, raceSpread, type SuiteContext } from './context.js';

export function registerLifecycleSuite(ctx: SuiteContext): void {
  describe('migrations', () => {
    it('is not ready before migrate(), ready after, and a second migrate() changes nothing', async () => {
      const fresh = await ctx.openAnother();
      expect(await fresh.store.ready()).toBe(false);
      await fresh.store.migrate();
      expect(await fresh.store.ready()).toBe(true);
      const request = await newRequest();
      expect(await fresh.store.createAuthRequest(request.command)).toEqual({ ok: true });
      await fresh.store.migrate();
      expect(await fresh.store.ready()).toBe(true);
      expect((await fresh.store.findAuthRequest(request.id, T0))?.status).toBe('pending');
    });

    it('migrates once when several connections start together', async () => {
      const fresh = await ctx.openAnother();
      const results = await raceSpread(
        ctx,
        Array.from({ length: RACE_WORKERS }, (): RaceOp => ({ kind: 'migrate' })),
        fresh.url,
      );
      expect(results).toEqual(Array.from({ length: RACE_WORKERS }, () => ({ kind: 'migrate', ready: true })));
      expect(await fresh.store.ready()).toBe(true);
      const request = await newRequest();
      expect(await fresh.store.createAuthRequest(request.command)).toEqual({ ok: true });
    });
  });
}
