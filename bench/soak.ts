/**
 * `npm run bench:soak`: a steady load for a long while against one Sesame (the bench server,
 * bench/sesame/server.mjs: real startSesame on SQLite, capturing transport), to show the
 * the two things the expiry sweeper is for:
 *   - the tables stay bounded: auth_requests, outbox and delivery_events plateau once requests
 *     start expiring (short expiry, SESAME_RETENTION_SECONDS=0, a short sweep interval);
 *   - the server's RSS stays flat (last minute within 10 % of the first minute after warm-up).
 *
 *   npm run bench:soak                      # 10 minutes at 500 req/s
 *   npm run bench:soak -- --minutes 2       # shorter (1–60; the run is cut at minutes + 2)
 *   npm run bench:soak -- --rate 300 --sweep-ms 5000
 *
 * Load is open-loop at a fixed rate (not closed-loop: a soak must hold the same load whatever
 * the latency): 55 % sends (expires_in 60 s, the policy minimum, to a pool of addresses reused
 * every few minutes as real users are), 45 % verifies of the codes and links drained from the
 * sidecar's mailbox, half by code and half by link; the other ~18 % of requests are abandoned
 * and simply expire, as unfinished sign-ins do. Every 10 s: server RSS and CPU, the interval's
 * req/s and p99, and the row counts, read through a read-only SQLite connection to the server's
 * own database file (found in /proc/<pid>/fd; the bench server keeps it in a temp dir).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { fmt, markdownTable } from './lib/closed-loop.js';
import { processCpu, processRssMiB } from './lib/proc-cpu.js';
import { SERVER_NODE_FLAGS } from '../bin/node-flags.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(HERE, 'sesame/server.mjs');
const SAMPLE_MS = 10_000;
const EXPIRES_IN_S = 60;
/**
 * A send counts toward the per-address limit for the policy's send window (60 s by default)
 * through its auth request, and the sweeper keeps a request until it is two windows old
 * (packages/server/src/ops/sweeper.ts, LOG_RETENTION_WINDOWS) even when it expired before.
 */
const KEPT_FOR_SEND_LIMIT_S = 2 * 60;
/** How long a request's rows may live here: its expiry or the send-limit keep, whichever is longer. */
const ROW_LIFETIME_S = Math.max(EXPIRES_IN_S, KEPT_FOR_SEND_LIMIT_S);
/** Sends per cycle of 20 requests; the rest are verifies. */
const SENDS_PER_20 = 11;
/** An item not verified within this long is an abandoned sign-in (it expires at 60 s). */
const ABANDON_AFTER_MS = 30_000;
/** Each address sends at most once per pool / send rate seconds: under the 2-per-minute limit at 500 req/s. */
const ADDRESS_POOL = 50_000;
/** Open-loop shedding: beyond this many requests in flight, due requests are dropped (and counted). */
const MAX_IN_FLIGHT = 512;
const TABLES = ['auth_requests', 'outbox', 'delivery_events', 'send_log', 'otp_failures'] as const;
type Table = (typeof TABLES)[number];

