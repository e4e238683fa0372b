/**
 * Crash safety: `kill -9` of a real `sesame start` child at random moments of a
 * bounded load of sends and verifies, 20 times, restarting each time on the same SQLite file
 * with a real SMTP server receiving the mail. After the final restart:
 * - every send that was answered 200 has its email delivered (at least once; a message in
 *   flight at the kill may arrive twice, never zero times);
 * - no credential verified twice: each auth request had at most one 200 verify across all the
 *   processes, and every verified one now answers ALREADY_USED by code and by link;
 * - `PRAGMA integrity_check` is ok.
 * Kill moments come from a seeded generator (printed), so a failure can be replayed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServerPackage, fetchAccessToken, startSmtpCapture, waitUntil, type CapturedMail, type SmtpCapture } from '@sesame/testkit';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REDIRECT,
  callApi,
  createApiClient,
  credentialsOf,
  seeded,
  sesameEnv,
  sleep,
  startChild,
  stopChildren,
  type ApiClient,
} from './support.js';

const KILLS = 20;
const WORKERS = 6;
const SEED = Number(process.env.SESAME_CRASH_SEED ?? Date.now() % 1_000_000);

let dir: string;
let smtp: SmtpCapture;
let env: NodeJS.ProcessEnv;
let client: ApiClient;

/** address → the mails it received, kept up to date incrementally (scanning every mail on every poll starves the SMTP server in this process). */
const inbox = new Map<string, CapturedMail[]>();
let indexed = 0;
function mailsFor(address: string): CapturedMail[] {
  for (; indexed < smtp.mails.length; indexed += 1) {
    const mail = smtp.mails[indexed]!;
    const to = (Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : []).flatMap((group) =>
      group.value.map((entry) => entry.address ?? ''),
    );
    for (const recipient of to) inbox.set(recipient, [...(inbox.get(recipient) ?? []), mail]);
  }
  return inbox.get(address) ?? [];
}

