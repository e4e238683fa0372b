/**
 * Bearer-token middleware for the API routes: a valid access token naming an active (not
 * revoked) client, else 401 UNAUTHENTICATED. Revocation is read from the store on every call,
 * so a revoked client stops at once even with an unexpired token.
 */
import { SesameError, type CallerClient, type Store } from '@sesame/core';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.js';
import { requestHeader } from './node-http.js';
import type { TokenService } from './tokens.js';

/** The caller named by an `authorization: Bearer …` header, for REST and gRPC alike. */
export async function authenticateBearer(store: Store, tokens: TokenService, header: string | null | undefined): Promise<CallerClient> {
  const match = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header ?? '');
  if (!match) throw new SesameError('UNAUTHENTICATED', 'A Bearer access token from /oauth/token is required.');
  const clientId = await tokens.verify(match[1]!);
  if (clientId === null) throw new SesameError('UNAUTHENTICATED', 'The access token is invalid or expired.');
  const client = await store.findApiClient(clientId);
  if (!client || client.revokedAt !== null) throw new SesameError('UNAUTHENTICATED', 'The client of this access token is not active.');
  return { id: client.id, redirectUris: client.redirectUris };
}

export function bearerAuth(store: Store, tokens: TokenService): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('caller', await authenticateBearer(store, tokens, requestHeader(c, 'authorization')));
    await next();
  };
}