interface Options {
  readonly minutes: number;
  readonly rate: number;
  readonly sweepMs: number;
  readonly port: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      rate: { type: 'string', default: '500' },
      'sweep-ms': { type: 'string', default: '2000' },
      port: { type: 'string', default: '4760' },
    },
  });
  const number = (name: string, value: string, min: number, max: number): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be between ${min} and ${max}`);
    return n;
  };
  return {
    minutes: number('minutes', values.minutes, 1, 60),
    rate: number('rate', values.rate, 10, 5_000),
    sweepMs: number('sweep-ms', values['sweep-ms'], 100, 60_000),
    port: number('port', values.port, 1_024, 65_000),
  };
}

// ---- the server ----------------------------------------------------------------------------

interface Target {
  readonly child: ChildProcess;
  readonly url: URL;
  readonly sidecar: URL;
  readonly pid: number;
  readonly token: string;
  /** Warn/error log lines the server printed (a failing sweep shows up here). */
  readonly complaints: string[];
}

function startTarget(options: Options): Promise<Target> {
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, SERVER, String(options.port)], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(options.port),
      SESAME_LOG_LEVEL: 'warn',
      SESAME_RETENTION_SECONDS: '0',
      SESAME_SWEEP_INTERVAL_MS: String(options.sweepMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const complaints: string[] = [];
  return new Promise((resolve, reject) => {
    let buffered = '';
    let ready = false;
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`server: ${chunk.toString()}`));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!ready && line.startsWith('READY ')) {
          ready = true;
          const info = JSON.parse(line.slice(6)) as { url: string; sidecar: string; pid: number; token: string };
          resolve({ child, url: new URL(info.url), sidecar: new URL(info.sidecar), pid: info.pid, token: info.token, complaints });
        } else if (line.trim() !== '') {
          complaints.push(line);
        }
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (!ready) reject(new Error(`bench server exited with ${code} before READY`));
    });
  });
}

async function stopTarget(target: Target): Promise<void> {
  if (target.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => target.child.once('exit', () => resolve()));
  target.child.kill('SIGTERM');
  const killer = setTimeout(() => target.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(killer);
}

/** The server's SQLite file, from its open file descriptors (the bench server picks a temp dir). */
function databaseFileOf(pid: number): string {
  const dir = `/proc/${pid}/fd`;
  for (const fd of readdirSync(dir)) {
    let target: string;
    try {
      target = readlinkSync(`${dir}/${fd}`);
    } catch {
      continue;
    }
    if (target.endsWith('.db')) return target;
  }
  throw new Error(`no open .db file in ${dir}`);
}

function rowCounter(file: string): { counts(): Record<Table, number>; usedMiB(): number; close(): void } {
  // Read-only and one statement per count: a WAL reader never blocks the server's writers, and
  // a short read transaction holds back its checkpoints only for the count's milliseconds.
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const statements = TABLES.map((table) => [table, db.prepare(`SELECT count(*) AS n FROM ${table}`)] as const);
  return {
    counts() {
      const result = {} as Record<Table, number>;
      for (const [table, statement] of statements) {
        try {
          result[table] = (statement.get() as { n: number }).n;
        } catch {
          // SQLITE_BUSY while the server's checkpointer resets the WAL: this sample shows '-'.
          result[table] = NaN;
        }
      }
      return result;
    },
    /** Pages in use (not on the freelist): what the server's page cache can hold of this file. */
    usedMiB() {
      try {
        const pages = (db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number);
        return (pages * (db.pragma('page_size', { simple: true }) as number)) / 2 ** 20;
      } catch {
        return NaN;
      }
    },
    close: () => db.close(),
  };
}

// ---- HTTP ----------------------------------------------------------------------------------

// Idle sockets are dropped after 4 s, before the server's 5 s keep-alive timeout closes them:
// otherwise a request sent on a socket the server is closing fails with ECONNRESET.
const agent = new http.Agent({ keepAlive: true, maxSockets: 128, timeout: 4_000 });

function request(url: URL, method: 'GET' | 'POST', token: string | null, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: {
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

// ---- load ----------------------------------------------------------------------------------

interface Verifiable {
  readonly body: Record<string, string>;
  readonly at: number;
}

interface Interval {
  requests: number;
  errors: number;
  latencies: number[];
}

interface LoadState {
  readonly sendsPerSecond: Map<number, number>;
  sendsOk: number;
  verifiesOk: number;
  received: { otp: number; link: number };
  readonly verifiable: Verifiable[];
  abandoned: number;
  shed: number;
  skippedVerifies: number;
  inFlight: number;
  readonly statuses: Map<string, number>;
  interval: Interval;
  stopping: boolean;
}

function newState(): LoadState {
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
async function drainMailbox(target: Target, kind: 'otp' | 'link', state: LoadState): Promise<void> {
  while (!state.stopping) {
    // Ask for exactly what is owed: the sidecar answers as soon as that many have arrived.
    const owed = Math.min(200_000, state.sendsOk - state.received[kind]);
    if (owed <= 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    let items: { otp?: string; link_token?: string; auth_request_id: string }[];
    try {
      const res = await request(new URL(`/mailbox/${kind}?max=${owed}`, target.sidecar), 'GET', null);
      items = JSON.parse(res.text) as typeof items;
    } catch {
      // The sidecar is busy or (at the end) gone; the loop's condition decides.
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    state.received[kind] += items.length;
    const now = performance.now();
    for (const item of items) {
      if (kind === 'otp' && byCode(item.auth_request_id)) {
        state.verifiable.push({ body: { code: item.otp!, auth_request_id: item.auth_request_id }, at: now });
      } else if (kind === 'link' && !byCode(item.auth_request_id)) {
        state.verifiable.push({ body: { link_token: item.link_token!, auth_request_id: item.auth_request_id }, at: now });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
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

async function sendOne(target: Target, state: LoadState, index: number): Promise<void> {
  const email = `soak-${index % ADDRESS_POOL}@example.com`;
  const started = performance.now();
  const second = Math.floor(Date.now() / 1000);
  try {
    const res = await request(new URL('/api/v1/passwordless/email/send', target.url), 'POST', target.token, {
      email,
      magiclink_auth_uri: 'http://localhost:3000/verify',
      expires_in: EXPIRES_IN_S,
    });
    record(state, `send ${res.status}`, res.status === 200, performance.now() - started);
    if (res.status === 200) {
      state.sendsOk += 1;
      state.sendsPerSecond.set(second, (state.sendsPerSecond.get(second) ?? 0) + 1);
    }
  } catch (error) {
    record(state, `send ${error instanceof Error ? error.message : 'error'}`, false, performance.now() - started);
  }
}

async function verifyOne(target: Target, state: LoadState): Promise<void> {
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
    const res = await request(new URL('/api/v1/passwordless/email/verify', target.url), 'POST', target.token, item.body);
    record(state, `verify ${res.status}`, res.status === 200, performance.now() - started);
    if (res.status === 200) state.verifiesOk += 1;
  } catch (error) {
    record(state, `verify ${error instanceof Error ? error.message : 'error'}`, false, performance.now() - started);
  }
}

/**
 * Issues `rate` requests a second until `until` (performance.now()), whatever their latency.
 * Resolves at the deadline with the requests still in flight.
 */
async function runOpenLoop(target: Target, state: LoadState, rate: number, until: number): Promise<Set<Promise<void>>> {
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
      const op = (index % 20 < SENDS_PER_20 ? sendOne(target, state, index) : verifyOne(target, state)).finally(() => {
        state.inFlight -= 1;
        running.delete(op);
      });
      running.add(op);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return running;
}

/** Waits (at most 10 s) for the requests still in flight; how long it took, or null when cut. */
async function settle(running: Set<Promise<void>>): Promise<number | null> {
  const started = performance.now();
  const done = await Promise.race([
    Promise.all(running).then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000)),
  ]);
  return done ? performance.now() - started : null;
}

// ---- samples and verdict -------------------------------------------------------------------

interface Sample {
  readonly t: number;
  readonly rps: number;
  readonly p99: number;
  readonly errors: number;
  readonly cpuPct: number;
  readonly rssMiB: number;
  readonly rows: Record<Table, number>;
  readonly anonMiB: number;
  readonly dbUsedMiB: number;
  readonly outboxDepth: number;
  /** Sends answered in the window whose rows may still be in the table (the bound on auth_requests). */
  readonly bound: number;
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Sends answered since `seconds` ago (whole seconds, so at most one second more than asked). */
function sendsSince(state: LoadState, seconds: number): number {
  const from = Math.floor(Date.now() / 1000) - Math.ceil(seconds);
  let total = 0;
  for (const [second, count] of state.sendsPerSecond) {
    if (second >= from) total += count;
    else if (second < from - 600) state.sendsPerSecond.delete(second);
  }
  return total;
}

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

/** Least-squares slope of `value` per minute over the samples. */
function slope(samples: readonly Sample[], value: (s: Sample) => number): number {
  const xs = samples.map((s) => s.t / 60);
  const ys = samples.map(value);
  const mx = mean(xs);
  const my = mean(ys);
  const sxx = xs.reduce((sum, x) => sum + (x - mx) ** 2, 0);
  return xs.reduce((sum, x, i) => sum + (x - mx) * (ys[i]! - my), 0) / sxx;
}

const slopeText = (samples: readonly Sample[], value: (s: Sample) => number): string => {
  const perMinute = slope(samples, value);
  return `${perMinute >= 0 ? '+' : ''}${fmt(perMinute, 2)} MiB/min`;
};

/** Anonymous resident memory of a process in MiB (RssAnon: heaps, not code or mapped files), NaN once gone. */
function processAnonMiB(pid: number): number {
  try {
    const match = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function verdict(samples: readonly Sample[], options: Options, warmUpS: number, state: LoadState): string[] {
  const steady = samples.filter((s) => s.t > warmUpS);
  const lines: string[] = [];
  if (steady.length < 3) return [`Too short for a verdict: ${steady.length} sample(s) after the ${warmUpS} s warm-up.`];

  // RSS: the first minute after warm-up against the last minute (halves of the steady part when it is shorter).
  const window = Math.max(1, Math.min(Math.round(60_000 / SAMPLE_MS), Math.floor(steady.length / 2)));
  const first = mean(steady.slice(0, window).map((s) => s.rssMiB));
  const last = mean(steady.slice(-window).map((s) => s.rssMiB));
  const change = (last / first - 1) * 100;
  lines.push(
    `RSS: ${fmt(first)} MiB over the first ${window * 10} s after warm-up → ${fmt(last)} MiB over the last ${window * 10} s: ` +
      `${change >= 0 ? '+' : ''}${fmt(change)} % (target within ±10 %) → ${Math.abs(change) <= 10 ? 'MET' : 'NOT MET'}`,
  );
  // SQLite's page cache (cache_size 64 MiB, packages/storage/src/sqlite/store.ts) keeps the pages
  // the server touched: RSS may grow with the file up to that cap without a leak. The slopes set the two side by side; anonymous
  // memory (JS heap, SQLite's cache, malloc) is split from file-backed (code, the WAL index).
  lines.push(
    `Trend after warm-up: RSS ${slopeText(steady, (s) => s.rssMiB)} (anonymous ${slopeText(steady, (s) => s.anonMiB)}), ` +
      `database pages in use ${slopeText(steady, (s) => s.dbUsedMiB)}, send_log ${fmt(
        slope(steady, (s) => s.rows.send_log),
        0,
      )} rows/min`,
  );

  // Rows: a hard bound, whatever the achieved rate did. With retention 0 a request lives its
  // ROW_LIFETIME_S (120 s: kept two send windows for the send limit), plus at most one sweep
  // interval (and a pass's duration) before a pass deletes it, so auth_requests and outbox (one
  // email per request, no resends here) can never exceed the sends answered in the last
  // ROW_LIFETIME_S + interval + 2 s of slack.
  const overBound = steady.filter((s) => s.rows.auth_requests > s.bound || s.rows.outbox > s.bound);
  lines.push(
    `Bounded: auth_requests and outbox ≤ the sends of the last ${ROW_LIFETIME_S} s + sweep interval + 2 s at every sample after warm-up ` +
      `(${steady.length - overBound.length}/${steady.length}) → ${overBound.length === 0 ? 'MET' : 'NOT MET'}`,
  );
  // Plateau, as asked: the highest count of the last third against the middle third. The counts
  // follow the achieved send rate, so a noisy machine moves this ratio, not the bound above.
  const third = Math.floor(steady.length / 3);
  if (third >= 1) {
    for (const table of ['auth_requests', 'outbox', 'delivery_events'] as const) {
      const middle = Math.max(...steady.slice(third, 2 * third).map((s) => s.rows[table]));
      const end = Math.max(...steady.slice(-third).map((s) => s.rows[table]));
      lines.push(
        `Plateau ${table}: max of the last third ${end} vs the middle third ${middle} = ${fmt(end / middle, 2)} (≤ 1.10) → ${end <= 1.1 * middle ? 'MET' : 'NOT MET'}`,
      );
    }
  }
  const lastSample = samples[samples.length - 1]!;
  lines.push(
    `send_log: ${lastSample.rows.send_log} rows: it holds resends only (this load makes none; a send counts through its ` +
      `auth request); otp_failures keeps two failed-code windows (this load makes no failed attempts).`,
  );
  const achieved = mean(steady.map((s) => s.rps));
  lines.push(
    `Load: ${fmt(achieved, 0)} req/s after warm-up (target ${options.rate}); ${state.sendsOk} sends and ${state.verifiesOk} verifies ok, ` +
      `${state.abandoned} sign-ins abandoned, ${state.skippedVerifies} verifies skipped (no code yet), ${state.shed} requests shed (over ${MAX_IN_FLIGHT} in flight).`,
  );
  if (state.statuses.size > 0) lines.push(`Failures: ${[...state.statuses].map(([label, n]) => `${label} ×${n}`).join(', ')}`);
  return lines;
}

/** The server's own count of swept auth requests, from /metrics. */
async function sweptTotal(target: Target): Promise<number> {
  try {
    const text = (await request(new URL('/metrics', target.url), 'GET', null)).text;
    return Number(/^sesame_swept_auth_requests_total (\d+)/m.exec(text)?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

// ---- main ----------------------------------------------------------------------------------

async function main(): Promise<number> {
  const options = parseOptions();
  const hardLimit = setTimeout(
    () => {
      process.stderr.write(`soak: hard limit of ${options.minutes + 2} min reached\n`);
      process.exit(2);
    },
    (options.minutes + 2) * 60_000,
  );
  hardLimit.unref();
  console.log(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const target = await startTarget(options);
  process.once('exit', () => target.child.kill('SIGKILL'));
  const counter = rowCounter(databaseFileOf(target.pid));
  // Rows fill for their first lifetime (120 s: nothing may be swept yet), then one sweep interval more.
  const warmUpS = Math.ceil((ROW_LIFETIME_S * 1000 + 2 * options.sweepMs) / SAMPLE_MS) * (SAMPLE_MS / 1000);
  console.log(
    `soak: ${options.minutes} min at ${options.rate} req/s (${SENDS_PER_20 * 5} % sends, expires_in ${EXPIRES_IN_S} s), ` +
      `SESAME_RETENTION_SECONDS=0, SESAME_SWEEP_INTERVAL_MS=${options.sweepMs}; server pid ${target.pid}; warm-up ${warmUpS} s`,
  );

  const state = newState();
  const start = performance.now();
  const until = start + options.minutes * 60_000;
  const drains = [drainMailbox(target, 'otp', state), drainMailbox(target, 'link', state)];
  const load = runOpenLoop(target, state, options.rate, until);

  const samples: Sample[] = [];
  let lastCpu = processCpu(target.pid)?.selfMs ?? 0;
  let lastAt = start;
  async function takeSample(): Promise<void> {
    const now = performance.now();
    const cpu = processCpu(target.pid)?.selfMs ?? lastCpu;
    let outboxDepth = NaN;
    try {
      outboxDepth = (JSON.parse((await request(new URL('/stats', target.sidecar), 'GET', null)).text) as { outboxDepth: number })
        .outboxDepth;
    } catch {
      // The sidecar is busy or gone: the column shows '-'.
    }
    const interval = state.interval;
    state.interval = { requests: 0, errors: 0, latencies: [] };
    interval.latencies.sort((a, b) => a - b);
    const seconds = (now - lastAt) / 1000;
    const sample: Sample = {
      t: Math.round((now - start) / 1000),
      rps: interval.requests / seconds,
      p99: percentile(interval.latencies, 0.99),
      errors: interval.errors,
      cpuPct: ((cpu - lastCpu) / (now - lastAt)) * 100,
      rssMiB: processRssMiB(target.pid),
      anonMiB: processAnonMiB(target.pid),
      rows: counter.counts(),
      dbUsedMiB: counter.usedMiB(),
      outboxDepth,
      bound: sendsSince(state, ROW_LIFETIME_S + options.sweepMs / 1000 + 2),
    };
    lastCpu = cpu;
    lastAt = now;
    samples.push(sample);
    const r = sample.rows;
    console.log(
      `t=${sample.t}s ${fmt(sample.rps, 0)} req/s p99 ${fmt(sample.p99)} ms, RSS ${fmt(sample.rssMiB)} MiB, ` +
        `rows: auth ${r.auth_requests} outbox ${r.outbox} events ${r.delivery_events} send_log ${r.send_log}`,
    );
  }
  const sampler = setInterval(() => void takeSample(), SAMPLE_MS);

  const inFlight = await load;
  clearInterval(sampler);
  // The last part-interval, if long enough to mean something, before in-flight requests settle.
  if (performance.now() - lastAt > SAMPLE_MS / 2) await takeSample();
  const pending = inFlight.size;
  const settledMs = await settle(inFlight);
  if (settledMs === null || settledMs > 1_000) {
    console.log(
      `${pending} request(s) in flight at the end took ${settledMs === null ? 'over 10 s (cut)' : `${fmt(settledMs, 0)} ms`} to answer`,
    );
  }
  const swept = await sweptTotal(target);
  state.stopping = true;
  await stopTarget(target);
  counter.close();
  await Promise.all(drains);
  agent.destroy();
  clearTimeout(hardLimit);

  console.log('');
  console.log(
    markdownTable(
      [
        't (s)',
        'req/s',
        'p99 ms',
        'errors',
        'server CPU %',
        'RSS MiB',
        'anon MiB',
        'db MiB',
        'auth_requests',
        'bound',
        'outbox',
        'delivery_events',
        'send_log',
        'outbox depth',
      ],
      samples.map((s) => [
        String(s.t),
        fmt(s.rps, 0),
        fmt(s.p99),
        String(s.errors),
        fmt(s.cpuPct, 0),
        fmt(s.rssMiB),
        fmt(s.anonMiB),
        fmt(s.dbUsedMiB),
        fmt(s.rows.auth_requests, 0),
        String(s.bound),
        fmt(s.rows.outbox, 0),
        fmt(s.rows.delivery_events, 0),
        fmt(s.rows.send_log, 0),
        Number.isFinite(s.outboxDepth) ? String(s.outboxDepth) : '-',
      ]),
    ),
  );
  console.log('');
  for (const line of verdict(samples, options, warmUpS, state)) console.log(line);
  const left = samples[samples.length - 1]?.rows.auth_requests ?? NaN;
  console.log(
    `Swept by the server's sweeper (sesame_swept_auth_requests_total): ${swept}; sends ok − auth_requests left = ${state.sendsOk - left}.`,
  );
  if (target.complaints.length > 0) {
    console.log(`Server warnings/errors: ${target.complaints.length}; first: ${target.complaints.slice(0, 3).join(' | ')}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
