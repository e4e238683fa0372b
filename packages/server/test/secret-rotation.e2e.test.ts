/**
 * Rotating SESAME_SECRET without an outage, on real `sesame start` children over one SQLite data
 * directory, with a real SMTP server that is down at first. Under secret A a bounded load of
 * sends (and wrong-code verifies) queues mail; the process is restarted with secret B and A in
 * SESAME_SECRET_FALLBACKS while the load keeps going; then SMTP comes up, every email accepted
 * before and after the restart is delivered and its code or link verifies. A last restart
 * without the fallback shows what only A could open is gone, except the client secret that was
 * re-hashed under B while the fallback was listed.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import {
  buildServerPackage,
  createApiClientWithCli,
  fetchAccessToken,
  freePort,
  isolatedSesameEnv,
  killStartedProcesses,
  requestAccessToken,
  startSesameProcess,
  startSmtpCapture,
  type ClientCredentials,
  type SesameProcess,
  type SmtpCapture,
} from '@sesame/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SECRET_A = randomBytes(32).toString('base64url');
const SECRET_B = randomBytes(32).toString('base64url');
const REDIRECT = 'https://app.example.com/auth/verify';
/** The load's bounds: at most this many sends, and it stops by this long after it began at the latest. */
const MAX_SENDS = 300;
const MAX_LOAD_MS = 20_000;

let smtp: SmtpCapture | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  await buildServerPackage();
});

