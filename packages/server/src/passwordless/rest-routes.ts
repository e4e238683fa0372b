/**
 * REST passwordless API (docs/WIRE.md "REST"): translate JSON to core calls and
 * core results to the wire's snake_case answers. Errors are thrown and shaped by `errors.ts`.
 */
import { SesameError, type CallerClient, type Engine, type SendResult, type VerifyResult } from '@sesame/core';
import { Hono } from 'hono';
import { RESEND_FIELDS, SEND_FIELDS, VERIFY_FIELDS, pickFields, readJsonBody } from '../http/body.js';
import type { AppEnv } from '../http/hono-env.js';
import type { Metrics } from '../ops/metrics.js';

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

export interface PasswordlessOperationDeps {
  readonly engine: Engine;
  readonly metrics: Metrics;
  /** Called after an email was queued, to wake the outbox worker at once. */
  readonly onEmailQueued?: () => void;
}

/**
 * The three API calls from a parsed JSON body to the wire's answer, counted in the metrics.
 * Shared by the hono routes below and the REST fast path (../rest-fast-path.ts), so both give
 * the same answers and the same counts.
 */
export interface PasswordlessOperations {
  send(body: unknown, caller: CallerClient): Promise<SendResponseBody>;
  verify(body: unknown, caller: CallerClient): Promise<VerifyResponseBody>;
  resend(body: unknown, caller: CallerClient): Promise<SendResponseBody>;
}

export function passwordlessOperations(deps: PasswordlessOperationDeps): PasswordlessOperations {
  const { engine, metrics } = deps;

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

  return {
    async send(body, caller) {
      const input = pickFields(body, SEND_FIELDS);
      const result = await counted(
        (outcome) => metrics.sends.inc({ kind: 'send', outcome }),
        () => engine.send(input, caller),
        'ok',
      );
      deps.onEmailQueued?.();
      return toSendResponse(result);
    },
    async verify(body, caller) {
      const input = pickFields(body, VERIFY_FIELDS);
      const method = typeof input === 'object' && input !== null && 'code' in input ? 'code' : 'link';
      const result = await counted(
        (outcome) => metrics.verifies.inc({ method, outcome }),
        () => engine.verify(input, caller),
        'verified',
      );
      return toVerifyResponse(result);
    },
    async resend(body, caller) {
      const input = pickFields(body, RESEND_FIELDS);
      const result = await counted(
        (outcome) => metrics.sends.inc({ kind: 'resend', outcome }),
        () => engine.resend(input, caller),
        'ok',
      );
      deps.onEmailQueued?.();
      return toSendResponse(result);
    },
  };
}

/** The three calls as hono routes: the JSON body (at most `maxBodyBytes`) handed to `operations`. */
export function passwordlessRoutes(operations: PasswordlessOperations, maxBodyBytes: number): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.post('/send', async (c) => c.json(await operations.send(await readJsonBody(c, maxBodyBytes), c.get('caller'))));
  routes.post('/verify', async (c) => c.json(await operations.verify(await readJsonBody(c, maxBodyBytes), c.get('caller'))));
  routes.post('/resend', async (c) => c.json(await operations.resend(await readJsonBody(c, maxBodyBytes), c.get('caller'))));
  return routes;
}
