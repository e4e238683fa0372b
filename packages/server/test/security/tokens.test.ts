/**
 * Access tokens: expired (cached or not), forged (payload changed, signature kept),
 * signed with another secret (or with the raw server secret instead of its derived key),
 * `alg: none`, another HS algorithm, wrong issuer or audience, and a well-signed token for a
 * client that does not exist are all refused with 401 UNAUTHENTICATED on REST and gRPC (code 16,
 * ErrorInfo UNAUTHENTICATED). A token we sign ourselves with the right key and claims is
 * accepted, so the refusals are about the defect each token carries. Rotating a client's secret
 * (the dashboard's code and `sesame clients rotate`) or revoking it (the dashboard's code and
 * `sesame clients revoke`) refuses every token issued before, on every call of REST and gRPC (the
 * fast path and connect-node) and for the official Scalekit SDK. Real listening server on SQLite;
 * only the clock is ours.
 */
import { Code, ConnectError, createClient as createRpcClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { ScalekitClient } from '@scalekit-sdk/node';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordlessService } from '../../src/gen/scalekit/v1/auth/passwordless/passwordless_pb.js';
import { ErrorInfoSchema } from '../../src/gen/scalekit/v1/errdetails/errdetails_pb.js';
import { cliMain, createClient, deriveServerKeys, type RunningSesame } from '../../src/index.js';
import { revokeClient, rotateClientSecret } from '../../src/auth/api-clients.js';
import { API, REDIRECT, startInProcess } from './support.js';

const SECRET = 'tokens-suite-server-secret-0123456789abcdefghijklmnop';
const TTL = 3600;
let now = Date.now();
const clock = { now: () => now };
let server: Awaited<ReturnType<typeof startInProcess>>;
let running: RunningSesame;
let clientId: string;
let clientSecret: string;
/** The server's issuer, read from a token it issued. */
let issuer: string;

