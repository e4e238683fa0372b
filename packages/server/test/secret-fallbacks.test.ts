/**
 * SESAME_SECRET_FALLBACKS, one keyed thing at a time: what the current secret made is accepted,
 * what a fallback secret made is still accepted while it is listed, and what a fallback made is
 * refused once the fallback is removed. The checker always runs with secret B; the maker with B
 * (current) or A (the older secret). Real SQLite stores, the real engine and the real app.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOutboxPayload, SesameError, type CallerClient, type Store } from '@sesame/core';
import { openStore } from '@sesame/storage';
import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTokenService } from '../src/auth/access-tokens.js';
import { authenticateClient, createClient, hashClientSecret } from '../src/auth/api-clients.js';
import { deriveServerKeys } from '../src/auth/derived-keys.js';
import { CSRF_COOKIE, CSRF_HEADER, csrfProtection, csrfTokenFor } from '../src/admin/csrf.js';
import { createAdminSessions, openPending, sealPending } from '../src/admin/session.js';
import { createApp } from '../src/app.js';
import { resolveSecret } from '../src/auth/server-secret.js';
import { ConfigError, environmentHelp, loadConfig } from '../src/config.js';
import { TransportError } from '../src/http/error-handler.js';
import { createNodePayloadSealer } from '../src/passwordless/node-crypto.js';
import { movableClock, REDIRECT } from './helpers.js';

const A = randomBytes(40);
const B = randomBytes(40);
const CASES = [
  { made: 'with the current secret', maker: B, fallbacks: [A], accepted: true },
  { made: 'with a listed fallback secret', maker: A, fallbacks: [A], accepted: true },
  { made: 'with a removed fallback secret', maker: A, fallbacks: [], accepted: false },
] as const;
const ORIGIN = 'http://127.0.0.1:8080';
const CALLER: CallerClient = { id: 'client-1', redirectUris: [{ uri: REDIRECT, match: 'exact' }] };

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-fallbacks-'));
  store = openStore(`file:${join(dir, 'sesame.db')}`);
  await store.migrate();
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function app(secret: Uint8Array, fallbacks: readonly Uint8Array[] = []) {
  return createApp({
    store,
    secret,
    secretFallbacks: fallbacks,
    production: false,
    publicUrl: ORIGIN,
    devInbox: false,
    clock: movableClock(),
  });
}

/** Sends under `secret` and answers the request id with the code and link token from its sealed email. */
async function sendUnder(secret: Uint8Array) {
  const maker = app(secret);
  const sent = await maker.engine.send({ email: 'ada@example.com', template: 'SIGNIN', magiclinkAuthUri: REDIRECT }, CALLER);
  const [claim] = await store.claimOutbox({ owner: 'test', now: movableClock().now() + 1, leaseMs: 60_000, limit: 1 });
  const payload = await openOutboxPayload(maker.sealer, claim!.id, claim!.sealedPayload);
  return { id: sent.authRequestId, code: payload.otp!, linkToken: payload.linkToken! };
}

async function expectVerify(verifying: Promise<unknown>, accepted: boolean): Promise<void> {
  if (accepted) await expect(verifying).resolves.toMatchObject({ email: 'ada@example.com' });
  else await expect(verifying).rejects.toSatisfy((error) => error instanceof SesameError && error.code === 'INVALID_CREDENTIAL');
}

