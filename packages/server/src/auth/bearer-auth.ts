/**
 * Bearer-token middleware for the API routes: a valid access token naming an active (not
 * revoked) client, issued under the client's current secret version, else 401 UNAUTHENTICATED.
 * The client is read from the store on every call, so revoking a client or rotating its secret
 * stops every earlier token at once, on REST and gRPC alike.
 */
import { SesameError, type CallerClient, type Store } from '@sesame/core';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/hono-env.js';
import type { TokenService } from './access-tokens.js';

/** The caller named by an `authorization: Bearer …` header, for REST and gRPC alike. */
export async function authenticateBearer(store: Store, tokens: TokenService, header: string | null | undefined): Promise<CallerClient> {
  const match = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header ?? '');
  if (!match) throw new SesameError('UNAUTHENTICATED', 'A Bearer access token from /oauth/token is required.');
  const verified = await tokens.verify(match[1]!);
  if (verified === null) throw new SesameError('UNAUTHENTICATED', 'The access token is invalid or expired.');
  const client = await store.findApiClient(verified.clientId);
  if (!client || client.revokedAt !== null) throw new SesameError('UNAUTHENTICATED', 'The client of this access token is not active.');
  if (verified.secretVersion !== client.secretVersion) {
    throw new SesameError('UNAUTHENTICATED', 'The access token was issued before the client secret was rotated; get a new one.');
  }
  return { id: client.id, redirectUris: client.redirectUris, sendsPerMinute: client.sendsPerMinute };
}

export function bearerAuth(store: Store, tokens: TokenService): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('caller', await authenticateBearer(store, tokens, c.req.header('authorization')));
    await next();
  };
}
