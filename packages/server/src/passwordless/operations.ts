/**
 * The three passwordless operations, one implementation for every wire: the REST routes
 * (rest-routes.ts) and the gRPC methods (../grpc/service.ts, served by connect-node and by the
 * unary fast path) each turn their encoding into the camelCase input core parses, call these,
 * and turn the result (or the error) back into their own encoding. What is done here is what
 * must not depend on the wire: the engine call, its count in the metrics, and waking the outbox
 * worker once an email is queued. Sends refused by a send limit are counted per client on the
 * engine itself (send-limit-metrics.ts), so that the dashboard's sends count too.
 */
import { SesameError, type CallerClient, type Engine, type SendResult, type VerifyResult } from '@sesame/core';
import type { Metrics } from '../ops/metrics.js';

export interface PasswordlessOperationDeps {
  readonly engine: Engine;
  readonly metrics: Pick<Metrics, 'sends' | 'verifies' | 'limitHits'>;
  /** Called after an email was queued (send, resend), to wake the outbox worker at once. */
  readonly onEmailQueued?: () => void;
}

/** Each takes core's input (camelCase, not yet validated: the engine refuses what is wrong) and the authenticated caller. */
export interface PasswordlessOperations {
  send(input: unknown, caller: CallerClient): Promise<SendResult>;
  verify(input: unknown, caller: CallerClient): Promise<VerifyResult>;
  resend(input: unknown, caller: CallerClient): Promise<SendResult>;
}

export function passwordlessOperations(deps: PasswordlessOperationDeps): PasswordlessOperations {
  const { engine, metrics } = deps;

  /** Runs `run`, recording `success` or the failure's code, and counting the limits that refused it. */
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

  /** A send or resend: counted by kind, and the worker woken for the email it queued. */
  async function queued(kind: 'send' | 'resend', run: () => Promise<SendResult>): Promise<SendResult> {
    const result = await counted((outcome) => metrics.sends.inc({ kind, outcome }), run, 'ok');
    deps.onEmailQueued?.();
    return result;
  }

  return {
    send: (input, caller) => queued('send', () => engine.send(input, caller)),
    verify: (input, caller) =>
      counted(
        (outcome) => metrics.verifies.inc({ method: credentialKind(input), outcome }),
        () => engine.verify(input, caller),
        'verified',
      ),
    resend: (input, caller) => queued('resend', () => engine.resend(input, caller)),
  };
}

/** The verify metric's `method` label: `code` when the input carries one, else `link`. */
function credentialKind(input: unknown): 'code' | 'link' {
  return typeof input === 'object' && input !== null && (input as { code?: unknown }).code !== undefined ? 'code' : 'link';
}