describe.each(CASES)('made $made', ({ maker, fallbacks, accepted }) => {
  const makerKeys = deriveServerKeys(maker);
  const checkerKeys = deriveServerKeys(B, fallbacks);

  it('an access token', async () => {
    const options = { issuer: ORIGIN, ttlSeconds: 600, clock: movableClock() };
    const issued = await createTokenService({ ...options, key: makerKeys.accessToken }).issue('client-1', 3);
    const checker = createTokenService({
      ...options,
      key: checkerKeys.accessToken,
      fallbackKeys: checkerKeys.fallbacks.map((k) => k.accessToken),
    });
    expect(await checker.verify(issued.accessToken)).toEqual(accepted ? { clientId: 'client-1', secretVersion: 3 } : null);
  });

  it('a client secret, stored again under the current key once it authenticates', async () => {
    const client = await createClient(store, { key: makerKeys.clientSecret, name: 'app', redirectUris: [], now: 1 });
    const fallbackKeys = checkerKeys.fallbacks.map((k) => k.clientSecret);
    const found = await authenticateClient(store, checkerKeys.clientSecret, client.record.id, client.secret, fallbackKeys);
    expect(found?.id ?? null).toBe(accepted ? client.record.id : null);
    expect(await authenticateClient(store, checkerKeys.clientSecret, client.record.id, 'wrong', fallbackKeys)).toBeNull();
    const stored = await store.findApiClient(client.record.id);
    const currentHash = hashClientSecret(checkerKeys.clientSecret, client.record.id, client.secret);
    expect(stored?.secretHash === currentHash).toBe(accepted);
    // Re-hashed, it no longer needs the fallback; its version (and so its tokens) stayed.
    expect(stored?.secretVersion).toBe(1);
    const withoutFallback = await authenticateClient(store, checkerKeys.clientSecret, client.record.id, client.secret);
    expect(withoutFallback?.id ?? null).toBe(accepted ? client.record.id : null);
  });

  it('a sealed outbox payload', async () => {
    const sealed = await createNodePayloadSealer(maker).seal('row-1', Buffer.from('{"otp":"123456"}'));
    const opening = createNodePayloadSealer(B, undefined, fallbacks).open('row-1', sealed);
    if (accepted) expect(Buffer.from(await opening).toString()).toBe('{"otp":"123456"}');
    else await expect(opening).rejects.toThrow();
  });

  it('the code of an open auth request, with a wrong code costing one try', async () => {
    const request = await sendUnder(maker);
    const checker = app(B, fallbacks);
    const wrong = request.code === '000000' ? '111111' : '000000';
    await expectVerify(checker.engine.verify({ authRequestId: request.id, code: wrong }, CALLER), false);
    expect((await store.findAuthRequest(request.id, Date.now()))?.attempts).toBe(1);
    await expectVerify(checker.engine.verify({ authRequestId: request.id, code: request.code }, CALLER), accepted);
  });

  it('the link token of an open auth request', async () => {
    const request = await sendUnder(maker);
    const checker = app(B, fallbacks);
    await expectVerify(checker.engine.verify({ authRequestId: request.id, linkToken: request.linkToken }, CALLER), accepted);
  });

  it('an admin session, which sign-out ends whichever key it was stored under', async () => {
    await store.addAdmin({ email: 'root@example.com', emailKey: 'root@example.com', createdAt: 1 });
    const clock = movableClock();
    const cookie = await createAdminSessions({ keys: makerKeys, clock, store }).issue({
      email: 'root@example.com',
      emailKey: 'root@example.com',
    });
    const checker = createAdminSessions({ keys: checkerKeys, clock, store });
    expect(await checker.verify(cookie)).toBe(accepted ? 'root@example.com' : null);
    await checker.end(cookie);
    expect(await checker.verify(cookie)).toBeNull();
    // A session only a removed fallback could find is out of reach, so sign-out cannot end it either.
    expect(await createAdminSessions({ keys: makerKeys, clock, store }).verify(cookie)).toBe(accepted ? null : 'root@example.com');
  });

  it('the admin sign-in pending cookie', () => {
    const cookie = sealPending(makerKeys.adminPending, 'auth-request-1');
    expect(openPending(checkerKeys, cookie)).toBe(accepted ? 'auth-request-1' : null);
  });

  it('a CSRF token', async () => {
    const routes = new Hono();
    routes.use(
      '*',
      csrfProtection(
        checkerKeys.csrf,
        ORIGIN,
        checkerKeys.fallbacks.map((k) => k.csrf),
      ),
    );
    routes.post('/admin/x', (c) => c.body(null, 204));
    routes.onError((error, c) => c.body(null, error instanceof TransportError ? error.status : 500));
    const cookie = randomBytes(32).toString('base64url');
    const post = (token: string) =>
      routes.request('/admin/x', { method: 'POST', headers: { cookie: `${CSRF_COOKIE}=${cookie}`, [CSRF_HEADER]: token, origin: ORIGIN } });
    expect((await post(csrfTokenFor(makerKeys.csrf, cookie))).status).toBe(accepted ? 204 : 403);
    expect((await post(csrfTokenFor(randomBytes(32), cookie))).status).toBe(403);
  });
});

describe('SESAME_SECRET_FALLBACKS in the configuration', () => {
  const secret = 'c'.repeat(40);
  const older = 'o'.repeat(40);
  const load = (fallbacks: string) => loadConfig({ SESAME_SECRET: secret, SESAME_SECRET_FALLBACKS: fallbacks });

  it('is a deduplicated list without the current secret, and empty when unset', () => {
    expect(load(` ${older} , ${secret},${older}`).secretFallbacks).toEqual([older]);
    expect(loadConfig({ SESAME_SECRET: secret }).secretFallbacks).toEqual([]);
    expect(resolveSecret({ ...load(older), dataDir: dir }).fallbacks.map((bytes) => Buffer.from(bytes).toString())).toEqual([older]);
    expect(environmentHelp()).toContain('SESAME_SECRET_FALLBACKS');
  });

  it('refuses a short entry by its position, never echoing a value', () => {
    const short = 'short-but-secret';
    let problems: readonly string[] = [];
    try {
      load(`${older},${short}`);
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    expect(problems).toEqual(['SESAME_SECRET_FALLBACKS entry 2 must be at least 32 characters']);
    expect(() => load(`${older},`)).toThrow(ConfigError);
  });
});
