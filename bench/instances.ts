/**
 * One vs two Sesame instances on one PostgreSQL, or on one SQLite file: send and verify
 * by code, with the CPU each side spends per request.
 *
 *   npm run bench:instances                    # PostgreSQL
 *   npm run bench:instances -- --store sqlite  # two processes on one SQLite file (WAL)
 *
 * - A private PostgreSQL (durable settings: fsync and synchronous_commit on), or a SQLite file in
 *   the run's data directory (the embedded default: WAL, synchronous=NORMAL), a real SMTP server
 *   capturing every mail, `sesame start` processes launched through bin/sesame.js, all on
 *   127.0.0.1.
 * - Per phase ("one instance", then "two instances": the same database, a second process added):
 *   send (a distinct address per request), then verify by code on the auth requests that send
 *   created, topped up by untimed sends to VERIFY_POOL (codes read from the captured mail; each
 *   verified exactly once). Closed loop: 50
 *   workers in this process, requests spread round-robin over the instances, WARM_UP_MS then
 *   MEASURE_MS, bounded by MAX_REQUESTS (and, for verify, by the codes at hand).
 * - CPU over each measured window, from /proc/<pid>/stat (utime+stime, in clock ticks): the Sesame
 *   processes; the PostgreSQL postmaster and every child of it (plus the children it has reaped,
 *   cutime+cstime); this process (load generator and SMTP capture); and the whole machine, so a
 *   concurrent CI run shows up as "other". On SQLite the database's work is inside the Sesame
 *   processes: its column is empty.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultPolicy, type Policy } from '@sesame/core';
import { openStore } from '@sesame/storage';
import {
  createApiClientWithCli,
  fetchAccessToken,
  killStartedProcesses,
  runSesameCli,
  startPostgresCluster,
  startSesameProcess,
  startSmtpCapture,
  type PostgresCluster,
  type SesameProcess,
  type SmtpCapture,
} from '@sesame/testkit';
import { fmt, markdownTable, OutOfWork, runClosedLoop, STANDARD_WINDOW, type ClosedLoopResult, type Operation } from './lib/closed-loop.js';
import { allPids, machineBusyMs, ownCpuMs, processCpu } from './lib/proc-cpu.js';
import { runMain } from './lib/run-main.js';
import { SERVER_NODE_FLAGS } from '../bin/node-flags.mjs';

const { values: args } = parseArgs({ options: { store: { type: 'string', default: 'postgres' } } });
if (args.store !== 'postgres' && args.store !== 'sqlite') throw new Error(`--store postgres|sqlite, not ${args.store}`);
const STORE: 'postgres' | 'sqlite' = args.store;

const REDIRECT = 'https://app.example.com/auth/verify';

const { concurrency: CONCURRENCY, warmUpMs: WARM_UP_MS, measureMs: MEASURE_MS } = STANDARD_WINDOW;
const MAX_REQUESTS = 40_000;
/** Codes wanted before a verify phase; sent (untimed, bounded by FILL_MS) when short. */
const VERIFY_POOL = 5_000;
const FILL_MS = 15_000;
/** Waiting for the outbox to deliver what a send phase queued. */
const DRAIN_MS = 25_000;
/** The whole run is killed past this. */
const HARD_LIMIT_MS = 145_000;

interface Instance extends SesameProcess {
  token: string;
}

interface CpuSample {
  readonly at: number;
  readonly node: number;
  readonly pg: number;
  readonly bench: number;
  readonly machineBusy: number;
}

/** One phase's measured window, with where its CPU time went. */
interface Row extends ClosedLoopResult {
  readonly phase: string;
  readonly workload: string;
  readonly nodeMsPerReq: number;
  readonly pgMsPerReq: number;
  readonly benchMsPerReq: number;
  readonly otherCores: number;
}

const instances: Instance[] = [];
let cluster: PostgresCluster | undefined;
let smtp: SmtpCapture | undefined;
let dataDir: string | undefined;

// ---- /proc ------------------------------------------------------------------------------------

/** The cluster's postmaster: a `postgres` process started with `-p <port>`. */
function findPostmaster(port: number): number {
  for (const pid of allPids()) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!args[0]?.endsWith('/postgres')) continue;
    const p = args.indexOf('-p');
    if (p >= 0 && args[p + 1] === String(port)) return pid;
  }
  throw new Error(`no postmaster with -p ${port} in /proc`);
}

/** CPU ms of the postmaster, its live children, and the children it has already reaped. */
function postgresCpuMs(postmaster: number): number {
  const root = processCpu(postmaster);
  if (!root) return 0;
  let ms = root.selfMs + root.childrenMs;
  for (const pid of allPids()) {
    const stat = processCpu(pid);
    if (stat?.ppid === postmaster) ms += stat.selfMs;
  }
  return ms;
}

