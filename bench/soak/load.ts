/**
 * The soak's open-loop load: `rate` requests a second whatever their latency, sends to a reused
 * pool of addresses and verifies of the codes and links drained from the sidecar's mailbox.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { postPasswordless, takeMail, verifyBody, type CapturedMail } from '../lib/bench-api.js';
import type { BenchServer } from '../lib/bench-server.js';
import { ABANDON_AFTER_MS, ADDRESS_POOL, EXPIRES_IN_S, MAX_IN_FLIGHT, REQUEST_TIMEOUT_MS, SENDS_PER_20 } from './options.js';

interface Verifiable {
  readonly body: Record<string, string>;
  readonly at: number;
}

/** What one sampling interval saw; replaced at each sample. */
export interface Interval {
  requests: number;
  errors: number;
  latencies: number[];
}

export interface LoadState {
  readonly sendsPerSecond: Map<number, number>;
  sendsOk: number;
  verifiesOk: number;
  received: { otp: number; link: number };
  readonly verifiable: Verifiable[];
  abandoned: number;
  shed: number;
  skippedVerifies: number;
  inFlight: number;
  /** Failures by label (`send 429`, `verify timeout`, …). */
  readonly statuses: Map<string, number>;
  interval: Interval;
  stopping: boolean;
}

export function newState(): LoadState {
  return {
    sendsPerSecond: new Map(),
    sendsOk: 0,
    verifiesOk: 0,
    received: { otp: 0, link: 0 },
    verifiable: [],
    abandoned: 0,
    shed: 0,
    skippedVerifies: 0,
    inFlight: 0,
    statuses: new Map(),
    interval: { requests: 0, errors: 0, latencies: [] },
    stopping: false,
  };
}

/** Half the requests are verified by code, half by link: which one is decided by the id. */
const byCode = (authRequestId: string): boolean => authRequestId.charCodeAt(authRequestId.length - 1) % 2 === 0;

/** Drains one kind of the sidecar's mailbox into the verify queue for as long as the load runs. */
export async function drainMailbox(server: BenchServer, kind: 'otp' | 'link', state: LoadState): Promise<void> {
  while (!state.stopping) {
    // Ask for exactly what is owed: the sidecar answers as soon as that many have arrived.
    const owed = Math.min(200_000, state.sendsOk - state.received[kind]);
    if (owed <= 0) {
      await sleep(100);
      continue;
    }
    let mails: CapturedMail[];
    try {
      mails = await takeMail(server, kind, owed, REQUEST_TIMEOUT_MS);
    } catch {
      // The sidecar is busy or (at the end) gone; the loop's condition decides.
      await sleep(500);
      continue;
    }
    state.received[kind] += mails.length;
    const now = performance.now();
    for (const mail of mails) {
      if (byCode(mail.auth_request_id ?? '') === (kind === 'otp')) state.verifiable.push({ body: verifyBody(mail), at: now });
    }
    await sleep(100);
  }
}

function record(state: LoadState, label: string, ok: boolean, ms: number): void {
  state.interval.requests += 1;
  state.interval.latencies.push(ms);
  if (!ok) {
    state.interval.errors += 1;
    state.statuses.set(label, (state.statuses.get(label) ?? 0) + 1);
  }
}

const failure = (error: unknown): string => (error instanceof Error ? error.message : 'error');

async function sendOne(server: BenchServer, state: LoadState, index: number): Promise<void> {
  const email = `soak-${index % ADDRESS_POOL}@example.com`;
  const started = performance.now();
  const second = Math.floor(Date.now() / 1000);
  try {
    const body = { email, magiclink_auth_uri: 'http://localhost:3000/verify', expires_in: EXPIRES_IN_S };
    const answer = await postPasswordless(server, 'send', body, REQUEST_TIMEOUT_MS);
    record(state, `send ${answer.status}`, answer.status === 200, performance.now() - started);
    if (answer.status === 200) {
      state.sendsOk += 1;
      state.sendsPerSecond.set(second, (state.sendsPerSecond.get(second) ?? 0) + 1);
    }
  } catch (error) {
    record(state, `send ${failure(error)}`, false, performance.now() - started);
  }
}

async function verifyOne(server: BenchServer, state: LoadState): Promise<void> {
  const now = performance.now();
  let item = state.verifiable.shift();
  while (item && now - item.at > ABANDON_AFTER_MS) {
    state.abandoned += 1;
    item = state.verifiable.shift();
  }
  if (!item) {
    state.skippedVerifies += 1;
    return;
  }
  const started = performance.now();
  try {
    const answer = await postPasswordless(server, 'verify', item.body, REQUEST_TIMEOUT_MS);
    record(state, `verify ${answer.status}`, answer.status === 200, performance.now() - started);
    if (answer.status === 200) state.verifiesOk += 1;
  } catch (error) {
    record(state, `verify ${failure(error)}`, false, performance.now() - started);
  }
}

/**
 * Issues `rate` requests a second until `until` (performance.now()), whatever their latency.
 * Resolves at the deadline with the requests still in flight.
 */
export async function runOpenLoop(server: BenchServer, state: LoadState, rate: number, until: number): Promise<Set<Promise<void>>> {
  const start = performance.now();
  let issued = 0;
  const running = new Set<Promise<void>>();
  while (!state.stopping && performance.now() < until) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate) - issued;
    for (let i = 0; i < due; i++) {
      const index = issued++;
      if (state.inFlight >= MAX_IN_FLIGHT) {
        state.shed += 1;
        continue;
      }
      state.inFlight += 1;
      const op = (index % 20 < SENDS_PER_20 ? sendOne(server, state, index) : verifyOne(server, state)).finally(() => {
        state.inFlight -= 1;
        running.delete(op);
      });
      running.add(op);
    }
    await sleep(5);
  }
  return running;
}

/** Waits (at most 10 s) for the requests still in flight; how long it took, or null when cut. */
export async function settle(running: Set<Promise<void>>): Promise<number | null> {
  const started = performance.now();
  const done = await Promise.race([Promise.all(running).then(() => true), sleep(10_000, false)]);
  return done ? performance.now() - started : null;
}

/** Sends answered since `seconds` ago (whole seconds, so at most one second more than asked). */
export function sendsSince(state: LoadState, seconds: number): number {
  const from = Math.floor(Date.now() / 1000) - Math.ceil(seconds);
  let total = 0;
  for (const [second, count] of state.sendsPerSecond) {
    if (second >= from) total += count;
    else if (second < from - 600) state.sendsPerSecond.delete(second);
  }
  return total;
}