beforeAll(async () => {
  server = await startInProcess('sesame-tokens-', { SESAME_SECRET: SECRET, SESAME_TOKEN_TTL_SECONDS: String(TTL) }, { clock });
  running = server.running;
  const client = await createClient(running.store, { key: running.sesame.clientSecretKey, name: 'tokens', redirectUris: [REDIRECT], now });
  clientId = client.record.id;
  clientSecret = client.secret;
  issuer = String(decode((await issue()).split('.')[1]!).iss);
});
afterAll(async () => {
  await server.stop();
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
const decode = (part: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

interface Claims {
  iss?: string;
  aud?: string;
  sub?: string;
  iat?: number;
  exp?: number;
  jti?: string;
  sv?: number;
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
    createGrpcTransport({
      baseUrl: running.url,
      interceptors: [(next) => (request) => (request.header.set('authorization', `Bearer ${token}`), next(request))],
    }),
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
      [
        'HS512 with the right key',
        await sign(
          new Uint8Array(64).map((_, i) => key[i % key.length]!),
          claims(),
          'HS512',
        ),
      ],
      ['wrong issuer', await sign(key, claims({ iss: 'https://evil.example' }))],
      ['wrong audience', await sign(key, claims({ aud: 'another-api' }))],
      ['no expiry', await sign(key, { ...claims(), exp: undefined })],
      ['unknown client', await sign(key, claims({ sub: 'no-such-client' }))],
      [
        'not yet valid',
        await sign(key, {
          ...claims(),
          iat: Math.floor(now / 1000) + 3600,
          exp: Math.floor(now / 1000) + 7200,
          nbf: Math.floor(now / 1000) + 3600,
        } as Claims),
      ],
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

// ---- rotation and revocation end earlier tokens -----------------------------------------------

type Call = 'send' | 'verify' | 'resend';
type Transport = 'REST' | 'gRPC' | 'Connect';
const CALLS: readonly Call[] = ['send', 'verify', 'resend'];
const TRANSPORTS: readonly Transport[] = ['REST', 'gRPC', 'Connect'];

/** `OK` or the Sesame error code of one call with `token`, about the auth request `authRequestId`. */
async function callWith(transport: Transport, call: Call, token: string, authRequestId: string): Promise<string> {
  if (transport === 'REST') {
    const body =
      call === 'send'
        ? { email: `r${Math.random()}@example.com`, magiclink_auth_uri: REDIRECT }
        : call === 'verify'
          ? { auth_request_id: authRequestId, code: '000000' }
          : { auth_request_id: authRequestId };
    const response = await fetch(`${running.url}${API}/${call}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as { error?: { code?: string } };
    if (response.status === 401) expect(json.error?.code).toBe('UNAUTHENTICATED');
    return json.error?.code ?? 'OK';
  }
  const interceptors: Interceptor[] = [(next) => (request) => (request.header.set('authorization', `Bearer ${token}`), next(request))];
  // gRPC takes the fast path; the Connect protocol goes through connect-node's router.
  const rpcTransport =
    transport === 'gRPC'
      ? createGrpcTransport({ baseUrl: running.url, interceptors })
      : createConnectTransport({ baseUrl: running.url, httpVersion: '2', interceptors });
  const client = createRpcClient(PasswordlessService, rpcTransport);
  try {
    if (call === 'send') await client.sendPasswordlessEmail({ email: `g${Math.random()}@example.com`, magiclinkAuthUri: REDIRECT });
    else if (call === 'verify') await client.verifyPasswordlessEmail({ authCredential: { case: 'code', value: '000000' }, authRequestId });
    else await client.resendPasswordlessEmail({ authRequestId });
    return 'OK';
  } catch (error) {
    const connect = ConnectError.from(error);
    const code = connect.findDetails(ErrorInfoSchema)[0]?.errorCode ?? `grpc:${connect.code}`;
    if (code === 'UNAUTHENTICATED') expect(connect.code).toBe(Code.Unauthenticated);
    return code;
  }
}

async function tokenFor(id: string, secret: string): Promise<{ status: number; token: string | undefined }> {
  const response = await fetch(`${running.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
  });
  const body = (await response.json()) as { access_token?: string };
  return { status: response.status, token: body.access_token };
}

/** Every call on every transport: the codes, by `transport call`. */
async function everyCall(token: string, authRequestId: string): Promise<Record<string, string>> {
  const codes: Record<string, string> = {};
  for (const transport of TRANSPORTS)
    for (const call of CALLS) codes[`${transport} ${call}`] = await callWith(transport, call, token, authRequestId);
  return codes;
}

async function cli(...argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await cliMain(argv, {
    stdout: (t) => (stdout += t),
    stderr: () => undefined,
    env: { SESAME_DATA_DIR: server.dir, SESAME_SECRET: SECRET, SESAME_LOG_LEVEL: 'silent' },
  });
  return { code, stdout };
}

type Ending = 'rotate (dashboard)' | 'rotate (CLI)' | 'revoke (dashboard)' | 'revoke (CLI)';
const ENDINGS: readonly Ending[] = ['rotate (dashboard)', 'rotate (CLI)', 'revoke (dashboard)', 'revoke (CLI)'];

/** Ends the client's current tokens; answers the new secret after a rotation. */
async function end(ending: Ending, id: string): Promise<string | null> {
  const key = running.sesame.clientSecretKey;
  const author = { actor: 'root@example.com', at: now };
  switch (ending) {
    case 'rotate (dashboard)':
      return (await rotateClientSecret(running.store, { key, clientId: id, author }))!.secret;
    case 'rotate (CLI)': {
      const rotated = await cli('clients', 'rotate', id, '--json');
      expect(rotated.code).toBe(0);
      const printed = JSON.parse(rotated.stdout) as Record<string, string>;
      expect(Object.keys(printed)).toEqual(['client_id', 'client_secret']);
      return printed.client_secret!;
    }
    case 'revoke (dashboard)':
      expect((await revokeClient(running.store, { clientId: id, now, author }))?.revoked).toBe(true);
      return null;
    case 'revoke (CLI)':
      expect((await cli('clients', 'revoke', id)).code).toBe(0);
      return null;
  }
}

describe('rotation and revocation', () => {
  it.each(ENDINGS)(
    '%s refuses every token issued before it on REST, gRPC and Connect (after a rotation, a token of the new secret works)',
    async (ending) => {
      const created = await createClient(running.store, {
        key: running.sesame.clientSecretKey,
        name: ending,
        redirectUris: [REDIRECT],
        now,
      });
      const id = created.record.id;
      const issued = (await tokenFor(id, created.secret)).token!;
      const key = deriveServerKeys(new TextEncoder().encode(SECRET)).accessToken;
      // Tokens issued before the secret version was carried count as version 1.
      const unversioned = await sign(key, claims({ sub: id }));
      const versioned = await sign(key, claims({ sub: id, sv: 1, jti: 'j-versioned' }));
      const sent = await fetch(`${running.url}${API}/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${issued}` },
        body: JSON.stringify({ email: `own-${Math.random()}@example.com`, magiclink_auth_uri: REDIRECT }),
      });
      expect(sent.status).toBe(200);
      const { auth_request_id: authRequestId } = (await sent.json()) as { auth_request_id: string };

      const before = { issued, unversioned, versioned };
      for (const [name, token] of Object.entries(before)) {
        const codes = await everyCall(token, authRequestId);
        // Used (and so cached) before the change: the cache must not outlive it.
        for (const [where, code] of Object.entries(codes)) expect(code, `${name} before, ${where}`).not.toBe('UNAUTHENTICATED');
      }

      const newSecret = await end(ending, id);

      for (const [name, token] of Object.entries(before)) {
        const codes = await everyCall(token, authRequestId);
        for (const [where, code] of Object.entries(codes)) expect(code, `${name} after ${ending}, ${where}`).toBe('UNAUTHENTICATED');
      }
      expect((await tokenFor(id, created.secret)).status).toBe(401);
      if (newSecret === null) return;
      const fresh = await tokenFor(id, newSecret);
      expect(fresh.status).toBe(200);
      const codes = await everyCall(fresh.token!, authRequestId);
      expect(codes['REST send']).toBe('OK');
      for (const [where, code] of Object.entries(codes)) expect(code, `new token, ${where}`).not.toBe('UNAUTHENTICATED');
      // A token claiming a later version than the client has is refused too.
      await expectRefusedEverywhere('future version', await sign(key, claims({ sub: id, sv: 99 })));
    },
  );

  it('the official Scalekit SDK holding a token from before a rotation is refused; one with the new secret works', async () => {
    const created = await createClient(running.store, { key: running.sesame.clientSecretKey, name: 'sdk', redirectUris: [REDIRECT], now });
    const leaked = new ScalekitClient(running.url, created.record.id, created.secret);
    await expect(
      leaked.passwordless.sendPasswordlessEmail(`sdk-${Math.random()}@example.com`, { magiclinkAuthUri: REDIRECT }),
    ).resolves.toBeDefined();
    const rotated = await cli('clients', 'rotate', created.record.id, '--json');
    const { client_secret: newSecret } = JSON.parse(rotated.stdout) as { client_secret: string };
    // Its cached token is refused; its re-authentication with the old secret is refused too.
    const refused = await leaked.passwordless
      .sendPasswordlessEmail(`sdk-${Math.random()}@example.com`, { magiclinkAuthUri: REDIRECT })
      .then(
        () => 'sent',
        (error: unknown) => error,
      );
    expect(refused).not.toBe('sent');
    expect(String((refused as { response?: { status?: number } }).response?.status ?? refused)).toMatch(/401/);
    const current = new ScalekitClient(running.url, created.record.id, newSecret);
    await expect(
      current.passwordless.sendPasswordlessEmail(`sdk-${Math.random()}@example.com`, { magiclinkAuthUri: REDIRECT }),
    ).resolves.toBeDefined();
  });
});
