// Reusable load generator: autocannon, driven programmatically, loopback only, bounded in time and count.
//
// Library:
//   import { runWorkload } from './loadgen.mjs'
//   const r = await runWorkload({ baseUrl: 'http://127.0.0.1:4100', workload, info, connections: 50, duration: 10, warmup: 3 })
//
// CLI (against a server that is already running; the code is in loadgen-cli.mjs):
//   node harness/loadgen.mjs --url http://127.0.0.1:4100 --target harness/targets/betterauth.mjs --workload send-otp \
//        [--sidecar http://127.0.0.1:4101] [--pid SERVER_PID] [-c 50] [-d 10] [-w 3] [--pool 40000] [--timeline] [--json]
//   node harness/loadgen.mjs --url http://127.0.0.1:4200 --method POST --path / \
//        --body '{"email":"{{email}}"}' [--header 'x-foo: bar']      (template mode, no target module)
//
// A workload is a plain object (see README.md "Adding a target"):
//   {
//     name, describe,                       // label + one line saying what one request does
//     method, path, headers, body,          // static request parts (body: string | object -> JSON)
//     build(ctx) -> { method?, path?, headers?, body? }   // optional, per request (unique data, pool items)
//     pool: { size(opts) -> n, prepare({ baseUrl, info, size, opts, log }) -> items[] }  // optional single-use items
//     check(status, headers, body) -> bool  // optional semantic success check (default: 2xx or 3xx)
//   }
// ctx passed to build(): { seq, tag, info, email(), item() }  -- item() pops the next single-use pool item.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

import { cpuSnapshot, cpuDelta } from './cpu.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

/** Version of an installed package, read from its package.json (works even when "exports" hides it). */
export function pkgVersion(name) {
  try {
    const entry = require.resolve(name);
    let dir = path.dirname(entry);
    for (let i = 0; i < 8; i++) {
      const f = path.join(dir, 'package.json');
      if (fs.existsSync(f)) {
        const j = JSON.parse(fs.readFileSync(f, 'utf8'));
        if (j.name === name) return j.version;
      }
      dir = path.dirname(dir);
    }
  } catch {
    // unreadable package.json: reported as n/a
  }
  return 'n/a';
}
export const AUTOCANNON_VERSION = pkgVersion('autocannon');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Refuse anything that is not a loopback URL: this harness never sends traffic off the machine. */
export function assertLoopback(url) {
  const u = new URL(url);
  const host = u.hostname;
  const ok = LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (!ok) throw new Error(`refusing non-loopback target ${url}`);
  if (u.protocol !== 'http:') throw new Error(`only http: targets are supported, got ${url}`);
  return u;
}

function headerGet(headers, name) {
  if (!headers) return undefined;
  const lower = name.toLowerCase();
  for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) return headers[k];
  return undefined;
}
export { headerGet };

function toBody(body) {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  return JSON.stringify(body);
}

/**
 * One bounded autocannon run. Either time-bounded (duration seconds) or count-bounded (amount),
 * always with a hard wall-clock stop (maxSeconds).
 */
export function autocannonRun({
  url,
  connections,
  duration,
  amount,
  timeout = 10,
  maxSeconds,
  requests,
  headers,
  method,
  body,
  onLatency,
}) {
  assertLoopback(url);
  return new Promise((resolve, reject) => {
    const opts = {
      url,
      connections,
      pipelining: 1,
      timeout,
      method,
      headers,
      body,
      requests,
      // no redirects are followed by autocannon (it has no such feature); 3xx are just counted.
    };
    if (amount) opts.amount = amount;
    else opts.duration = duration;
    const inst = autocannon(opts, (err, res) => {
      clearTimeout(hard);
      if (err) reject(err);
      else resolve(res);
    });
    if (onLatency) inst.on('response', (_client, _status, _bytes, ms) => onLatency(ms));
    const hardLimit = (maxSeconds ?? (amount ? 300 : duration + timeout + 5)) * 1000;
    const hard = setTimeout(() => {
      inst.stop();
    }, hardLimit);
    hard.unref?.();
  });
}

