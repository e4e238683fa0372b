/**
 * The REST fast path: the three passwordless API calls (POST send, verify, resend over
 * HTTP/1.1), answered directly on Node's request and response. Through hono they also pay for
 * @hono/node-server's Request stand-in, hono's Context and middleware chain, and a Response
 * object that is then copied back into Node's response: about 5 % of a send's CPU, for routes
 * that need none of it.
 *
 * Nothing else is served here: another method, a query string, any other path, and HTTP/2's
 * compatibility requests go to the app. What is served gets the app's answer, built by the same
 * parts in the same order as the app's middleware and routes: request id and the common headers,
 * bearer authentication, the JSON body under the same limit, the same operations
 * (`passwordlessOperations`), the same error answers (`errorAnswer`), the same metrics labels and
 * access log line (`requestRecorder`). test/rest-fast-path.test.ts sends the same requests both
 * ways and compares the answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Store } from '@sesame/core';
import type { Logger } from 'pino';
import { authenticateBearer } from '../auth/bearer-auth.js';
import { parseJsonBody, readIncomingText } from './body.js';
import { errorAnswer } from './error-handler.js';
import { nodeRequestHeader } from './node-http.js';
import { requestIdFrom, type RequestRecord } from './request-record.js';
import type { PasswordlessOperations } from '../passwordless/rest-routes.js';
import type { TokenService } from '../auth/access-tokens.js';

export interface RestFastPathOptions {
  /** The API's base path (`API_BASE`): the routes are its `/send`, `/verify` and `/resend`. */
  readonly base: string;
  readonly store: Store;
  readonly tokens: TokenService;
  readonly operations: PasswordlessOperations;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  readonly recordRequest: (record: RequestRecord) => void;
}

/** Serves `request` and returns true when it is one of the three calls; false leaves it untouched. */
export type RestFastPath = (request: IncomingMessage, response: ServerResponse) => boolean;

type Action = 'send' | 'verify' | 'resend';

export function createRestFastPath(options: RestFastPathOptions): RestFastPath {
  const { store, tokens, operations, maxBodyBytes, logger, recordRequest } = options;
  const actions = new Map<string, Action>((['send', 'verify', 'resend'] as const).map((action) => [`${options.base}/${action}`, action]));

  async function answer(action: Action, route: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = requestIdFrom(nodeRequestHeader(request, 'x-request-id'));
    response.setHeader('x-request-id', requestId);
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Cache-Control', 'no-store');
    let status = 200;
    let headers: Readonly<Record<string, string>> = {};
    let payload: unknown;
    try {
      // The app's order: the token first (bearerAuth), then the body (the route).
      const caller = await authenticateBearer(store, tokens, nodeRequestHeader(request, 'authorization'));
      const body = await parseJsonBody(nodeRequestHeader(request, 'content-type'), () =>
        readIncomingText(request, nodeRequestHeader(request, 'content-length'), maxBodyBytes),
      );
      payload =
        action === 'send'
          ? await operations.send(body, caller)
          : action === 'verify'
            ? await operations.verify(body, caller)
            : await operations.resend(body, caller);
    } catch (error) {
      const refused = errorAnswer(error, { requestId, route, http1: true }, logger);
      ({ status, headers } = refused);
      payload = refused.body;
    }
    const text = JSON.stringify(payload);
    response.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
    recordRequest({ requestId, method: 'POST', route, status, started });
  }

  return (request, response) => {
    if (request.method !== 'POST' || request.httpVersionMajor !== 1) return false;
    const route = request.url ?? '';
    const action = actions.get(route);
    if (action === undefined) return false;
    answer(action, route, request, response).catch((error: unknown) => {
      // Only a failure to write the answer gets here (errors of the call are answered above).
      logger.error({ err: error, route }, 'REST fast path: could not answer');
      response.destroy();
    });
    return true;
  };
}