afterAll(async () => {
  await killStartedProcesses();
  await smtp?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Sent {
  readonly id: string;
  readonly email: string;
}

/** REST calls to whichever process listens on `port` now (the same port across restarts). */
function apiAt(port: number) {
  const call = (action: string, token: string, body: unknown): Promise<Response> =>
    fetch(`http://127.0.0.1:${port}/api/v1/passwordless/email/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  return {
    call,
    async send(token: string, email: string): Promise<Sent> {
      const res = await call('send', token, { email, magiclink_auth_uri: REDIRECT });
      if (res.status !== 200) throw new Error(`send: ${res.status} ${await res.text()}`);
      return { id: ((await res.json()) as { auth_request_id: string }).auth_request_id, email };
    },
  };
}

/**
 * Sends with `token`, four at a time, until `stop()` or the bounds, and verifies a wrong code for
 * every fifth request (an attempt a user wastes). A connection refused while the process
 * restarts is counted and retried; every send that was answered 200 is kept.
 */
function startLoad(api: ReturnType<typeof apiAt>, token: string) {
  const accepted: Sent[] = [];
  const wrongCodeAnswers: number[] = [];
  let refused = 0;
  let stopped = false;
  const ends = Date.now() + MAX_LOAD_MS;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; !stopped && accepted.length < MAX_SENDS && Date.now() < ends; i++) {
      try {
        const sent = await api.send(token, `load-${w}-${i}@example.test`);
        accepted.push(sent);
        if (i % 5 === 0) wrongCodeAnswers.push((await api.call('verify', token, { auth_request_id: sent.id, code: '000000' })).status);
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
        // fetch failed: nothing listens during the restart.
        refused++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const done = Promise.all([0, 1, 2, 3].map(worker));
  return {
    accepted,
    wrongCodeAnswers,
    refused: () => refused,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

async function expectVerified(res: Response, email: string): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect((JSON.parse(text) as { email: string }).email).toBe(email);
}

describe('server secret rotation', () => {
  it('keeps tokens, client secrets, queued mail and open sign-ins across a rotation under load', { timeout: 150_000 }, async () => {
    const smtpPort = await freePort();
    const port = await freePort();
    const base = {
      // Nobody listens here until the capture starts on it: mail stays queued.
      SESAME_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      SESAME_CLIENT_SENDS_PER_MINUTE: '1000000',
      SESAME_SENDS_PER_MINUTE: '10000000',
      // Short, so mail a stopped process had claimed is claimed again soon after the restart.
      SESAME_OUTBOX_LEASE_MS: '4000',
    };
    const sesameA = isolatedSesameEnv('sesame-rotation-', { ...base, SESAME_SECRET: SECRET_A });
    dirs.push(sesameA.dataDir);
    // Logged at info: the start line names how many fallbacks there are, and no secret.
    const withFallback = { ...sesameA.env, SESAME_SECRET: SECRET_B, SESAME_SECRET_FALLBACKS: SECRET_A, SESAME_LOG_LEVEL: 'info' };
    const withoutFallback = { ...sesameA.env, SESAME_SECRET: SECRET_B };
    const redirectUri = 'https://app.example.com/auth/*';
    const client1: ClientCredentials = await createApiClientWithCli({ env: sesameA.env, name: 'used during rotation', redirectUri });
    const client2: ClientCredentials = await createApiClientWithCli({ env: sesameA.env, name: 'idle during rotation', redirectUri });
    const start = (env: NodeJS.ProcessEnv): Promise<SesameProcess> => startSesameProcess({ env, port, readyTimeoutMs: 20_000 });
    const url = `http://127.0.0.1:${port}`;
    const api = apiAt(port);

    // Secret A, SMTP down: the load queues mail.
    let sesame = await start(sesameA.env);
    const tokenA = await fetchAccessToken(url, client1);
    const beforeRestart = await api.send(tokenA, 'before-restart@example.test');
    const load = startLoad(api, tokenA);
    while (load.accepted.length < 60) await new Promise((resolve) => setTimeout(resolve, 20));

    // Restart with B and A as its fallback while the load keeps sending with the token issued under A.
    expect(await sesame.stop()).toBe(0);
    sesame = await start(withFallback);
    const sentBeforeRestart = load.accepted.length;
    const token1 = await requestAccessToken(url, client1);
    expect(token1.status).toBe(200);
    while (load.accepted.length < sentBeforeRestart + 40) await new Promise((resolve) => setTimeout(resolve, 20));
    await load.stop();
    expect(load.accepted.length).toBeLessThanOrEqual(MAX_SENDS);
    expect(load.wrongCodeAnswers.length).toBeGreaterThan(0);
    expect(new Set(load.wrongCodeAnswers)).toEqual(new Set([400]));

    // SMTP comes up: every email queued under A or B is delivered, once, and its credentials verify under B.
    smtp = await startSmtpCapture({ port: smtpPort, waitTimeoutMs: 60_000 });
    const all = [beforeRestart, ...load.accepted];
    await smtp.waitForCount(all.length);
    const newToken = token1.token!;
    const first = await smtp.waitForMail(beforeRestart.email);
    const linkToken = new URL(first.link!).searchParams.get('link_token')!;
    await expectVerified(
      await api.call('verify', newToken, { link_token: linkToken, auth_request_id: beforeRestart.id }),
      beforeRestart.email,
    );
    for (const sent of load.accepted) {
      expect(smtp.mailsTo(sent.email)).toHaveLength(1);
      const code = smtp.mailsTo(sent.email)[0]!.code;
      await expectVerified(await api.call('verify', newToken, { code, auth_request_id: sent.id }), sent.email);
    }
    // Some of those were accepted under A, before the restart; the token issued under A is still good.
    expect(sentBeforeRestart).toBeGreaterThanOrEqual(60);
    expect((await api.call('send', tokenA, { email: 'still@example.test', magiclink_auth_uri: REDIRECT })).status).toBe(200);

    // Without the fallback: client 1 was re-hashed under B when it got its token; client 2 never was.
    expect(await sesame.stop()).toBe(0);
    expect(sesame.output).toContain('"secretFallbacks":1');
    expect(sesame.output).not.toContain(SECRET_A);
    expect(sesame.output).not.toContain(SECRET_B);
    sesame = await start(withoutFallback);
    expect((await requestAccessToken(url, client1)).status).toBe(200);
    const refusedClient = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...client2 }),
    });
    expect(refusedClient.status).toBe(401);
    expect(((await refusedClient.json()) as { error: string }).error).toBe('invalid_client');
    const oldToken = await api.call('send', tokenA, { email: 'late@example.test', magiclink_auth_uri: REDIRECT });
    expect(oldToken.status).toBe(401);
    expect(((await oldToken.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    await api.send(newToken, 'after@example.test');
    expect(await sesame.stop()).toBe(0);
  });
});