/** Build the autocannon `requests` array for a workload, with per-request build + check hooks. */
function buildRequests(workload, state) {
  const staticHeaders = { ...(workload.headers || {}) };
  const staticBody = toBody(workload.body);
  if (staticBody !== undefined && !headerGet(staticHeaders, 'content-type')) staticHeaders['content-type'] = 'application/json';
  const req = {
    method: workload.method || 'GET',
    path: workload.path || '/',
    headers: staticHeaders,
    body: staticBody,
  };
  // Only hook responses when the workload asks for a semantic check: the hook costs load-generator
  // CPU (header decoding per response). Without it, success = 2xx/3xx as counted by autocannon.
  if (typeof workload.check === 'function') {
    const check = workload.check;
    req.onResponse = (status, body, _context, headers) => {
      if (!check(status, headers, body)) {
        state.checkFail++;
        if (state.failSamples.length < 3)
          state.failSamples.push({ status, location: headerGet(headers, 'location'), body: String(body).slice(0, 200) });
      }
    };
  }
  if (typeof workload.build === 'function') {
    const needsCt = !headerGet(staticHeaders, 'content-type');
    // autocannon hands setupRequest a fresh copy of the request (headers included) for every request,
    // so it is safe to fill it in place.
    req.setupRequest = (reqData) => {
      state.seq++;
      const r = workload.build(state.ctx) || {};
      if (r.method) reqData.method = r.method;
      if (r.path) reqData.path = r.path;
      if (r.headers) reqData.headers = { ...reqData.headers, ...r.headers };
      if (r.body !== undefined) {
        reqData.body = toBody(r.body);
        if (needsCt && typeof r.body === 'object' && !Buffer.isBuffer(r.body)) reqData.headers['content-type'] = 'application/json';
      }
      return reqData;
    };
  }
  return [req];
}

function makeState(workload, pool, onExhausted, cursor = { used: 0 }, info = {}) {
  const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const state = { seq: 0, checkFail: 0, failSamples: [], exhausted: false, cursor };
  state.ctx = {
    get seq() {
      return state.seq;
    },
    tag,
    info, // the server's READY line (url, sidecar, and anything else it reports, e.g. an access token)
    // unique, valid address per call; lower-case so servers that normalise don't collide
    email: () => `u${state.seq}.${tag}@bench.example.com`,
    item: () => {
      if (!pool || cursor.used >= pool.length) {
        if (!state.exhausted) {
          state.exhausted = true;
          onExhausted?.();
        }
        return pool && pool.length ? pool[pool.length - 1] : null; // re-used -> will fail the check; run is flagged
      }
      return pool[cursor.used++];
    },
  };
  return state;
}

function summarize(res, state, extra = {}) {
  const bad = (res['1xx'] || 0) + (res['4xx'] || 0) + (res['5xx'] || 0);
  return {
    rps: res.requests.mean,
    total: res.requests.total,
    durationS: res.duration,
    latency: { p50: res.latency.p50, p90: res.latency.p90, p99: res.latency.p99, mean: res.latency.mean, max: res.latency.max },
    status: { '1xx': res['1xx'], '2xx': res['2xx'], '3xx': res['3xx'], '4xx': res['4xx'], '5xx': res['5xx'] },
    statusCodeStats: res.statusCodeStats,
    non2xx3xx: bad,
    errors: res.errors,
    timeouts: res.timeouts,
    checkFail: state.checkFail,
    failSamples: state.failSamples,
    ...extra,
  };
}

/**
 * Run one workload: optional pool preparation, warm-up (discarded), then the timed run.
 * Returns { workload, describe, rps, latency, ..., pregen?, warmup }.
 */
export async function runWorkload({
  baseUrl,
  workload,
  info = {},
  connections = 50,
  duration = 10,
  warmup = 3,
  timeout = 10,
  poolSize,
  serverPid,
  timeline = false,
  log = () => {},
}) {
  assertLoopback(baseUrl);
  const opts = { connections, duration, warmup, timeout };
  let pool = null;
  let pregen = null;
  if (workload.pool) {
    const size = poolSize || workload.pool.size(opts);
    const t0 = process.hrtime.bigint();
    pool = await workload.pool.prepare({ baseUrl, info, size, opts, log });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    pregen = { requested: size, got: pool.length, seconds: +secs.toFixed(2), perSecond: Math.round(pool.length / secs) };
    log(`  pregen: ${pool.length}/${size} items in ${secs.toFixed(1)} s`);
    if (pool.length < size * 0.99) throw new Error(`pool preparation returned ${pool.length} of ${size} items`);
  }

  const cursor = { used: 0 }; // pool items are single-use across warm-up and timed run
  const runPhase = async (seconds, label, onLatency) => {
    const state = makeState(workload, pool, () => log(`  WARNING: pool exhausted during ${label}`), cursor, info);
    const res = await autocannonRun({
      url: baseUrl,
      connections,
      duration: seconds,
      timeout,
      requests: buildRequests(workload, state),
      onLatency,
    });
    return { res, state };
  };
  // optional per-second latency series for the timed run (diagnosing tails); costs a little loadgen CPU
  const buckets = [];
  let t0 = 0;
  const onLatency = timeline
    ? (ms) => {
        const sec = Math.floor(Number(process.hrtime.bigint() - t0) / 1e9);
        (buckets[sec] ||= []).push(ms);
      }
    : undefined;

  let warm = null;
  if (warmup > 0) {
    const { res, state } = await runPhase(warmup, 'warm-up');
    warm = { rps: res.requests.mean, total: res.requests.total, checkFail: state.checkFail, exhausted: state.exhausted };
    log(`  warm-up: ${Math.round(res.requests.mean)} req/s`);
  }
  serverPid = serverPid || info.pid; // servers report their pid in the READY line
  const before = cpuSnapshot(serverPid);
  t0 = process.hrtime.bigint();
  const { res, state } = await runPhase(duration, 'timed run', onLatency);
  const cpu = cpuDelta(before, cpuSnapshot(serverPid));
  if (cpu.serverMs !== null && res.requests.total > 0) cpu.serverMsPerReq = +(cpu.serverMs / res.requests.total).toFixed(3);
  return summarize(res, state, {
    workload: workload.name,
    describe: workload.describe,
    connections,
    duration,
    warmupS: warmup,
    warmup: warm,
    pregen,
    poolExhausted: Boolean(state.exhausted || warm?.exhausted),
    poolUsed: pool ? cursor.used : undefined,
    cpu,
    timeline: timeline
      ? buckets.map((b, sec) => {
          const v = (b || []).slice().sort((x, y) => x - y);
          const q = (p) => (v.length ? +v[Math.min(v.length - 1, Math.floor(v.length * p))].toFixed(1) : null);
          return { sec, n: v.length, p50: q(0.5), p99: q(0.99), max: v.length ? +v[v.length - 1].toFixed(1) : null };
        })
      : undefined,
  });
}