function sampleCpu(postmaster: number | null): CpuSample {
  return {
    at: performance.now(),
    node: instances.reduce((sum, instance) => sum + (processCpu(instance.pid)?.selfMs ?? 0), 0),
    pg: postmaster === null ? 0 : postgresCpuMs(postmaster),
    bench: ownCpuMs(),
    machineBusy: machineBusyMs(),
  };
}

// ---- processes --------------------------------------------------------------------------------

async function startInstance(env: NodeJS.ProcessEnv): Promise<Instance> {
  const sesame = await startSesameProcess({ env, cwd: dataDir, nodeFlags: SERVER_NODE_FLAGS, keepOutputChars: 4_000 });
  return Object.assign(sesame, { token: '' });
}

async function cleanup(): Promise<void> {
  agent.destroy();
  await killStartedProcesses();
  await smtp?.close().catch(() => undefined);
  await cluster?.stop().catch((error: unknown) => console.error('cluster stop:', error));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

// ---- load -------------------------------------------------------------------------------------

let sequence = 0;
/** Auth requests sent and not yet verified, by address. */
const pending = new Map<string, string>();
/** Codes read from mail, ready to verify once. */
const codes: { id: string; code: string }[] = [];
let mailsSeen = 0;

/** Moves newly captured mails into `codes`. */
function harvest(): void {
  const mails = smtp!.mails;
  const end = Math.min(mails.length, mailsSeen + 100_000);
  for (; mailsSeen < end; mailsSeen++) {
    const mail = mails[mailsSeen]!;
    const to = /bench-\d+-\d+@example\.com/.exec(mail.recipient)?.[0];
    const code = /\b(\d{6})\b/.exec(mail.text ?? '')?.[1];
    const id = to === undefined ? undefined : pending.get(to);
    if (to !== undefined && id !== undefined && code !== undefined) {
      pending.delete(to);
      codes.push({ id, code });
    }
  }
}

// node:http with keep-alive, not fetch: undici cost ~1.3 ms of CPU per request here, taken
// from the two cores the instances and PostgreSQL share.
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function post(i: number, action: string, body: unknown): Promise<{ status: number; text: string }> {
  const instance = instances[i % instances.length]!;
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${instance.url}/api/v1/passwordless/email/${action}`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          authorization: `Bearer ${instance.token}`,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

const send: Operation = async (i) => {
  const email = `bench-${process.pid}-${++sequence}@example.com`;
  const response = await post(i, 'send', { email, magiclink_auth_uri: REDIRECT });
  if (response.status !== 200) return false;
  const json = JSON.parse(response.text) as { auth_request_id: string };
  pending.set(email, json.auth_request_id);
  return true;
};

/** Verify by code; throws OutOfWork when none is left (the phase ends). */
function verifyOp(): Operation {
  return async (i) => {
    const next = codes.shift();
    if (!next) throw new OutOfWork();
    const response = await post(i, 'verify', { code: next.code, auth_request_id: next.id });
    return response.status === 200;
  };
}

async function phase(name: string, workload: string, op: Operation, postmaster: number | null): Promise<Row> {
  const state: { before: CpuSample | undefined } = { before: undefined };
  const result = await runClosedLoop(op, {
    concurrency: CONCURRENCY,
    warmUpMs: WARM_UP_MS,
    measureMs: MEASURE_MS,
    maxRequests: MAX_REQUESTS,
    onMeasureStart: () => (state.before = sampleCpu(postmaster)),
  });
  const after = sampleCpu(postmaster);
  const from = state.before ?? after;
  const n = result.requests;
  const wall = after.at - from.at || 1;
  const perReq = (ms: number) => (n === 0 ? NaN : ms / n);
  const node = after.node - from.node;
  const pg = after.pg - from.pg;
  const bench = after.bench - from.bench;
  const other = after.machineBusy - from.machineBusy - node - pg - bench;
  if (result.exhausted) console.log(`  (${name} ${workload}: ran out of codes after ${result.seconds.toFixed(1)} s measured)`);
  return {
    ...result,
    phase: name,
    workload,
    nodeMsPerReq: perReq(node),
    pgMsPerReq: postmaster === null ? NaN : perReq(pg),
    benchMsPerReq: perReq(bench),
    otherCores: Math.max(0, other) / wall,
  };
}

/** Waits (bounded) until the mails for every accepted send have arrived, and harvests codes. */
async function drain(): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  while (Date.now() < deadline) {
    harvest();
    if (pending.size === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  harvest();
  console.log(`  (drain: ${pending.size} mails still undelivered after ${DRAIN_MS} ms; verifying the ${codes.length} at hand)`);
}

/** Untimed sends until VERIFY_POOL codes are at hand (bounded by FILL_MS), then drains. */
async function fill(): Promise<void> {
  const deadline = Date.now() + FILL_MS;
  let i = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (codes.length + pending.size < VERIFY_POOL && Date.now() < deadline && i < VERIFY_POOL) {
        await send(i++).catch(() => false);
      }
    }),
  );
  await drain();
}

// ---- main -------------------------------------------------------------------------------------

function printTable(rows: readonly Row[]): void {
  const header = [
    'phase',
    'workload',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'Node CPU ms/req',
    'PostgreSQL CPU ms/req',
    'PostgreSQL share of server CPU',
    'bench CPU ms/req',
    'other load (cores)',
    'requests',
  ];
  const lines = rows.map((r) => [
    r.phase,
    r.workload,
    fmt(r.rps, 0),
    fmt(r.p50),
    fmt(r.p99),
    String(r.errors),
    fmt(r.nodeMsPerReq, 2),
    fmt(r.pgMsPerReq, 2),
    // Where a request's server-side time goes: PostgreSQL's CPU over Sesame's plus PostgreSQL's.
    Number.isFinite(r.pgMsPerReq) ? `${fmt((100 * r.pgMsPerReq) / (r.nodeMsPerReq + r.pgMsPerReq), 0)} %` : '-',
    fmt(r.benchMsPerReq, 2),
    fmt(r.otherCores, 2),
    String(r.requests),
  ]);
  console.log(markdownTable(header, lines));
}

async function main(): Promise<number> {
  console.log(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; store: ${STORE}`,
  );
  dataDir = mkdtempSync(join(tmpdir(), 'sesame-bench-instances-'));
  let databaseUrl = `file:${join(dataDir, 'sesame.db')}`;
  let postmaster: number | null = null;
  if (STORE === 'postgres') {
    cluster = await startPostgresCluster({ fast: false });
    databaseUrl = await cluster.createDatabase('sesame_bench_instances');
    postmaster = findPostmaster(cluster.port);
  }
  smtp = await startSmtpCapture();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    SESAME_DATA_DIR: dataDir,
    SESAME_DATABASE_URL: databaseUrl,
    SESAME_SECRET: 'bench-instances-secret-0123456789abcdef-0123456789',
    SESAME_SMTP_URL: smtp.url,
    SESAME_MAIL_FROM: 'Acme <no-reply@acme.test>',
    SESAME_ALLOWED_REDIRECT_URIS: 'https://app.example.com/auth/*',
    SESAME_LOG_LEVEL: 'warn',
    SESAME_CLIENT_SENDS_PER_MINUTE: '1000000',
    SESAME_SENDS_PER_MINUTE: '1000000',
  };
  await runSesameCli(['migrate'], { cwd: dataDir, env });
  const client = await createApiClientWithCli({ cwd: dataDir, env, name: 'bench', redirectUri: 'https://app.example.com/auth/*' });
  // Every send goes to its own address; the raised limits and the longest expiry only make sure
  // no limit or expiry decides a result in the verify phase.
  const store = openStore(databaseUrl);
  try {
    const policy: Policy = {
      ...defaultPolicy({ production: false }),
      expirySeconds: 3600,
      emailsPerAddress: { max: 60, windowMs: 60_000 },
      failedOtpPerAddress: { max: 10_000, windowMs: 60_000 },
      allowedRedirectUris: [{ uri: 'https://app.example.com/auth/', match: 'prefix' }],
    };
    await store.putSetting('policy', JSON.stringify(policy), Date.now());
  } finally {
    await store.close();
  }

  const rows: Row[] = [];
  for (const name of ['one instance', 'two instances']) {
    const instance = await startInstance(env);
    instance.token = await fetchAccessToken(instance.url, client);
    instances.push(instance);
    console.log(
      `${name}: ${instances.length} process(es) ${instances.map((i) => i.pid).join(', ')}${postmaster === null ? '' : `, postmaster ${postmaster}`}`,
    );
    rows.push(await phase(name, 'send', send, postmaster));
    await drain();
    await fill();
    console.log(`  ${codes.length} codes to verify`);
    rows.push(await phase(name, 'verify', verifyOp(), postmaster));
  }

  console.log('');
  printTable(rows);
  const ratio = (workload: string) => {
    const [one, two] = ['one instance', 'two instances'].map((p) => rows.find((r) => r.phase === p && r.workload === workload)!);
    return two!.rps / one!.rps;
  };
  console.log('');
  console.log(`two ÷ one instances, req/s: send ${fmt(ratio('send'), 2)}, verify ${fmt(ratio('verify'), 2)}`);
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  return 0;
}

await runMain(main, cleanup, {
  hardLimit: { ms: HARD_LIMIT_MS, message: `bench:instances: hard limit of ${HARD_LIMIT_MS} ms reached; stopping` },
  onFailure: () => {
    for (const instance of instances) if (instance.output.trim()) console.error(`instance ${instance.url}:\n${instance.output}`);
  },
});
