/**
 * Issue 10, access tokens: expired (cached or not), forged (payload changed, signature kept),
 * signed with another secret (or with the raw server secret instead of its derived key),
 * `alg: none`, another HS algorithm, wrong issuer or audience, and a well-signed token for a
 * client that does not exist are all refused with 401 UNAUTHENTICATED on REST and gRPC (code 16,
 * ErrorInfo UNAUTHENTICATED). A token we sign ourselves with the right key and claims is
 * accepted, so the refusals are about the defect each token carries. Real listening server on
 * SQLite; only the clock is ours.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, ConnectError, createClient as createRpcClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordlessService } from '../../src/gen/scalekit/v1/auth/passwordless/passwordless_pb.js';
import { ErrorInfoSchema } from '../../src/gen/scalekit/v1/errdetails/errdetails_pb.js';
import { createClient, deriveServerKeys, loadConfig, startSesame, type RunningSesame } from '../../src/index.js';
import { API, REDIRECT } from './support.js';

const SECRET = 'tokens-suite-server-secret-0123456789abcdefghijklmnop';
const TTL = 3600;
let now = Date.now();
const clock = { now: () => now };
let dir: string;
let running: RunningSesame;
let clientId: string;
let clientSecret: string;
/** The server's issuer, read from a token it issued. */
let issuer: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-tokens-'));
  const config = loadConfig({ PORT: '0', SESAME_DATA_DIR: dir, SESAME_SECRET: SECRET, SESAME_LOG_LEVEL: 'silent', SESAME_TOKEN_TTL_SECONDS: String(TTL) });
  running = await startSesame(config, { clock });
  const client = await createClient(running.store, { key: running.sesame.clientSecretKey, name: 'tokens', redirectUris: [REDIRECT], now });
  clientId = client.record.id;
  clientSecret = client.secret;
  issuer = String(decode((await issue()).split('.')[1]!).iss);
});
afterAll(async () => {
  await running.close();
  rmSync(dir, { recursive: true, force: true });
});

async function issue(): Promise<string> {
  const response = await fetch(`${running.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const decode = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

interface Claims {
  iss?: string;
  aud?: string;
  sub?: string;
  iat?: number;
  exp?: number;
  jti?: string;
}

function claims(overrides: Claims = {}): Claims {
  const iat = Math.floor(now / 1000);
  return { iss: issuer, aud: 'sesame-api', sub: clientId, iat, exp: iat + 600, jti: 'j-1', ...overrides };
}

async function sign(key: Uint8Array, payload: Claims, alg = 'HS256'): Promise<string> {
  return new SignJWT({ ...payload }).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
}

async function rest(token: string): Promise<{ status: number; code: string | undefined; www: string | null }> {
  const response = await fetch(`${running.url}${API}/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ email: `t${Math.random()}@example.com`, magiclink_auth_uri: REDIRECT }),
  });
  const body = (await response.json()) as { error?: { code?: string } };
  return { status: response.status, code: body.error?.code, www: response.headers.get('www-authenticate') };
}

async function grpc(token: string): Promise<{ code: Code | 'OK'; errorCode: string | undefined }> {
  const client = createRpcClient(
    PasswordlessService,
    createGrpcTransport({ baseUrl: running.url, interceptors: [(next) => (request) => (request.header.set('authorization', `Bearer ${token}`), next(request))] }),
  );
  try {
    await client.sendPasswordlessEmail({ email: `g${Math.random()}@example.com`, magiclinkAuthUri: REDIRECT });
    return { code: 'OK', errorCode: undefined };
  } catch (error) {
    const connect = ConnectError.from(error);
    return { code: connect.code, errorCode: connect.findDetails(ErrorInfoSchema)[0]?.errorCode };
  }
}

async function expectRefusedEverywhere(name: string, token: string): Promise<void> {
  expect(await rest(token), `${name} on REST`).toEqual({ status: 401, code: 'UNAUTHENTICATED', www: 'Bearer realm="sesame"' });
  expect(await grpc(token), `${name} on gRPC`).toEqual({ code: Code.Unauthenticated, errorCode: 'UNAUTHENTICATED' });
}

