/**
 * Counts the sends each API client has refused by a send limit, whichever protocol carried the
 * call: the engine is wrapped once, and REST, gRPC and the dashboard all call the wrapped one.
 * The label set stays bounded: client ids are those of registered clients (a call reaches the
 * engine only after its token named an active client) and the scope is one of three values.
 */
import { SesameError, type CallerClient, type Engine } from '@sesame/core';
import type { Metrics } from '../ops/metrics.js';

export function countSendLimits(engine: Engine, metrics: Pick<Metrics, 'sendLimited'>): Engine {
  async function counted<T>(caller: CallerClient, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof SesameError && error.code === 'SEND_LIMIT_EXCEEDED') {
        metrics.sendLimited.inc({ client_id: caller.id, scope: error.details.scope ?? 'address' });
      }
      throw error;
    }
  }
  return {
    ...engine,
    send: (input, caller) => counted(caller, () => engine.send(input, caller)),
    resend: (input, caller) => counted(caller, () => engine.resend(input, caller)),
  };
}
