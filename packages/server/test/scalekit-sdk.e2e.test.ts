/**
 * Drop-in compatibility: the official `@scalekit-sdk/node` (gRPC over h2c) against a real
 * `sesame start` child process with a real SMTP server, and the same scenarios over REST on the
 * same port, asserting the same stable codes. Only Sesame's URL differs from Scalekit usage.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ScalekitClient } from '@scalekit-sdk/node';
import {
  ScalekitBadRequestException,
  ScalekitNotFoundException,
  ScalekitServerException,
  ScalekitTooManyRequestsException,
} from '@scalekit-sdk/node/lib/errors/index.js';
import {
  createCredentialHasher,
  createPayloadSealer,
  defaultPolicy,
  generateId,
  cryptoRandom,
  sealOutboxPayload,
  type Policy,
  type Store,
} from '@sesame/core';
import { openStore } from '@sesame/storage';
import {
  createApiClientWithCli,
  isolatedSesameEnv,
  startSesameProcess,
  startSmtpCapture,
  type CapturedMail,
  type SesameProcess,
  type SmtpCapture,
} from '@sesame/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const LINK_URI = 'https://app.example.com/auth/verify';
const SECRET = randomBytes(32).toString('base64url');

let dataDir: string;
let smtp: SmtpCapture;
let child: SesameProcess | undefined;
let base: string;
let client: { client_id: string; client_secret: string };
let store: Store;
let sdk: ScalekitClient;

async function setPolicy(change: Partial<Policy>): Promise<void> {
  const policy = { ...defaultPolicy({ production: false }), emailsPerAddress: { max: 60, windowMs: 60_000 }, ...change };
  await store.putSetting('policy', JSON.stringify(policy), Date.now());
}

async function mailTo(to: string, count = 1): Promise<{ code: string | null; linkToken: string | null; mail: CapturedMail }> {
  const mail = await smtp.waitForMail(to, count);
  const text = mail.text ?? '';
  return { mail, code: /\b(\d{6})\b/.exec(text)?.[1] ?? null, linkToken: /link_token=([A-Za-z0-9_-]+)/.exec(text)?.[1] ?? null };
}

let seq = 0;
const address = (tag: string) => `${tag}-${++seq}-${Date.now()}@example.com`;

beforeAll(async () => {
  smtp = await startSmtpCapture();
  const isolated = isolatedSesameEnv('sesame-sdk-', {
    SESAME_SECRET: SECRET,
    SESAME_SMTP_URL: smtp.url,
    SESAME_MAIL_FROM: 'Acme <no-reply@acme.test>',
  });
  dataDir = isolated.dataDir;
  const env = isolated.env;
  client = await createApiClientWithCli({ cwd: dataDir, env, name: 'sdk', redirectUri: LINK_URI });

  child = await startSesameProcess({ env, cwd: dataDir });
  base = child.url;
  store = openStore(`file:${join(dataDir, 'sesame.db')}`);
  sdk = new ScalekitClient(base, client.client_id, client.client_secret);
}, 60_000);

afterAll(async () => {
  await store.close();
  await child?.stop();
  await smtp.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await setPolicy({});
});

describe('the official Scalekit SDK against Sesame', () => {
  it.each([
    ['SIGNIN', 'OTP'],
    ['SIGNIN', 'LINK'],
    ['SIGNIN', 'LINK_OTP'],
    ['SIGNUP', 'OTP'],
    ['SIGNUP', 'LINK'],
    ['SIGNUP', 'LINK_OTP'],
  ] as const)('sends %s / %s, with state and template variables, and verifies', async (template, type) => {
    await setPolicy({ passwordlessType: type });
    await store.putSetting(
      'email.templates',
      JSON.stringify({
        [template]: {
          subject: 'Welcome to {{team}}',
          html: '<p>{{team}} {{#otp}}code {{otp}}{{/otp}} {{#link}}<a href="{{link}}">go</a>{{/link}}</p>',
          text: '{{team}} {{#otp}}code {{otp}}{{/otp}} {{#link}}{{link}}{{/link}}',
        },
      }),
      Date.now(),
    );
    const email = address(`${template}-${type}`.toLowerCase());
    type SdkTemplate = NonNullable<Parameters<typeof sdk.passwordless.sendPasswordlessEmail>[1]>['template'];
    const sent = await sdk.passwordless.sendPasswordlessEmail(email, {
      // The SDK takes template names at run time (as Scalekit's docs write them); its types name only the enum.
      template: template as unknown as SdkTemplate,
      magiclinkAuthUri: LINK_URI,
      state: `state-${template}-${type}`,
      expiresIn: 300,
      templateVariables: { team: 'Acme Rockets' },
    });
    expect(sent.authRequestId).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}[A-Za-z0-9_-]{22}$/);
    expect(sent.expiresIn).toBe(300);
    expect(Number(sent.expiresAt)).toBeGreaterThan(Date.now() / 1000 + 290);
    expect(sent.passwordlessType).toBe({ OTP: 1, LINK: 2, LINK_OTP: 3 }[type]);
    const { mail, code, linkToken } = await mailTo(email);
    expect(mail.subject).toBe('Welcome to Acme Rockets');
    expect(code !== null).toBe(type !== 'LINK');
    expect(linkToken !== null).toBe(type !== 'OTP');

    const verified =
      code !== null
        ? await sdk.passwordless.verifyPasswordlessEmail({ code }, sent.authRequestId)
        : await sdk.passwordless.verifyPasswordlessEmail({ linkToken: linkToken! }, sent.authRequestId);
    expect(verified.email).toBe(email);
    expect(verified.state).toBe(`state-${template}-${type}`);
    expect(verified.template).toBe({ SIGNIN: 1, SIGNUP: 2 }[template]);
    expect(verified.passwordlessType).toBe({ OTP: 1, LINK: 2, LINK_OTP: 3 }[type]);
    await store.putSetting('email.templates', '{}', Date.now());
  });

  it('verifies a link with the auth request id under same-browser enforcement, and without it when enforcement is off', async () => {
    const email = address('link');
    const sent = await sdk.passwordless.sendPasswordlessEmail(email, { magiclinkAuthUri: LINK_URI });
    const { linkToken } = await mailTo(email);
    const refused = await sdk.passwordless.verifyPasswordlessEmail({ linkToken: linkToken! }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ScalekitBadRequestException);
    expect((refused as ScalekitServerException).errorCode).toBe('SAME_BROWSER_REQUIRED');
    // Not burned: it works with the id.
    await expect(sdk.passwordless.verifyPasswordlessEmail({ linkToken: linkToken! }, sent.authRequestId)).resolves.toMatchObject({ email });

    await setPolicy({ sameBrowserEnforcement: false });
    const other = address('link-off');
    await sdk.passwordless.sendPasswordlessEmail(other, { magiclinkAuthUri: LINK_URI });
    const second = await mailTo(other);
    await expect(sdk.passwordless.verifyPasswordlessEmail({ linkToken: second.linkToken! })).resolves.toMatchObject({ email: other });
  });

  it('resends: the new code works and the old one does not', async () => {
    const email = address('resend');
    const sent = await sdk.passwordless.sendPasswordlessEmail(email, { magiclinkAuthUri: LINK_URI });
    const first = await mailTo(email, 1);
    const again = await sdk.passwordless.resendPasswordlessEmail(sent.authRequestId);
    expect(again.authRequestId).toBe(sent.authRequestId);
    const second = await mailTo(email, 2);
    expect(second.linkToken).not.toBe(first.linkToken);
    if (second.code !== first.code) {
      const old = await sdk.passwordless.verifyPasswordlessEmail({ code: first.code! }, sent.authRequestId).catch((e: unknown) => e);
      expect((old as ScalekitServerException).errorCode).toBe('INVALID_CREDENTIAL');
    }
    await expect(sdk.passwordless.verifyPasswordlessEmail({ code: second.code! }, sent.authRequestId)).resolves.toMatchObject({ email });
  });

  it('a bad client secret surfaces as the raw 401 from /oauth/token', async () => {
    const wrong = new ScalekitClient(base, client.client_id, 'not-the-secret');
    const error = (await wrong.passwordless
      .sendPasswordlessEmail(address('bad'), { magiclinkAuthUri: LINK_URI })
      .catch((e: unknown) => e)) as {
      response?: { status: number; data: { error: string } };
    };
    expect(error.response?.status).toBe(401);
    expect(error.response?.data.error).toBe('invalid_client');
  });
});

/**
 * One table, two protocols: each scenario runs through the SDK (gRPC) and through REST; both
 * must give the same stable code, the SDK the right exception class, REST the right status.
 */
