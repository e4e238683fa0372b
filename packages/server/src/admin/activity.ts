/**
 * Activity (docs/ADMIN_API.md "Activity"): auth requests newest first with their delivery
 * timelines, one store query per page. The auth request id never leaves: it is the same-browser
 * secret of the engine's callers. Each row carries `ref`, a short keyed digest of the id, and a
 * masked address.
 */
import { createHmac } from 'node:crypto';
import {
  ACTIVITY_CURSOR_PATTERN,
  invalidArgument,
  normalizeEmail,
  parseInput,
  sendInputSchema,
  type AuthRequestActivity,
  type AuthRequestStatus,
} from '@sesame/core';
import { Hono } from 'hono';
import type { AppEnv } from '../http/hono-env.js';
import { iso, queryInt, type AdminDeps } from './common.js';
import { authRequestStatusSchema } from './wire-schemas.js';

const STATUSES: readonly AuthRequestStatus[] = authRequestStatusSchema.options;

/** `j***@example.com`: the first character of the local part and the domain. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${Array.from(email.slice(0, at))[0] ?? ''}***${email.slice(at)}`;
}

export function activityRef(key: Uint8Array, authRequestId: string): string {
  return createHmac('sha256', key).update(authRequestId).digest('base64url').slice(0, 10);
}

export function activityRoutes(deps: Pick<AdminDeps, 'store' | 'clock' | 'keys'>): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  function toWire(item: AuthRequestActivity) {
    const { request } = item;
    return {
      ref: activityRef(deps.keys.activityRef, request.id),
      email_masked: maskEmail(request.email),
      type: request.type,
      template: request.template,
      status: request.status,
      created_at: iso(request.createdAt),
      expires_at: iso(request.expiresAt),
      consumed_at: iso(request.consumedAt),
      attempts: request.attempts,
      sends: request.sends,
      delivery: item.delivery,
      timeline: item.timeline.map((event) => ({ at: iso(event.at), kind: event.kind, attempt: event.attempt, detail: event.detail })),
    };
  }

  routes.get('/', async (c) => {
    const limit = queryInt(c.req.query('limit'), 'limit', 1, 100, 25);
    const emailText = c.req.query('email');
    const status = c.req.query('status');
    const cursor = c.req.query('cursor');
    let emailKey: string | undefined;
    if (emailText !== undefined && emailText !== '') {
      const { email } = parseInput(sendInputSchema.pick({ email: true }), { email: emailText });
      // Auth requests are keyed for limits: the address without its +tag.
      emailKey = normalizeEmail(email).limitKey;
    }
    if (status !== undefined && status !== '' && !(STATUSES as readonly string[]).includes(status)) {
      throw invalidArgument([{ field: 'status', description: `must be one of ${STATUSES.join(', ')}` }]);
    }
    if (cursor !== undefined && cursor !== '' && !ACTIVITY_CURSOR_PATTERN.test(cursor)) {
      throw invalidArgument([{ field: 'cursor', description: 'is not a cursor from a previous page' }]);
    }
    const page = await deps.store.listAuthRequests({
      limit,
      now: deps.clock.now(),
      ...(emailKey === undefined ? {} : { emailKey }),
      ...(status === undefined || status === '' ? {} : { status: status as AuthRequestStatus }),
      ...(cursor === undefined || cursor === '' ? {} : { cursor }),
    });
    return c.json({ auth_requests: page.items.map(toWire), next_cursor: page.nextCursor });
  });

  return routes;
}
