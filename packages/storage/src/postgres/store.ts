/**
 * The Store for several Sesame instances on one PostgreSQL database (node-postgres, one pool per
 * store). It behaves exactly like the SQLite store: the same outcomes, the same retry-after
 * arithmetic, the same conformance suite. Each role lives in a file of its own; they share the
 * pool and the way work is run (./transactions.ts).
 */
import type { Store } from '@sesame/core';
import { postgresActivity } from './activity.js';
import { postgresAdmins } from './admins.js';
import { postgresApiClients } from './api-clients.js';
import { postgresAuthRequests } from './auth-requests.js';
import { postgresDevInbox } from './dev-inbox.js';
import { postgresLifecycle } from './lifecycle.js';
import { postgresOutbox } from './outbox.js';
import { migrationTimeout, openPool, type PostgresStoreOptions } from './pool.js';
import { postgresSettings } from './settings.js';
import { runners } from './transactions.js';

export function openPostgresStore(options: PostgresStoreOptions): Store {
  const connections = openPool(options);
  const db = runners(connections);
  return {
    ...postgresLifecycle(db, connections, migrationTimeout(options)),
    ...postgresAuthRequests(db),
    ...postgresOutbox(db),
    ...postgresDevInbox(db),
    ...postgresApiClients(db),
    ...postgresAdmins(db),
    ...postgresSettings(db),
    ...postgresActivity(db),
  };
}
