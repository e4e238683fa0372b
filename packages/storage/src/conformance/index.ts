/**
 * The store conformance suite: one test body that every `Store` backend runs. A backend is done
 * when it passes. Times are injected (no test sleeps); credentials are real digests from core;
 * races run in worker threads, each with its own connection opened from the backend's URL.
 *
 * Import from `@sesame/storage/conformance` inside a vitest test file:
 *
 *   runStoreConformance({ name: 'sqlite', open: async () => ({ store, url, dispose }) });
 *
 * The race workers run `dist/conformance/race-worker.js`, so build the package first.
 *
 * One file per role of `Store` (see `@sesame/core`'s store.ts), each registering its tests on a
 * fresh migrated database per test; this file only composes them.
 */
import { describe } from 'vitest';
import { setUpSuite, type StoreBackend } from './context.js';
import { registerLifecycleSuite } from './lifecycle.js';
import { registerAuthRequestSuite } from './auth-requests.js';
import { registerSendLimitSuite } from './send-limits.js';
import { registerReissueSuite } from './reissue.js';
import { registerOutboxSuite } from './outbox.js';
import { registerSweepSuite } from './sweep.js';
import { registerDevInboxSuite } from './dev-inbox.js';
import { registerApiClientSuite } from './api-clients.js';
import { registerClientBindingSuite } from './client-binding.js';
import { registerSendBudgetSuite } from './send-budgets.js';
import { registerClientLifecycleSuite } from './client-lifecycle.js';
import { registerAdminSuite } from './admins.js';
import { registerSettingsSuite } from './settings.js';
import { registerActivitySuite } from './activity.js';
import { registerRaceSuite } from './races.js';

export type { OpenedBackend, StoreBackend } from './context.js';
export { seeded } from './seeded.js';

export function runStoreConformance(backend: StoreBackend): void {
  describe(`Store conformance: ${backend.name}`, () => {
    const ctx = setUpSuite(backend);

    // StoreLifecycle
    registerLifecycleSuite(ctx);
    // AuthRequests: create, find, verify, expire and lock; limits per address; resend; the sweep.
    registerAuthRequestSuite(ctx);
    registerSendLimitSuite(ctx);
    registerReissueSuite(ctx);
    registerSweepSuite(ctx);
    // Outbox
    registerOutboxSuite(ctx);
    // DevInbox
    registerDevInboxSuite(ctx);
    // ApiClients, and what a client means to its auth requests: binding and send budgets.
    registerApiClientSuite(ctx);
    registerClientLifecycleSuite(ctx);
    registerClientBindingSuite(ctx);
    registerSendBudgetSuite(ctx);
    // Admins and their sessions
    registerAdminSuite(ctx);
    // Settings
    registerSettingsSuite(ctx);
    // Activity: the dashboard's auth request views and the audit log
    registerActivitySuite(ctx);
    // The atomic operations again, raced from several connections at once.
    registerRaceSuite(ctx);
  });
}