interface Scenario {
  readonly name: string;
  readonly code: string;
  readonly sdkClass: new (...args: never[]) => ScalekitServerException;
  readonly http: number;
  /** Prepares state and returns the call to make, as SDK call and REST body. */
  prepare(): Promise<{ sdk: () => Promise<unknown>; rest: { action: 'send' | 'verify' | 'resend'; body: Record<string, unknown> } }>;
}

async function restToken(): Promise<string> {
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function sendFresh(tag: string) {
  const email = address(tag);
  const sent = await sdk.passwordless.sendPasswordlessEmail(email, { magiclinkAuthUri: LINK_URI });
  const mail = await mailTo(email);
  return { email, id: sent.authRequestId, ...mail };
}

/** A six-digit code that is not `code`. */
function otherCode(code: string | null): string {
  return code === '000000' ? '111111' : '000000';
}

/** A fresh request after five wrong codes (the default attempts per request), so locked. */
async function lockedRequest(tag: string) {
  const sent = await sendFresh(tag);
  const wrong = otherCode(sent.code);
  for (let i = 0; i < 5; i++) await sdk.passwordless.verifyPasswordlessEmail({ code: wrong }, sent.id).catch(() => undefined);
  return { ...sent, wrong };
}

/** An auth request that expired a minute ago, written through the store as a send would have. */
async function expiredRequest(): Promise<{ id: string; code: string }> {
  const secret = new TextEncoder().encode(SECRET);
  const hasher = createCredentialHasher(secret);
  const id = generateId(cryptoRandom);
  const code = '314159';
  const created = Date.now() - 10 * 60_000;
  const outboxId = generateId(cryptoRandom);
  const result = await store.createAuthRequest({
    request: {
      id,
      clientId: client.client_id,
      email: 'expired@example.com',
      emailKey: 'expired@example.com',
      template: 'SIGNIN',
      type: 'OTP',
      magiclinkAuthUri: null,
      state: null,
      templateVariables: {},
      createdAt: created,
      expiresAt: created + 60_000,
      otpHash: await hasher.digest('otp', id, code),
      linkTokenHash: null,
      linkLookup: null,
    },
    email: {
      id: outboxId,
      authRequestId: id,
      createdAt: created,
      sealedPayload: await sealOutboxPayload(createPayloadSealer(secret), outboxId, { otp: code, linkToken: null }),
    },
    sendLimit: { max: 60, windowMs: 60_000 },
    budgets: [],
    now: created,
  });
  expect(result.ok).toBe(true);
  return { id, code };
}

/** One verify of auth request `id` with `code`, through the SDK and over REST. */
function verifyCalls(code: string, id: string): Awaited<ReturnType<Scenario['prepare']>> {
  return {
    sdk: () => sdk.passwordless.verifyPasswordlessEmail({ code }, id),
    rest: { action: 'verify', body: { code, auth_request_id: id } },
  };
}

const scenarios: Scenario[] = [
  {
    name: 'wrong code',
    code: 'INVALID_CREDENTIAL',
    sdkClass: ScalekitBadRequestException,
    http: 400,
    async prepare() {
      const { id, code } = await sendFresh('wrong');
      return verifyCalls(otherCode(code), id);
    },
  },
  {
    name: 'unknown auth request',
    code: 'AUTH_REQUEST_NOT_FOUND',
    sdkClass: ScalekitNotFoundException,
    http: 404,
    prepare() {
      return Promise.resolve({
        sdk: () => sdk.passwordless.resendPasswordlessEmail('no-such-request'),
        rest: { action: 'resend' as const, body: { auth_request_id: 'no-such-request' } },
      });
    },
  },
  {
    name: 'too many attempts',
    code: 'TOO_MANY_ATTEMPTS',
    sdkClass: ScalekitTooManyRequestsException,
    http: 429,
    async prepare() {
      const { id, code } = await lockedRequest('locked');
      return verifyCalls(code!, id);
    },
  },
  {
    name: 'send limit',
    code: 'SEND_LIMIT_EXCEEDED',
    sdkClass: ScalekitTooManyRequestsException,
    http: 429,
    async prepare() {
      await setPolicy({ emailsPerAddress: { max: 2, windowMs: 60_000 } });
      const email = address('limit');
      // Two sends fill the window; the SDK and REST calls are the third and fourth.
      await sdk.passwordless.sendPasswordlessEmail(email, { magiclinkAuthUri: LINK_URI });
      await sdk.passwordless.sendPasswordlessEmail(email, { magiclinkAuthUri: LINK_URI });
      return {
        sdk: () => sdk.passwordless.sendPasswordlessEmail(email, { magiclinkAuthUri: LINK_URI }),
        rest: { action: 'send', body: { email, magiclink_auth_uri: LINK_URI } },
      };
    },
  },
  {
    name: 'expired',
    code: 'EXPIRED',
    sdkClass: ScalekitBadRequestException,
    http: 400,
    async prepare() {
      const { id, code } = await expiredRequest();
      return verifyCalls(code, id);
    },
  },
  {
    name: 'already used',
    code: 'ALREADY_USED',
    sdkClass: ScalekitBadRequestException,
    http: 400,
    async prepare() {
      const { id, code } = await sendFresh('used');
      await sdk.passwordless.verifyPasswordlessEmail({ code: code! }, id);
      return verifyCalls(code!, id);
    },
  },
  {
    name: 'invalid argument',
    code: 'INVALID_ARGUMENT',
    sdkClass: ScalekitBadRequestException,
    http: 400,
    prepare() {
      return Promise.resolve({
        sdk: () => sdk.passwordless.sendPasswordlessEmail('not-an-email', { magiclinkAuthUri: LINK_URI, expiresIn: 5 }),
        rest: { action: 'send' as const, body: { email: 'not-an-email', magiclink_auth_uri: LINK_URI, expires_in: 5 } },
      });
    },
  },
  {
    name: 'redirect URI not allowed',
    code: 'REDIRECT_URI_NOT_ALLOWED',
    sdkClass: ScalekitBadRequestException,
    http: 400,
    prepare() {
      const email = address('redirect');
      return Promise.resolve({
        sdk: () => sdk.passwordless.sendPasswordlessEmail(email, { magiclinkAuthUri: 'https://evil.test/verify' }),
        rest: { action: 'send' as const, body: { email, magiclink_auth_uri: 'https://evil.test/verify' } },
      });
    },
  },
];

describe('the same stable codes over gRPC (SDK) and REST', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    const { sdk: viaSdk, rest } = await scenario.prepare();
    const error = await viaSdk().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(scenario.sdkClass);
    const sdkError = error as ScalekitServerException;
    expect(sdkError.errorCode).toBe(scenario.code);
    if (scenario.code === 'INVALID_ARGUMENT') {
      const fields = sdkError.unpackedDetails.flatMap((d) => d.validationErrorInfo?.fieldViolations.map((v) => v.field) ?? []);
      expect(fields).toEqual(expect.arrayContaining(['email', 'expires_in']));
    }

    const res = await fetch(`${base}/api/v1/passwordless/email/${rest.action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await restToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify(rest.body),
    });
    expect(res.status).toBe(scenario.http);
    const body = (await res.json()) as { error: { code: string; field_violations?: { field: string }[] } };
    expect(body.error.code).toBe(scenario.code);
    if (scenario.http === 429 && scenario.code === 'SEND_LIMIT_EXCEEDED') expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('TooManyRequests is not retried by the SDK: a locked request sees exactly one more call', async () => {
    const { id, wrong } = await lockedRequest('no-retry');
    const before = (await store.findAuthRequest(id, Date.now()))!.attempts;
    await expect(sdk.passwordless.verifyPasswordlessEmail({ code: wrong }, id)).rejects.toBeInstanceOf(ScalekitTooManyRequestsException);
    expect((await store.findAuthRequest(id, Date.now()))!.attempts).toBe(before);
  });
});

describe('HTTP/1.1 and HTTP/2 on one port', () => {
  it('serve a bounded mixed load at the same time without errors', async () => {
    await setPolicy({ emailsPerAddress: { max: 60, windowMs: 60_000 } });
    const token = await restToken();
    const rounds = 40;
    const rest = Array.from({ length: rounds }, async (_, i) => {
      const res = await fetch(`${base}/api/v1/passwordless/email/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ email: `mixed-rest-${i}@example.com`, magiclink_auth_uri: LINK_URI }),
      });
      const health = await fetch(`${base}/healthz`);
      return res.status === 200 && health.status === 200;
    });
    const grpc = Array.from({ length: rounds }, async (_, i) => {
      const sent = await sdk.passwordless.sendPasswordlessEmail(`mixed-grpc-${i}@example.com`, { magiclinkAuthUri: LINK_URI });
      return sent.authRequestId.length === 32;
    });
    const results = await Promise.all([...rest, ...grpc]);
    expect(results.filter(Boolean)).toHaveLength(rounds * 2);
  });
});
