/**
 * What a bench:grpc phase runs: the operation over REST or gRPC, and for the verify phases the
 * pool of codes or links made beforehand by untimed REST sends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { postPasswordless, takeMail } from '../lib/bench-api.js';
import type { BenchServer } from '../lib/bench-server.js';
import { BENCH_REDIRECT as REDIRECT, OutOfWork, type Operation } from '../lib/closed-loop.js';
import type { Credential, GrpcClient } from './clients.js';
import { CONCURRENCY, DRAIN_MS, FILL_MS, POOL, REQUEST_TIMEOUT_MS, type OperationName } from './options.js';

export interface PoolItem {
  readonly authRequestId: string;
  readonly credential: Credential;
}

let sequence = 0;
const newEmail = () => `bench-grpc-${process.pid}-${++sequence}@example.com`;

const post = (target: BenchServer, action: 'send' | 'verify', body: unknown) => postPasswordless(target, action, body, REQUEST_TIMEOUT_MS);

export function restOperation(name: OperationName, target: BenchServer, pool: readonly PoolItem[]): Operation {
  if (name === 'send') {
    return async () => {
      const answer = await post(target, 'send', { email: newEmail(), magiclink_auth_uri: REDIRECT });
      return answer.status === 200 && typeof (JSON.parse(answer.body) as { auth_request_id?: unknown }).auth_request_id === 'string';
    };
  }
  let next = 0;
  return async () => {
    const item = pool[next++];
    if (item === undefined) throw new OutOfWork();
    const body =
      'code' in item.credential
        ? { code: item.credential.code, auth_request_id: item.authRequestId }
        : { link_token: item.credential.linkToken, auth_request_id: item.authRequestId };
    const answer = await post(target, 'verify', body);
    return answer.status === 200 && typeof (JSON.parse(answer.body) as { email?: unknown }).email === 'string';
  };
}

export function grpcOperation(name: OperationName, clients: readonly GrpcClient[], pool: readonly PoolItem[]): Operation {
  const pick = (index: number) => clients[index % clients.length]!;
  if (name === 'send') return async (index) => (await pick(index).send(newEmail())).length > 0;
  let next = 0;
  return async (index) => {
    const item = pool[next++];
    if (item === undefined) throw new OutOfWork();
    return (await pick(index).verify(item.credential, item.authRequestId)).length > 0;
  };
}

export interface FilledPool {
  readonly items: PoolItem[];
  readonly accepted: number;
  readonly sendMs: number;
  readonly drainMs: number;
}

/**
 * Untimed REST sends (up to POOL, for at most FILL_MS), then the captured codes or links from the
 * sidecar, until DRAIN_MS has passed; both shortened to fit `budgetMs` when the run is late.
 */
export async function fillPool(target: BenchServer, kind: 'otp' | 'link', budgetMs: number): Promise<FilledPool> {
  const t0 = performance.now();
  const sendUntil = t0 + Math.min(FILL_MS, budgetMs / 2);
  let sent = 0;
  let accepted = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (sent < POOL && performance.now() < sendUntil) {
        sent++;
        const answer = await post(target, 'send', { email: newEmail(), magiclink_auth_uri: REDIRECT }).catch(() => undefined);
        if (answer?.status === 200) accepted++;
      }
    }),
  );
  const t1 = performance.now();
  const drainUntil = t1 + Math.min(DRAIN_MS, t0 + budgetMs - t1);
  const items: PoolItem[] = [];
  // The sidecar waits for the outbox (up to `max` mails, 25 s at most); ask again while some are missing.
  while (items.length < accepted && performance.now() < drainUntil) {
    const mails = await takeMail(target, kind, accepted - items.length, 30_000).catch(() => undefined);
    if (mails === undefined) break;
    for (const mail of mails) {
      if (mail.auth_request_id === undefined) continue;
      if (kind === 'otp' && mail.otp !== undefined) items.push({ authRequestId: mail.auth_request_id, credential: { code: mail.otp } });
      if (kind === 'link' && mail.link_token !== undefined)
        items.push({ authRequestId: mail.auth_request_id, credential: { linkToken: mail.link_token } });
    }
    if (mails.length === 0) await sleep(200);
  }
  return { items, accepted, sendMs: t1 - t0, drainMs: performance.now() - t1 };
}