/** Count-bounded helper for pool preparation: fire `amount` requests of `workload` as fast as possible. */
export async function fireAmount({ baseUrl, workload, amount, connections = 50, timeout = 10, maxSeconds = 300, info = {} }) {
  const state = makeState(workload, null, undefined, undefined, info);
  const res = await autocannonRun({ url: baseUrl, connections, amount, timeout, maxSeconds, requests: buildRequests(workload, state) });
  const failed = (res['1xx'] || 0) + (res['4xx'] || 0) + (res['5xx'] || 0) + state.checkFail + res.errors;
  return { total: res.requests.total, failed, errors: res.errors, seconds: res.duration, tag: state.ctx.tag };
}

/**
 * Drain up to `want` captured messages from a "mailbox" sidecar (GET {sidecar}/mailbox/{kind}?max=N
 * returning a JSON array and removing what it returned). Bounded number of calls.
 */
export async function drainMailbox(sidecar, kind, want) {
  if (!sidecar) throw new Error('this workload needs the server sidecar URL (READY line "sidecar" / --sidecar)');
  const out = [];
  for (let i = 0; i < 1000 && out.length < want; i++) {
    const batch = await getJson(`${sidecar}/mailbox/${kind}?max=${Math.min(200_000, want - out.length)}`);
    if (batch.length === 0) break;
    for (const x of batch) out.push(x);
  }
  return out;
}

/**
 * Pool preparation via the sidecar convention: empty the mailbox, fire `size` requests of the
 * `send` workload (count-bounded, same connection count), then drain `size` captured messages and
 * map each to a pool item. Use as `pool: { size, prepare: poolFromSends(sendWorkload, 'otp', (m) => m) }`.
 */
export function poolFromSends(send, kind, mapItem = (m) => m) {
  return async ({ baseUrl, info, size, opts, log }) => {
    await drainMailbox(info.sidecar, kind, 10_000_000);
    const r = await fireAmount({ baseUrl, workload: send, amount: size, connections: opts?.connections || 50, info });
    log(`  pregen sends: ${r.total} in ${r.seconds} s (${r.failed} failed)`);
    const got = await drainMailbox(info.sidecar, kind, size);
    return got.map(mapItem);
  };
}

/** A verify workload's pool of e-mailed OTPs: each `{ email, otp }` is posted back once as the body. */
export function otpVerify(sendOtp, size) {
  return {
    pool: { size, prepare: poolFromSends(sendOtp, 'otp', ({ email, otp }) => ({ email, otp })) },
    build: (ctx) => {
      const it = ctx.item();
      return { body: { email: it.email, otp: it.otp } };
    },
  };
}

/**
 * A verify workload's pool of e-mailed links, each fetched once by its path + query (the URL is
 * absolute) with the redirect not followed: success is a 302 whose Location lacks `failureMark`.
 */
export function linkVerify(sendLink, size, failureMark) {
  return {
    pool: {
      size,
      prepare: poolFromSends(sendLink, 'link', ({ url }) => {
        const u = new URL(url);
        return { path: u.pathname + u.search };
      }),
    },
    build: (ctx) => ({ path: ctx.item().path }),
    check: (status, headers) => status === 302 && !String(headerGet(headers, 'location') || '').includes(failureMark),
  };
}

/** GET JSON from a loopback URL with a timeout. */
export async function getJson(url, timeoutMs = 30_000) {
  assertLoopback(url);
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!r.ok) throw new Error(`GET ${url} -> ${r.status}`);
  return r.json();
}

// Started as a script: the command line, in loadgen-cli.mjs (loaded once this module has loaded).
if (import.meta.url === pathToFileURL(process.argv[1] || '').href) {
  import('./loadgen-cli.mjs')
    .then(({ main }) => main())
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
