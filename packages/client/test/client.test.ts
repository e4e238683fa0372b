/**
 * @sesame/client against a real Sesame process (and real SMTP). Only the clock is the test's:
 * it moves to expire cached tokens. A recording `fetch` passes every call through unchanged,
 * except where a test says it stands in for a token the server no longer accepts.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ERROR_CODES, ERROR_TABLE } from '@sesame/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESAME_ERROR_CODES, SesameApiError, SesameClient } from '../src/index.js';
import { startSesameWithMail, type RunningSesame } from '@sesame/testkit';

let sesame: RunningSesame;
const run = randomBytes(4).toString('hex');
const address = (name: string): string => `${name}-${run}@example.test`;

interface Recorder {
  readonly calls: string[];
  readonly fetch: typeof fetch;
  /** Replace the bearer token of the next API call, as if the server had rotated its keys. */
  staleNextToken(): void;
}

function recorder(): Recorder {
  const calls: string[] = [];
  let stale = false;
  return {
    calls,
    staleNextToken: () => {
      stale = true;
    },
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      calls.push(url.pathname);
      if (stale && url.pathname.startsWith('/api/')) {
        stale = false;
        const headers = new Headers(init?.headers);
        headers.set('authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.c3RhbGU');
        return fetch(input, { ...init, headers });
      }
      return fetch(input, init);
    },
  };
}

function clientWith(options: { fetch?: typeof fetch; now?: () => number; secret?: string } = {}): SesameClient {
  return new SesameClient({
    baseUrl: `${sesame.url}/`,
    clientId: sesame.clientId,
    clientSecret: options.secret ?? sesame.clientSecret,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}

async function expectApiError(promise: Promise<unknown>): Promise<SesameApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SesameApiError);
  return error as SesameApiError;
}

