/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: store reachable and migrated). */
import type { Store } from '@sesame/core';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { AppEnv } from '../http/hono-env.js';

export function healthRoutes(store: Store, logger: Logger): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/healthz', (c) => c.json({ status: 'ok' }));
  routes.get('/readyz', async (c) => {
    let ready = false;
    try {
      ready = await store.ready();
    } catch (error) {
      logger.warn({ requestId: c.get('requestId'), err: error }, 'readiness check failed');
    }
    return ready ? c.json({ status: 'ready' }) : c.json({ status: 'not_ready' }, 503);
  });
  return routes;
}
