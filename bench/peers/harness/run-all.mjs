// Orchestrator: for every (target, workload) in the plan, REPS times: start a fresh server process
// (fresh SQLite file), wait for its READY line, run the workload with the load generator in THIS
// process (a different process from the server), read the server's RSS from /proc/<pid>/status,
// stop the server by its PID. Then print a table of medians and write results/*.json + *.md.
//
//   node harness/run-all.mjs [--reps 3] [--duration 10] [--warmup 3] [--connections 50]
//                          [--only send-otp,verify-otp] [--out results] [--plan FILE]
//                          [--quiet-wait 90] [--quiet-cores 0.3] [--timeline]
//
// Before each rep it waits (at most --quiet-wait s) until other processes use < --quiet-cores CPU,
// and every rep records server CPU per request and the CPU other processes used during the timed run.
//
// --plan FILE: an ESM module whose default export is an array of { target: 'path/to/target.mjs',
// export?: 'name', workload: 'name' } (default: harness/plans/default.mjs) -- see README.md "Adding a target".
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { runWorkload, getJson, pkgVersion, AUTOCANNON_VERSION } from './loadgen.mjs';
import { waitForQuiet } from './cpu.mjs';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const DEFAULT_PLAN = 'harness/plans/default.mjs';

function parseArgs(argv) {
  const a = { reps: 3, duration: 10, warmup: 3, connections: 50, out: 'results', quietWait: 90, quietCores: 0.3 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--reps') a.reps = +v();
    else if (k === '--duration' || k === '-d') a.duration = +v();
    else if (k === '--warmup' || k === '-w') a.warmup = +v();
    else if (k === '--connections' || k === '-c') a.connections = +v();
    else if (k === '--only')
      a.only = v()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (k === '--out') a.out = v();
    else if (k === '--plan') a.plan = v();
    else if (k === '--quiet-wait') a.quietWait = +v();
    else if (k === '--quiet-cores') a.quietCores = +v();
    else if (k === '--timeline') a.timeline = true;
    else throw new Error(`unknown argument ${k}`);
  }
  // hard sanity bounds: this harness is for short, bounded runs
  if (!(a.reps >= 1 && a.reps <= 10)) throw new Error('--reps must be 1..10');
  if (!(a.duration >= 1 && a.duration <= 120)) throw new Error('--duration must be 1..120 s');
  if (!(a.warmup >= 0 && a.warmup <= 60)) throw new Error('--warmup must be 0..60 s');
  if (!(a.connections >= 1 && a.connections <= 1000)) throw new Error('--connections must be 1..1000');
  return a;
}

const log = (m) => process.stderr.write(`${m}\n`);

async function loadTarget(file, exportName) {
  const mod = await import(pathToFileURL(path.resolve(ROOT, file)).href);
  const t = exportName ? mod[exportName] : mod.default;
  if (!t) throw new Error(`${file} has no export ${exportName || 'default'}`);
  return t;
}

// Children we started and have not yet seen exit: stopped by PID if this process is interrupted.
const live = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of live) {
      try {
        process.kill(c.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    process.exit(130);
  });
}

/**
 * Start a server as a direct child (so the PID we hold is the server itself, for RSS/CPU).
 * target.server: { script: 'servers/x.mjs' }  (run with this node)  or
 *                { command: ['/path/to/bin', '--port', '{port}'] } (any executable; {port} substituted)
 * plus port and optional env. The server must print `READY {"url": ...}` on stdout once listening.
 */
