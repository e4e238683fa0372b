/** The per-request values the middleware chain shares (hono's typed context variables). */
import type { CallerClient } from '@sesame/core';

export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set by the bearer-token middleware on the API routes. */
    caller: CallerClient;
    /** Set by the admin session middleware on /admin/api: the signed-in admin's email. */
    adminEmail: string;
  };
}