describe('access tokens', () => {
  it('a token we sign with the right key and claims is accepted (the control)', async () => {
    const key = deriveServerKeys(new TextEncoder().encode(SECRET)).accessToken;
    const token = await sign(key, claims());
    expect((await rest(token)).status).toBe(200);
    expect((await grpc(token)).code).toBe('OK');
  });

  it('forged, other-secret, alg none, other algorithms and wrong claims are refused on REST and gRPC', async () => {
    const real = await issue();
    const [header, payload, signature] = real.split('.') as [string, string, string];
    const key = deriveServerKeys(new TextEncoder().encode(SECRET)).accessToken;
    const otherKey = deriveServerKeys(new TextEncoder().encode('another-server-secret-0123456789abcdefghij')).accessToken;
    const other = await createClient(running.store, { key: running.sesame.clientSecretKey, name: 'other', redirectUris: [], now });

    const cases: Array<[string, string]> = [
      // Payload edited, signature kept: another client, a later expiry.
      ['forged subject', `${header}.${b64({ ...decode(payload), sub: other.record.id })}.${signature}`],
      ['forged expiry', `${header}.${b64({ ...decode(payload), exp: Number(decode(payload).exp) + 86_400 })}.${signature}`],
      ['signature of another token', `${header}.${payload}.${(await issue()).split('.')[2]!}`],
      ['truncated signature', `${header}.${payload}.${signature.slice(0, -2)}`],
      ['other secret', await sign(otherKey, claims())],
      ['raw server secret instead of the derived key', await sign(new TextEncoder().encode(SECRET), claims())],
      ['alg none, no signature', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
      ['alg none, real payload', `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`],
      ['alg none, real signature kept', `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`],
      ['HS512 with the right key', await sign(new Uint8Array(64).map((_, i) => key[i % key.length]!), claims(), 'HS512')],
      ['wrong issuer', await sign(key, claims({ iss: 'https://evil.example' }))],
      ['wrong audience', await sign(key, claims({ aud: 'another-api' }))],
      ['no expiry', await sign(key, { ...claims(), exp: undefined })],
      ['unknown client', await sign(key, claims({ sub: 'no-such-client' }))],
      ['not yet valid', await sign(key, { ...claims(), iat: Math.floor(now / 1000) + 3600, exp: Math.floor(now / 1000) + 7200, nbf: Math.floor(now / 1000) + 3600 } as Claims)],
      ['garbage', 'not.a.jwt'],
    ];
    for (const [name, token] of cases) await expectRefusedEverywhere(name, token);
    // The real token still works: the refusals above did not depend on a broken server.
    expect((await rest(real)).status).toBe(200);
  });

  it('expired tokens are refused, whether the server had cached them or not', async () => {
    const used = await issue();
    const unused = await issue();
    expect((await rest(used)).status).toBe(200);
    expect((await grpc(used)).code).toBe('OK');
    now += TTL * 1000 + 1000;
    try {
      await expectRefusedEverywhere('expired (cached)', used);
      await expectRefusedEverywhere('expired (never seen)', unused);
      expect((await rest(await issue())).status).toBe(200);
    } finally {
      now = Date.now();
    }
  });

  it('a revoked client’s unexpired token stops at once', async () => {
    const token = await issue();
    expect((await rest(token)).status).toBe(200);
    const victim = await createClient(running.store, { key: running.sesame.clientSecretKey, name: 'revoked', redirectUris: [], now });
    const key = deriveServerKeys(new TextEncoder().encode(SECRET)).accessToken;
    const victimToken = await sign(key, claims({ sub: victim.record.id }));
    expect((await rest(victimToken)).status).not.toBe(401);
    await running.store.revokeApiClient(victim.record.id, now);
    await expectRefusedEverywhere('revoked client', victimToken);
  });
});
