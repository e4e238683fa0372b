import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, harness, stopPostgres, type Harness } from './helpers.js';
import { rotateClientSecret } from '../src/auth/api-clients.js';

let h: Harness;
afterAll(stopPostgres);

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

// One test body, both stores: the route behaviour must not depend on the backend.
describe.each(BACKENDS)('%s', (backend) => {
  beforeEach(async () => {
    h = await harness({ backend });
  });
  afterEach(async () => {
    await h.close();
  });

  describe('POST /oauth/token', () => {
    it('issues an HS256 JWT for form-urlencoded client credentials (as the Scalekit SDK sends them)', async () => {
      const res = await h.request(
        '/oauth/token',
        form({ grant_type: 'client_credentials', client_id: h.clientId, client_secret: h.clientSecret }),
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-request-id')).toBeTruthy();
      const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
      expect(body.token_type).toBe('Bearer');
      expect(body.expires_in).toBe(3600);
      expect(decodeProtectedHeader(body.access_token).alg).toBe('HS256');
      const claims = decodeJwt(body.access_token);
      expect(claims.sub).toBe(h.clientId);
      expect(claims.iss).toBe('http://127.0.0.1:8080');
      expect(claims.aud).toBe('sesame-api');
      expect(claims.exp! - claims.iat!).toBe(3600);
      expect(typeof claims.jti).toBe('string');
      expect((await h.store.findApiClient(h.clientId))?.lastUsedAt).toBe(h.clock.now());
    });

    it('carries the client’s secret version (sv): 1 at first, the new version after each rotation', async () => {
      const issue = async (secret: string) => {
        const res = await h.request(
          '/oauth/token',
          form({ grant_type: 'client_credentials', client_id: h.clientId, client_secret: secret }),
        );
        expect(res.status).toBe(200);
        return decodeJwt(((await res.json()) as { access_token: string }).access_token).sv;
      };
      expect(await issue(h.clientSecret)).toBe(1);
      let secret = h.clientSecret;
      for (const version of [2, 3]) {
        const rotated = await rotateClientSecret(h.store, { key: h.sesame.clientSecretKey, clientId: h.clientId });
        secret = rotated!.secret;
        expect(rotated!.record.secretVersion).toBe(version);
        expect(await issue(secret)).toBe(version);
      }
    });

    it('accepts a JSON body and HTTP Basic', async () => {
      const json = await h.request('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: h.clientId, client_secret: h.clientSecret }),
      });
      expect(json.status).toBe(200);
      const basic = await h.request('/oauth/token', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(h.clientId)}:${encodeURIComponent(h.clientSecret)}`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });
      expect(basic.status).toBe(200);
      expect(((await basic.json()) as { access_token: string }).access_token.split('.')).toHaveLength(3);
    });

    it('answers 401 invalid_client for a wrong secret, an unknown client and a revoked client', async () => {
      const wrong = await h.request(
        '/oauth/token',
        form({ grant_type: 'client_credentials', client_id: h.clientId, client_secret: 'nope' }),
      );
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed.' });
      const unknown = await h.request(
        '/oauth/token',
        form({ grant_type: 'client_credentials', client_id: 'skc_nobody', client_secret: h.clientSecret }),
      );
      expect(unknown.status).toBe(401);
      expect(((await unknown.json()) as { error: string }).error).toBe('invalid_client');
      await h.store.revokeApiClient(h.clientId, h.clock.now());
      const revoked = await h.request(
        '/oauth/token',
        form({ grant_type: 'client_credentials', client_id: h.clientId, client_secret: h.clientSecret }),
      );
      expect(revoked.status).toBe(401);
    });

    it('sends WWW-Authenticate: Basic with a failed Basic attempt', async () => {
      const res = await h.request('/oauth/token', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${h.clientId}:bad`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
    });

    it('refuses bad requests with stable OAuth error codes', async () => {
      const cases: [RequestInit, number, string][] = [
        [form({ client_id: h.clientId, client_secret: h.clientSecret }), 400, 'invalid_request'],
        [form({ grant_type: 'password', client_id: h.clientId, client_secret: h.clientSecret }), 400, 'unsupported_grant_type'],
        [form({ grant_type: 'client_credentials' }), 401, 'invalid_client'],
        [{ method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }, 400, 'invalid_request'],
        [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":' }, 400, 'invalid_request'],
        [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1,2]' }, 400, 'invalid_request'],
        [
          { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials","client_id":5}' },
          400,
          'invalid_request',
        ],
        [
          {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              authorization: `Basic ${Buffer.from(`${h.clientId}:${h.clientSecret}`).toString('base64')}`,
            },
            body: new URLSearchParams({
              grant_type: 'client_credentials',
              client_id: h.clientId,
              client_secret: h.clientSecret,
            }).toString(),
          },
          400,
          'invalid_request',
        ],
      ];
      for (const [init, status, code] of cases) {
        const res = await h.request('/oauth/token', init);
        expect(res.status, JSON.stringify(init.body)).toBe(status);
        const body = (await res.json()) as { error: string; error_description: string };
        expect(body.error).toBe(code);
        expect(body.error_description.length).toBeGreaterThan(0);
        expect(JSON.stringify(body)).not.toContain(h.clientSecret);
      }
    });
  });
});