function startServer(target, { readyTimeoutMs = 60_000 } = {}) {
  const { script, command, port, env = {} } = target.server;
  const [cmd, ...args] = command
    ? command.map((x) => String(x).replace(/\{port\}/g, String(port)))
    : [process.execPath, path.resolve(ROOT, script)];
  const label = script || command.join(' ');
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let out = '';
  let errOut = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stopServer(child);
      reject(new Error(`${label}: no READY line within ${readyTimeoutMs} ms\n${out}\n${errOut}`));
    }, readyTimeoutMs);
    child.stderr.on('data', (d) => {
      errOut += d;
      if (errOut.length > 20_000) errOut = errOut.slice(-10_000);
    });
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^READY (.*)$/m);
      if (m && timer) {
        clearTimeout(timer);
        const info = JSON.parse(m[1]);
        child.stdout.removeAllListeners('data');
        child.stdout.resume(); // keep draining
        resolve({ child, info, stderr: () => errOut });
      }
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited early (code ${code}, signal ${sig})\n${out}\n${errOut}`));
    });
  });
}

/** Stop exactly this child by PID: SIGTERM, then SIGKILL after a grace period. */
function stopServer(child, graceMs = 5000) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      clearTimeout(kill);
      resolve();
    }
  });
}

function procMem(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) || [])[1] || NaN);
    return { rssMiB: +(kb('VmRSS') / 1024).toFixed(1), peakRssMiB: +(kb('VmHWM') / 1024).toFixed(1) };
  } catch {
    return { rssMiB: NaN, peakRssMiB: NaN };
  }
}

const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

function versions() {
  const v = pkgVersion;
  let sqlite = 'n/a';
  try {
    const D = require('better-sqlite3');
    const d = new D(':memory:');
    sqlite = d.prepare('select sqlite_version() v').get().v;
    d.close();
  } catch {
    /* not installed: left out of the table */
  }
  return {
    node: process.version,
    'better-auth': v('better-auth'),
    '@better-auth/core': v('@better-auth/core'),
    'better-call': v('better-call'),
    kysely: v('kysely'),
    zod: v('zod'),
    'better-sqlite3': v('better-sqlite3'),
    sqlite,
    autocannon: AUTOCANNON_VERSION,
    os: `${os.type()} ${os.release()}`,
    cpu: `${os.cpus()[0]?.model} x${os.cpus().length}`,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  };
}

function fmt(n, d = 0) {
  return Number.isFinite(n) ? n.toFixed(d) : 'n/a';
}

function table(rows) {
  const head = [
    'target',
    'workload',
    'req/s (median)',
    'req/s range',
    'p50 ms',
    'p99 ms',
    'non-2xx/3xx',
    'conn errors',
    'check fails',
    'server CPU ms/req',
    'server cores',
    'other load (cores, max)',
    'RSS after MiB',
    'pregen',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.target,
        r.workload,
        fmt(r.rps),
        `${fmt(r.rpsMin)}–${fmt(r.rpsMax)}`,
        fmt(r.p50, 0),
        fmt(r.p99, 0),
        fmt(r.non2xx3xx),
        fmt(r.errors),
        fmt(r.checkFail),
        fmt(r.serverMsPerReq, 3),
        fmt(r.serverCores, 2),
        fmt(r.otherCoresMax, 2),
        fmt(r.rssMiB, 1),
        r.pregen ? `${fmt(r.pregen.items)} in ${fmt(r.pregen.seconds, 1)} s (${fmt(r.pregen.perSecond)}/s)` : '–',
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const planFile = a.plan ? path.resolve(a.plan) : path.resolve(ROOT, DEFAULT_PLAN);
  let plan = (await import(pathToFileURL(planFile).href)).default;
  if (a.only) plan = plan.filter((p) => a.only.includes(p.workload));
  if (!plan.length) throw new Error('empty plan');

  const startedAt = new Date().toISOString();
  const env = versions();
  log(`peers-bench ${startedAt}  ${JSON.stringify(env)}`);
  log(`reps=${a.reps} duration=${a.duration}s warmup=${a.warmup}s connections=${a.connections} (loopback only)`);

  const results = [];
  for (const p of plan) {
    const target = await loadTarget(p.target, p.export);
    const workload = target.workloads[p.workload];
    if (!workload) throw new Error(`${target.name} has no workload ${p.workload}`);
    const runs = [];
    let poolSize; // sized from the previous rep's measured throughput (first rep: target default)
    for (let rep = 1; rep <= a.reps; rep++) {
      let attempt = 0;
      for (;;) {
        attempt++;
        const quiet = a.quietWait > 0 ? await waitForQuiet({ maxCores: a.quietCores, maxWaitS: a.quietWait, log }) : { quiet: null };
        log(
          `[${p.workload}] rep ${rep}/${a.reps}${attempt > 1 ? ` (retry ${attempt - 1}, pool ${poolSize})` : ''}: starting ${target.server.script || target.server.command.join(' ')}`,
        );
        const srv = await startServer(target);
        let r;
        try {
          r = await runWorkload({
            baseUrl: srv.info.url,
            workload,
            info: srv.info,
            connections: a.connections,
            duration: a.duration,
            warmup: a.warmup,
            poolSize,
            serverPid: srv.info.pid || srv.child.pid,
            timeline: a.timeline,
            log,
          });
          r.quietBefore = quiet;
          r.mem = procMem(srv.info.pid || srv.child.pid);
          if (srv.info.sidecar) {
            try {
              r.serverStats = await getJson(`${srv.info.sidecar}/stats`, 10_000);
            } catch (e) {
              r.serverStats = { error: String(e) };
            }
          }
        } finally {
          await stopServer(srv.child);
        }
        if (r.poolExhausted && attempt < 2) {
          poolSize = Math.ceil((r.poolUsed || r.pregen?.got || 1000) * 2);
          continue;
        }
        if (workload.pool) poolSize = Math.ceil(((r.warmup?.total || 0) + r.total) * 1.3) + 500;
        log(
          `[${p.workload}] rep ${rep}: ${fmt(r.rps)} req/s p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms non-2xx/3xx ${r.non2xx3xx} errors ${r.errors} check-fail ${r.checkFail} rss ${r.mem.rssMiB} MiB cpu server ${r.cpu.serverCores} loadgen ${r.cpu.loadgenCores} other ${r.cpu.otherCores} cores, ${r.cpu.serverMsPerReq} server-ms/req${r.serverStats?.rows ? ` rows ${JSON.stringify(r.serverStats.rows)}` : ''}`,
        );
        runs.push(r);
        break;
      }
    }
    const rpsList = runs.map((r) => r.rps);
    const row = {
      workload: p.workload,
      target: target.name,
      describe: workload.describe,
      rps: median(rpsList),
      rpsMin: Math.min(...rpsList),
      rpsMax: Math.max(...rpsList),
      p50: median(runs.map((r) => r.latency.p50)),
      p99: median(runs.map((r) => r.latency.p99)),
      non2xx3xx: median(runs.map((r) => r.non2xx3xx)),
      errors: median(runs.map((r) => r.errors)),
      checkFail: median(runs.map((r) => r.checkFail)),
      rssMiB: median(runs.map((r) => r.mem.rssMiB)),
      peakRssMiB: median(runs.map((r) => r.mem.peakRssMiB)),
      serverMsPerReq: median(runs.map((r) => r.cpu.serverMsPerReq)),
      serverCores: median(runs.map((r) => r.cpu.serverCores)),
      otherCoresMax: Math.max(...runs.map((r) => r.cpu.otherCores)),
      pregen: runs[0].pregen
        ? {
            items: median(runs.map((r) => r.pregen.got)),
            seconds: median(runs.map((r) => r.pregen.seconds)),
            perSecond: median(runs.map((r) => r.pregen.perSecond)),
          }
        : null,
      invalid: runs.some((r) => r.poolExhausted),
      runs,
    };
    results.push(row);
  }

  const md = [
    `# peers-bench results (${startedAt})`,
    '',
    `reps=${a.reps}, each: ${a.warmup} s warm-up (discarded) + ${a.duration} s timed, ${a.connections} connections, autocannon ${env.autocannon}, loopback. Each column is the median over the reps (except "other load": the max), fresh server process + fresh SQLite file per rep. "server CPU ms/req" = server process CPU time (all threads) during the timed run / requests completed. "other load" = CPU used by processes other than server and load generator during the timed run (noise on a shared machine; > 0.2 means the numbers are suspect).`,
    '',
    table(results),
    '',
    '```',
    JSON.stringify(env),
    '```',
    '',
    ...results.map((r) => `- **${r.workload}**: ${r.describe}${r.invalid ? ' — WARNING: a pool ran dry, numbers invalid' : ''}`),
    '',
  ].join('\n');

  fs.mkdirSync(path.resolve(ROOT, a.out), { recursive: true });
  const stamp = startedAt.replace(/[:.]/g, '-');
  fs.writeFileSync(path.resolve(ROOT, a.out, `results-${stamp}.json`), JSON.stringify({ startedAt, args: a, env, results }, null, 2));
  fs.writeFileSync(path.resolve(ROOT, a.out, `results-${stamp}.md`), md);
  fs.writeFileSync(path.resolve(ROOT, a.out, 'latest.md'), md);
  process.stdout.write(`${md}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