describe('SesameClient against a real Sesame', () => {
  beforeAll(async () => {
    sesame = await startSesameWithMail();
  }, 60_000);

  afterAll(async () => {
    await sesame.stop();
  });

  it('knows exactly the error codes of @sesame/core', () => {
    expect([...SESAME_ERROR_CODES]).toEqual([...ERROR_CODES]);
    expect(Object.keys(ERROR_TABLE).sort()).toEqual([...SESAME_ERROR_CODES].sort());
  });

  it('sends, then verifies with the emailed code', async () => {
    const client = clientWith();
    const email = address('code');
    const sent = await client.sendPasswordlessEmail({ email, magiclinkAuthUri: sesame.redirectUri, state: '/after', expiresIn: 120 });
    expect(sent.authRequestId).not.toBe('');
    expect(sent.expiresIn).toBe(120);
    expect(sent.passwordlessType).toBe('LINK_OTP');
    expect(sent.expiresAt).toBeGreaterThan(Date.now() / 1000);
    const { code } = await sesame.nthMail(email, 0);
    const verified = await client.verifyPasswordlessEmail({ code: code!, authRequestId: sent.authRequestId });
    expect(verified).toEqual({ email, state: '/after', template: 'SIGNIN', passwordlessType: 'LINK_OTP' });
  });

  it('verifies a link token with its auth request id; without it, same-browser enforcement refuses and keeps the token', async () => {
    const client = clientWith();
    const email = address('link');
    const sent = await client.sendPasswordlessEmail({ email, magiclinkAuthUri: sesame.redirectUri });
    const linkToken = new URL((await sesame.nthMail(email, 0)).link!).searchParams.get('link_token')!;
    const refused = await expectApiError(client.verifyPasswordlessEmail({ linkToken }));
    expect(refused.code).toBe('SAME_BROWSER_REQUIRED');
    expect(refused.status).toBe(400);
    expect(refused.requestId).toBeTruthy();
    const verified = await client.verifyPasswordlessEmail({ linkToken, authRequestId: sent.authRequestId });
    expect(verified.email).toBe(email);
    expect(verified.state).toBeUndefined();
  });

  it('resends: new credentials, old code dead', async () => {
    const client = clientWith();
    const email = address('resend');
    const sent = await client.sendPasswordlessEmail({ email, magiclinkAuthUri: sesame.redirectUri });
    const first = await sesame.nthMail(email, 0);
    const again = await client.resendPasswordlessEmail(sent.authRequestId);
    expect(again.authRequestId).toBe(sent.authRequestId);
    const second = await sesame.nthMail(email, 1);
    const old = await expectApiError(client.verifyPasswordlessEmail({ code: first.code!, authRequestId: sent.authRequestId }));
    expect(old.code).toBe('INVALID_CREDENTIAL');
    expect((await client.verifyPasswordlessEmail({ code: second.code!, authRequestId: sent.authRequestId })).email).toBe(email);
  });

  it('maps error bodies: field violations, not found, send limit with Retry-After', async () => {
    const client = clientWith();
    const invalid = await expectApiError(client.sendPasswordlessEmail({ email: 'not an email' }));
    expect(invalid.code).toBe('INVALID_ARGUMENT');
    expect(invalid.status).toBe(400);
    expect(invalid.fieldViolations.map((v) => v.field)).toContain('email');

    const missing = await expectApiError(client.resendPasswordlessEmail('no-such-request'));
    expect(missing.code).toBe('AUTH_REQUEST_NOT_FOUND');
    expect(missing.status).toBe(404);

    const email = address('limit');
    const input = { email, magiclinkAuthUri: sesame.redirectUri };
    await client.sendPasswordlessEmail(input);
    await client.sendPasswordlessEmail(input);
    const limited = await expectApiError(client.sendPasswordlessEmail(input));
    expect(limited.code).toBe('SEND_LIMIT_EXCEEDED');
    expect(limited.status).toBe(429);
    expect(limited.retryAfterSeconds).toBeGreaterThan(0);
    expect(limited.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('fails with UNAUTHENTICATED for wrong client credentials', async () => {
    const error = await expectApiError(clientWith({ secret: 'wrong-secret' }).sendPasswordlessEmail({ email: address('unauth') }));
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.status).toBe(401);
  });

  it('reports an unreachable server as UNAVAILABLE with status 0', async () => {
    const client = new SesameClient({ baseUrl: 'http://127.0.0.1:9', clientId: 'x', clientSecret: 'y', timeoutMs: 2_000 });
    const error = await expectApiError(client.sendPasswordlessEmail({ email: address('down') }));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.status).toBe(0);
  });

  it("reports a proxy's 502/503/504 without a Sesame body as UNAVAILABLE", async () => {
    // A real HTTP server standing where a load balancer would, whose upstream is down.
    const proxy = http.createServer((_request, response) => {
      response.writeHead(503, { 'content-type': 'text/html' }).end('<h1>503 Service Unavailable</h1>');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = proxy.address() as AddressInfo;
      const client = new SesameClient({ baseUrl: `http://127.0.0.1:${port}`, clientId: 'x', clientSecret: 'y', timeoutMs: 2_000 });
      const error = await expectApiError(client.sendPasswordlessEmail({ email: address('proxy') }));
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.status).toBe(503);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('caches the token until shortly before it expires, and shares one fetch between concurrent calls', async () => {
    let now = Date.now();
    const calls = recorder();
    const client = clientWith({ fetch: calls.fetch, now: () => now });
    await Promise.all([client.resendPasswordlessEmail('a').catch(() => null), client.resendPasswordlessEmail('b').catch(() => null)]);
    await client.resendPasswordlessEmail('c').catch(() => null);
    expect(calls.calls.filter((p) => p === '/oauth/token')).toHaveLength(1);
    // Sesame's tokens live 3600 s; 3560 s later the client still uses the cached one…
    now += 3_560_000;
    await client.resendPasswordlessEmail('d').catch(() => null);
    expect(calls.calls.filter((p) => p === '/oauth/token')).toHaveLength(1);
    // …and within the last 30 s it fetches a new one rather than race the expiry.
    now += 20_000;
    await client.resendPasswordlessEmail('e').catch(() => null);
    expect(calls.calls.filter((p) => p === '/oauth/token')).toHaveLength(2);
  });

  it('fetches a new token once when the API answers 401, then succeeds', async () => {
    const calls = recorder();
    const client = clientWith({ fetch: calls.fetch });
    const missing = await expectApiError(client.resendPasswordlessEmail('warm-up'));
    expect(missing.code).toBe('AUTH_REQUEST_NOT_FOUND');
    calls.calls.length = 0;
    calls.staleNextToken();
    const sent = await client.sendPasswordlessEmail({ email: address('retry'), magiclinkAuthUri: sesame.redirectUri });
    expect(sent.authRequestId).not.toBe('');
    expect(calls.calls).toEqual(['/api/v1/passwordless/email/send', '/oauth/token', '/api/v1/passwordless/email/send']);
  });
});