beforeAll(async () => {
  await buildServerPackage();
  dir = mkdtempSync(join(tmpdir(), 'sesame-crash-'));
  smtp = await startSmtpCapture();
  // A short lease: rows a killed worker had claimed go out again 4 s later, not 2 min. The load
  // sends over a thousand emails a minute from one client: budgets above that refuse none of them.
  env = sesameEnv(dir, {
    SESAME_SMTP_URL: smtp.url,
    SESAME_OUTBOX_LEASE_MS: '4000',
    SESAME_DATABASE_URL: `file:${join(dir, 'sesame.db')}`,
    SESAME_LOG_LEVEL: process.env.SHOW ? 'info' : 'warn',
    SESAME_CLIENT_SENDS_PER_MINUTE: '100000',
    SESAME_SENDS_PER_MINUTE: '100000',
  });
  client = await createApiClient(env, dir);
});
afterAll(async () => {
  await stopChildren();
  await smtp.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kill -9 under load', () => {
  it(`${KILLS} kills at random moments lose no accepted email, verify nothing twice, keep the database intact`, async () => {
    const random = seeded(SEED);
    /** address → auth request id, for every send answered 200. */
    const accepted = new Map<string, string>();
    /** auth request id → number of 200 verifies seen, across every process. */
    const verifiedOk = new Map<string, number>();
    const verifiedCredentials = new Map<string, { code: string; linkToken: string }>();
    const tried = new Set<string>();
    let sendsAttempted = 0;
    let verifiesAttempted = 0;
    let cutMidRequest = 0;
    let next = 0;

    for (let round = 0; round <= KILLS; round += 1) {
      const child = await startChild(env, dir);
      const token = await fetchAccessToken(child.url, client);
      if (round === KILLS) {
        // The final restart: no kill, everything accepted must now arrive.
        const missing = (): string[] => [...accepted.keys()].filter((address) => mailsFor(address).length === 0);
        try {
          await waitUntil('every accepted email', () => missing().length === 0, 40_000, 25);
        } catch (error) {
          const db = new Database(join(dir, 'sesame.db'), { readonly: true });
          const rows = missing()
            .slice(0, 5)
            .map((address) =>
              db
                .prepare(
                  'SELECT o.*, a.status AS request_status FROM outbox o JOIN auth_requests a ON a.id = o.auth_request_id WHERE a.id = ?',
                )
                .all(accepted.get(address)),
            );
          db.close();
          throw new Error(
            `seed ${SEED}: ${missing().length} of ${accepted.size} accepted emails missing, e.g. ${JSON.stringify(rows).slice(0, 600)}\nlast process said: ${child.output.slice(-3000)}`,
            { cause: error },
          );
        }
        for (const [id, credentials] of verifiedCredentials) {
          const byCode = await callApi(child.url, token, 'verify', { code: credentials.code, auth_request_id: id });
          expect(byCode.code, `code of ${id}`).toBe('ALREADY_USED');
          const byLink = await callApi(child.url, token, 'verify', { link_token: credentials.linkToken, auth_request_id: id });
          expect(byLink.code, `link of ${id}`).toBe('ALREADY_USED');
        }
        await child.kill('SIGTERM');
        break;
      }

      const stopAt = performance.now() + 300 + random() * 1200;
      const controller = new AbortController();
      const aborted = (): boolean => controller.signal.aborted;
      const worker = async (): Promise<void> => {
        while (performance.now() < stopAt && !aborted()) {
          try {
            // Verify a delivered, not yet verified request when there is one; else send.
            const candidate = [...accepted].find(([address, id]) => !tried.has(id) && mailsFor(address).length > 0);
            const replay =
              verifiedCredentials.size > 0 && random() < 0.15
                ? [...verifiedCredentials][Math.floor(random() * verifiedCredentials.size)]!
                : null;
            if (replay) {
              // Replaying a credential that already verified, in this process or a killed one.
              const [id, credentials] = replay;
              verifiesAttempted += 1;
              const answer = await callApi(child.url, token, 'verify', { code: credentials.code, auth_request_id: id }, controller.signal);
              if (answer.status === 200) verifiedOk.set(id, (verifiedOk.get(id) ?? 0) + 1);
            } else if (candidate && random() < 0.6) {
              const [address, id] = candidate;
              tried.add(id);
              const credentials = credentialsOf(mailsFor(address)[0]!.text ?? '');
              const byLink = random() < 0.3;
              verifiesAttempted += 1;
              const answer = await callApi(
                child.url,
                token,
                'verify',
                byLink ? { link_token: credentials.linkToken, auth_request_id: id } : { code: credentials.code, auth_request_id: id },
                controller.signal,
              );
              if (answer.status === 200) {
                verifiedOk.set(id, (verifiedOk.get(id) ?? 0) + 1);
                verifiedCredentials.set(id, credentials);
              }
            } else {
              const address = `crash${next++}@example.com`;
              sendsAttempted += 1;
              const answer = await callApi(child.url, token, 'send', { email: address, magiclink_auth_uri: REDIRECT }, controller.signal);
              if (answer.status === 200) accepted.set(address, String(answer.body.auth_request_id));
              else throw new Error(`send answered ${answer.status} ${JSON.stringify(answer.body)}`);
            }
          } catch (error) {
            if (aborted() || (error instanceof TypeError && /fetch failed/.test(error.message))) {
              cutMidRequest += 1; // in flight at the kill: its outcome is unknown, and that is allowed
              return;
            }
            throw error;
          }
        }
      };
      const load = Promise.all(Array.from({ length: WORKERS }, () => worker()));
      await sleep(Math.max(0, stopAt - performance.now() - 50));
      await child.kill(); // SIGKILL while the workers are still sending and verifying
      controller.abort();
      await load;
      // A kill can also land just after a verify answered: that verify's row must not verify again.
      for (const [id] of accepted) {
        if ((verifiedOk.get(id) ?? 0) > 0) tried.add(id);
      }
      // Some requests the previous process did not verify get retried in later rounds.
      if (round % 4 === 3) for (const id of [...tried]) if (!verifiedOk.has(id)) tried.delete(id);
    }

    const integrity = new Database(join(dir, 'sesame.db'), { readonly: true });
    const check = integrity.pragma('integrity_check', { simple: true });
    const counts = integrity.prepare('SELECT status, count(*) AS n FROM outbox GROUP BY status').all();
    integrity.close();

    const doubleVerified = [...verifiedOk].filter(([, n]) => n > 1);
    const delivered = [...accepted.keys()].map((address) => mailsFor(address).length);
    const duplicates = delivered.filter((n) => n > 1).length;
    console.info(
      `crash test (seed ${SEED}): ${KILLS} kill -9s; ${sendsAttempted} sends attempted, ${accepted.size} accepted, all delivered ` +
        `(${duplicates} delivered twice after a kill mid-delivery); ${verifiesAttempted} verifies attempted, ${verifiedOk.size} succeeded, ` +
        `${doubleVerified.length} twice; ${cutMidRequest} requests cut by a kill; outbox ${JSON.stringify(counts)}; integrity_check ${String(check)}`,
    );
    expect(check).toBe('ok');
    expect(doubleVerified).toEqual([]);
    expect(accepted.size).toBeGreaterThan(KILLS * 3);
    expect(verifiedOk.size).toBeGreaterThanOrEqual(KILLS);
    expect(delivered.every((n) => n >= 1)).toBe(true);
  }, 170_000);
});
