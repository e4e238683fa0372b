/**
 * Property: whatever JSON a client sends to the API or the token endpoint, the answer is never a
 * 5xx, and every 4xx carries a stable code (the error body of docs/WIRE.md "REST", or OAuth's
 * `error`).
 */
import { ERROR_CODES } from '@sesame/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeValue, objectWith } from './fuzz-values.js';
import { REDIRECT, harness, type Harness } from './helpers.js';

const RUNS = 300;
const API_CODES = new Set<string>([...ERROR_CODES, 'NOT_FOUND', 'PAYLOAD_TOO_LARGE']);
const OAUTH_CODES = new Set(['invalid_request', 'invalid_client', 'unsupported_grant_type']);

let h: Harness;
let token: string;
beforeAll(async () => {
  h = await harness();
  token = await h.token();
});
afterAll(async () => {
  await h.close();
});

const sendBody = fc.oneof(
  objectWith([
    'email',
    'template',
    'magiclink_auth_uri',
    'magiclinkAuthUri',
    'state',
    'expires_in',
    'expiresIn',
    'template_variables',
    'templateVariables',
  ]),
  fc.record(
    {
      email: fc.oneof(fc.emailAddress(), edgeValue),
      magiclink_auth_uri: fc.oneof(fc.constant(REDIRECT), fc.webUrl(), edgeValue),
      template: fc.oneof(fc.constantFrom('SIGNIN', 'SIGNUP', 'UNSPECIFIED'), edgeValue),
      template_variables: fc.oneof(fc.dictionary(fc.string({ maxLength: 30 }), fc.string({ maxLength: 300 }), { maxKeys: 35 }), edgeValue),
      expires_in: fc.oneof(fc.integer({ min: -10, max: 5000 }), edgeValue),
      state: edgeValue,
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const verifyBody = fc.oneof(
  objectWith(['code', 'link_token', 'linkToken', 'auth_request_id', 'authRequestId']),
  fc.record({ code: edgeValue, link_token: edgeValue, auth_request_id: edgeValue }, { requiredKeys: [] }),
  fc.jsonValue({ maxDepth: 2 }),
);
const resendBody = fc.oneof(objectWith(['auth_request_id', 'authRequestId']), fc.jsonValue({ maxDepth: 2 }));

async function checkApi(action: 'send' | 'verify' | 'resend', body: unknown): Promise<void> {
  const res = await h.api(action, JSON.stringify(body), token);
  expect(res.status, JSON.stringify(body)).toBeLessThan(500);
  if (res.status >= 400) {
    const json = (await res.json()) as { error?: { code?: unknown; request_id?: unknown } };
    expect(API_CODES.has(String(json.error?.code)), JSON.stringify(json)).toBe(true);
    expect(json.error?.request_id).toBe(res.headers.get('x-request-id'));
  }
}

describe('fuzzed JSON bodies', () => {
  it('send never answers 5xx and every 4xx has a stable code', async () => {
    await fc.assert(
      fc.asyncProperty(sendBody, (body) => checkApi('send', body)),
      { numRuns: RUNS },
    );
  });

  it('verify never answers 5xx and every 4xx has a stable code', async () => {
    await fc.assert(
      fc.asyncProperty(verifyBody, (body) => checkApi('verify', body)),
      { numRuns: RUNS },
    );
  });

  it('resend never answers 5xx and every 4xx has a stable code', async () => {
    await fc.assert(
      fc.asyncProperty(resendBody, (body) => checkApi('resend', body)),
      { numRuns: RUNS },
    );
  });

  it('/oauth/token never answers 5xx and every 4xx has a stable OAuth error code', async () => {
    const tokenBody = fc.oneof(
      objectWith(['grant_type', 'client_id', 'client_secret']),
      fc.record(
        {
          grant_type: fc.oneof(fc.constant('client_credentials'), edgeValue),
          client_id: fc.oneof(fc.constant(h.clientId), edgeValue),
          client_secret: fc.oneof(fc.string({ maxLength: 60 }), edgeValue),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(tokenBody, fc.boolean(), async (body, asForm) => {
        const init = asForm
          ? {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams(
                body !== null && typeof body === 'object' && !Array.isArray(body)
                  ? Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])
                  : [],
              ).toString(),
            }
          : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
        const res = await h.request('/oauth/token', init);
        expect(res.status, JSON.stringify(body)).toBeLessThan(500);
        if (res.status >= 400) {
          const json = (await res.json()) as { error?: unknown };
          expect(OAUTH_CODES.has(String(json.error)), JSON.stringify(json)).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
