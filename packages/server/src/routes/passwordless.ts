/**
 * REST passwordless API (SCALEKIT_WIRE.md "REST equivalent"): translate JSON to core calls and
 * core results to the wire's snake_case answers. Errors are thrown and shaped by `errors.ts`.
 */
import { SesameError, type Engine, type SendResult, type VerifyResult } from '@sesame/core';
import { Hono } from 'hono';
import { RESEND_FIELDS, SEND_FIELDS, VERIFY_FIELDS, pickFields, readJsonBody } from '../body.js';
import type { AppEnv } from '../env.js';
import type { Metrics } from '../metrics.js';

export interface SendResponseBody {
  readonly auth_request_id: string;
  readonly expires_at: number;
  readonly expires_in: number;
  readonly passwordless_type: string;
}

export interface VerifyResponseBody {
  readonly email: string;
  readonly state?: string;
  readonly template: string;
  readonly passwordless_type: string;
}

export function toSendResponse(result: SendResult): SendResponseBody {
  return {
    auth_request_id: result.authRequestId,
    // The wire carries whole seconds since the epoch.
    expires_at: Math.floor(result.expiresAt / 1000),
    expires_in: result.expiresIn,
    passwordless_type: result.passwordlessType,
  };
}

export function toVerifyResponse(result: VerifyResult): VerifyResponseBody {
  // `state` is proto3 `optional`: absent, not null, when the send carried none.
  return {
    email: result.email,
    ...(result.state === null ? {} : { state: result.state }),
    template: result.template,
    passwordless_type: result.passwordlessType,
  };
}

export interface PasswordlessRouteDeps {
  readonly engine: Engine;
  readonly metrics: Metrics;
  /** Called after an email was queued, to wake the outbox worker at once. */
  readonly onEmailQueued?: () => void;
  readonly maxBodyBytes: number;
}

export function passwordlessRoutes(deps: PasswordlessRouteDeps): Hono<AppEnv> {
  const { engine, metrics } = deps;
  const routes = new Hono<AppEnv>();

  async function counted<T>(record: (outcome: string) => void, run: () => Promise<T>, success: string): Promise<T> {
    try {
      const value = await run();
      record(success);
      return value;
    } catch (error) {
      const code = error instanceof SesameError ? error.code : 'INTERNAL';
      record(code);
      if (code === 'SEND_LIMIT_EXCEEDED') metrics.limitHits.inc({ limit: 'send_limit' });
      if (code === 'TOO_MANY_ATTEMPTS') metrics.limitHits.inc({ limit: 'too_many_attempts' });
      throw error;
    }
  }

  routes.post('/send', async (c) => {
    const input = pickFields(await readJsonBody(c, deps.maxBodyBytes), SEND_FIELDS);
    const result = await counted((outcome) => metrics.sends.inc({ kind: 'send', outcome }), () => engine.send(input, c.get('caller')), 'ok');
    deps.onEmailQueued?.();
    return c.json(toSendResponse(result));
  });

  routes.post('/verify', async (c) => {
    const input = pickFields(await readJsonBody(c, deps.maxBodyBytes), VERIFY_FIELDS);
    const method = typeof input === 'object' && input !== null && 'code' in input ? 'code' : 'link';
    const result = await counted((outcome) => metrics.verifies.inc({ method, outcome }), () => engine.verify(input), 'verified');
    return c.json(toVerifyResponse(result));
  });

  routes.post('/resend', async (c) => {
    const input = pickFields(await readJsonBody(c, deps.maxBodyBytes), RESEND_FIELDS);
    const result = await counted((outcome) => metrics.sends.inc({ kind: 'resend', outcome }), () => engine.resend(input), 'ok');
    deps.onEmailQueued?.();
    return c.json(toSendResponse(result));
  });

  return routes;
}
