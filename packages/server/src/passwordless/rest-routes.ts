/**
 * REST passwordless API (docs/WIRE.md "REST"): the JSON body to core's input, the operation
 * (operations.ts, shared with gRPC), and core's result to the wire's snake_case answer. Errors are
 * thrown and answered by ../http/error-handler.ts.
 */
import type { SendResult, VerifyResult } from '@sesame/core';
import { Hono, type Context } from 'hono';
import { pickFields, readJsonBody } from '../http/body.js';
import type { AppEnv } from '../http/hono-env.js';
import type { PasswordlessOperations } from './operations.js';
import { RESEND_FIELDS, SEND_FIELDS, VERIFY_FIELDS, type FieldMap, type SendResponse, type VerifyResponse } from './wire-schemas.js';

function toSendResponse(result: SendResult): SendResponse {
  return {
    auth_request_id: result.authRequestId,
    // The wire carries whole seconds since the epoch.
    expires_at: Math.floor(result.expiresAt / 1000),
    expires_in: result.expiresIn,
    passwordless_type: result.passwordlessType,
  };
}

function toVerifyResponse(result: VerifyResult): VerifyResponse {
  // `state` is proto3 `optional`: absent, not null, when the send carried none.
  return {
    email: result.email,
    ...(result.state === null ? {} : { state: result.state }),
    template: result.template,
    passwordless_type: result.passwordlessType,
  };
}

/** The three calls as hono routes: the JSON body (at most `maxBodyBytes`) picked into core's input, run by `operations`. */
export function passwordlessRoutes(operations: PasswordlessOperations, maxBodyBytes: number): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const input = async (c: Context<AppEnv>, fields: FieldMap): Promise<unknown> => pickFields(await readJsonBody(c, maxBodyBytes), fields);
  routes.post('/send', async (c) => c.json(toSendResponse(await operations.send(await input(c, SEND_FIELDS), c.get('caller')))));
  routes.post('/verify', async (c) => c.json(toVerifyResponse(await operations.verify(await input(c, VERIFY_FIELDS), c.get('caller')))));
  routes.post('/resend', async (c) => c.json(toSendResponse(await operations.resend(await input(c, RESEND_FIELDS), c.get('caller')))));
  return routes;
}
