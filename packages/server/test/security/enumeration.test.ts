/**
 * Enumeration, and SMTP off the request path. Send answers identically for every address,
 * whatever Sesame has seen of it: status, body keys and value types and length, header names.
 * And a stalled SMTP server (accepts the connection, never says a word) does not slow send
 * down: the same sends against a real `sesame start` child with a healthy SMTP server and with
 * a stalled one, latencies compared with a generous bound. The time to answer between address
 * states (new, known, locked, over the send limit) is `timing.test.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServerPackage, fetchAccessToken, startFaultySmtp, startSmtpCapture } from '@sesame/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIRECT, harness } from '../helpers.js';
import { callApi, createApiClient, percentile, sesameEnv, startChild, stopChildren, type Child } from './support.js';

afterAll(async () => {
  await stopChildren();
});

function headerNames(response: Response): string[] {
  const names: string[] = [];
  response.headers.forEach((_value, name) => names.push(name));
  return names;
}

/** What an observer can compare between two answers, values aside. */
function shape(response: Response, body: Record<string, unknown>, text: string) {
  return {
    status: response.status,
    headers: headerNames(response)
      .filter((name) => name !== 'date')
      .sort(),
    keys: Object.keys(body).sort(),
    types: Object.fromEntries(Object.entries(body).map(([k, v]) => [k, typeof v])),
    idLength: String(body.auth_request_id).length,
    bodyLength: text.length,
  };
}

describe('send answers the same for every address', () => {
  it('new, seen, verified, pending, OTP-capped, oddly spelt and unknown-domain addresses get the same answer', async () => {
    const h = await harness();
    try {
      const token = await h.token();
      const send = async (email: string) => {
        const response = await h.api('send', { email, magiclink_auth_uri: REDIRECT }, token);
        const text = await response.text();
        return { response, text, body: JSON.parse(text) as Record<string, unknown> };
      };

      // Prepare addresses in each state Sesame could know about.
      const verified = await send('verified@example.com');
      const { code } = await h.latestMail('verified@example.com');
      expect((await h.api('verify', { code, auth_request_id: verified.body.auth_request_id }, token)).status).toBe(200);
      await send('pending@example.com');
      const capped = await send('capped@example.com');
      for (let i = 0; i < 5; i += 1) await h.api('verify', { code: '000000', auth_request_id: capped.body.auth_request_id }, token);
      // Nine more locked requests take the address to its 50 failed codes a day.
      for (let round = 0; round < 9; round += 1) {
        h.clock.advance(30_000);
        const again = await send('capped@example.com');
        for (let i = 0; i < 5; i += 1) await h.api('verify', { code: '000000', auth_request_id: again.body.auth_request_id }, token);
      }
      const probe = await h.api('verify', { code: '000000', auth_request_id: capped.body.auth_request_id }, token);
      expect(probe.status).toBe(429);
      h.clock.advance(61_000); // every address is clear of the per-minute send limit

      const addresses = [
        'never.seen@example.com',
        'verified@example.com',
        'pending@example.com',
        'capped@example.com',
        'VERIFIED@Example.com',
        '  pending@example.com ',
        'nobody@no-such-domain.invalid',
        'ünïcode@example.com',
        'a@b.co',
      ];
      const shapes = [];
      for (const address of addresses) {
        const answer = await send(address);
        shapes.push({ address, ...shape(answer.response, answer.body, answer.text) });
      }
      const [first, ...rest] = shapes;
      expect(first!.status).toBe(200);
      for (const other of rest) expect({ ...other, address: first!.address }, other.address).toEqual(first);
    } finally {
      await h.close();
    }
  });
});

describe('a stalled SMTP server does not slow send', () => {
  it('send latency with a server that never answers is within a generous bound of a healthy one', async () => {
    await buildServerPackage();
    const healthy = await startSmtpCapture();
    const stalled = await startFaultySmtp({ kind: 'stall' });
    const dirs: string[] = [];
    const SENDS = 40;
    try {
      const measure = async (smtpUrl: string, label: string): Promise<{ latencies: number[]; child: Child }> => {
        const dir = mkdtempSync(join(tmpdir(), `sesame-timing-${label}-`));
        dirs.push(dir);
        const env = sesameEnv(dir, { SESAME_SMTP_URL: smtpUrl });
        const client = await createApiClient(env, dir);
        const child = await startChild(env, dir);
        const token = await fetchAccessToken(child.url, client);
        const latencies: number[] = [];
        // Warm-up (JIT, first connections), then the measured sends; distinct addresses.
        for (let i = 0; i < 5; i += 1)
          await callApi(child.url, token, 'send', { email: `warm${i}@example.com`, magiclink_auth_uri: REDIRECT });
        for (let i = 0; i < SENDS; i += 1) {
          const answer = await callApi(child.url, token, 'send', { email: `user${i}@example.com`, magiclink_auth_uri: REDIRECT });
          expect(answer.status).toBe(200);
          latencies.push(answer.ms);
        }
        return { latencies, child };
      };
      const good = await measure(healthy.url, 'healthy');
      await healthy.waitForMail('user39@example.com', 1, 15_000);
      await good.child.kill('SIGTERM');
      const bad = await measure(stalled.url, 'stalled');
      // The worker really is stuck on the stalled server while those sends were answered.
      expect(stalled.connections()).toBeGreaterThan(0);
      await bad.child.kill();

      const figures = (values: number[]) => ({ p50: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) });
      const g = figures(good.latencies);
      const b = figures(bad.latencies);
      console.info(
        `send latency over ${SENDS} sends (ms): healthy SMTP p50 ${g.p50.toFixed(1)} p95 ${g.p95.toFixed(1)} max ${g.max.toFixed(1)}; ` +
          `stalled SMTP p50 ${b.p50.toFixed(1)} p95 ${b.p95.toFixed(1)} max ${b.max.toFixed(1)} (${stalled.connections()} connections held by the stalled server)`,
      );
      // Generous: the machine is shared. A send that waited on SMTP would take ≥ the 10 s greeting timeout.
      expect(b.p50).toBeLessThan(Math.max(3 * g.p50, g.p50 + 50));
      expect(b.p95).toBeLessThan(Math.max(3 * g.p95, g.p95 + 200));
      expect(b.max).toBeLessThan(2_000);
    } finally {
      await healthy.close();
      await stalled.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
});
