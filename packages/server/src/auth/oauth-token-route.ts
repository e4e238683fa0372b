/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4): `POST /oauth/token` with the client's id and
 * secret in the body (form-urlencoded as the Scalekit SDK sends it, or JSON) or in HTTP Basic.
 * Errors use OAuth's own body, `{"error": "<stable code>", "error_description": "…"}`.
 */
import type { Store } from '@sesame/core';
import { Hono, type Context } from 'hono';
import { isJsonContentType, readBodyText } from '../http/body.js';
import { authenticateClient } from './api-clients.js';
import type { AppEnv } from '../http/hono-env.js';
import type { Metrics } from '../ops/metrics.js';
import type { TokenService } from './access-tokens.js';

type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type';

export interface OAuthRouteDeps {
  readonly store: Store;
  readonly tokens: TokenService;
  readonly clientSecretKey: Uint8Array;
  /** The fallback secrets' client-secret keys (a match re-hashes under `clientSecretKey`). */
  readonly clientSecretFallbackKeys?: readonly Uint8Array[];
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly maxBodyBytes: number;
}

interface TokenRequest {
  readonly grantType: string | undefined;
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
}

class OAuthProblem extends Error {
  constructor(
    readonly status: 400 | 401,
    readonly code: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
  }
}

export function oauthRoutes(deps: OAuthRouteDeps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post('/token', async (c) => {
    const usedBasic = /^basic\s/i.test(c.req.header('authorization') ?? '');
    c.header('Cache-Control', 'no-store');
    c.header('Pragma', 'no-cache');
    try {
      const body = await readTokenRequest(c, deps.maxBodyBytes);
      const basic = usedBasic ? parseBasic(c.req.header('authorization') ?? '') : null;
      if (basic && (body.clientId !== undefined || body.clientSecret !== undefined)) {
        throw new OAuthProblem(
          400,
          'invalid_request',
          'Send client credentials either in the Authorization header or in the body, not both.',
        );
      }
      if (body.grantType === undefined) throw new OAuthProblem(400, 'invalid_request', 'grant_type is required.');
      if (body.grantType !== 'client_credentials') {
        throw new OAuthProblem(400, 'unsupported_grant_type', 'Only grant_type=client_credentials is supported.');
      }
      const clientId = basic?.clientId ?? body.clientId;
      const clientSecret = basic?.clientSecret ?? body.clientSecret;
      if (clientId === undefined || clientSecret === undefined) {
        throw new OAuthProblem(401, 'invalid_client', 'Client authentication failed: client_id and client_secret are required.');
      }
      const client = await authenticateClient(deps.store, deps.clientSecretKey, clientId, clientSecret, deps.clientSecretFallbackKeys);
      if (!client) throw new OAuthProblem(401, 'invalid_client', 'Client authentication failed.');
      const issued = await deps.tokens.issue(client.id, client.secretVersion);
      await deps.store.touchApiClient(client.id, deps.now());
      deps.metrics.tokens.inc({ outcome: 'issued' });
      return c.json({ access_token: issued.accessToken, token_type: 'Bearer', expires_in: issued.expiresIn });
    } catch (error) {
      if (!(error instanceof OAuthProblem)) throw error;
      deps.metrics.tokens.inc({ outcome: error.code });
      // RFC 6749 §5.2: a client that tried Basic gets the scheme back with its 401.
      if (error.status === 401 && usedBasic) c.header('WWW-Authenticate', 'Basic realm="sesame", charset="UTF-8"');
      return c.json({ error: error.code, error_description: error.description }, error.status);
    }
  });

  return routes;
}

async function readTokenRequest(c: Context<AppEnv>, maxBodyBytes: number): Promise<TokenRequest> {
  const contentType = c.req.header('content-type') ?? '';
  const text = await readBodyText(c, maxBodyBytes);
  if (/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) {
    const form = new URLSearchParams(text);
    const single = (name: string): string | undefined => {
      const values = form.getAll(name);
      if (values.length > 1) throw new OAuthProblem(400, 'invalid_request', `${name} must be given once.`);
      return values[0];
    };
    return { grantType: single('grant_type'), clientId: single('client_id'), clientSecret: single('client_secret') };
  }
  if (isJsonContentType(contentType)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new OAuthProblem(400, 'invalid_request', 'The body is not valid JSON.');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new OAuthProblem(400, 'invalid_request', 'The body must be a JSON object.');
    }
    const record = parsed as Record<string, unknown>;
    const text_ = (name: string): string | undefined => {
      const value = Object.hasOwn(record, name) ? record[name] : undefined;
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'string') throw new OAuthProblem(400, 'invalid_request', `${name} must be a string.`);
      return value;
    };
    return { grantType: text_('grant_type'), clientId: text_('client_id'), clientSecret: text_('client_secret') };
  }
  throw new OAuthProblem(400, 'invalid_request', 'Use Content-Type application/x-www-form-urlencoded or application/json.');
}

/** RFC 6749 §2.3.1: `base64(urlencode(id) ":" urlencode(secret))`. */
function parseBasic(header: string): { clientId: string; clientSecret: string } {
  const encoded = header.replace(/^basic\s+/i, '').trim();
  const decoded = /^[A-Za-z0-9+/]+=*$/.test(encoded) ? Buffer.from(encoded, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthProblem(401, 'invalid_client', 'Malformed Basic credentials.');
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      clientSecret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    throw new OAuthProblem(401, 'invalid_client', 'Malformed Basic credentials.');
  }
}
