/**
 * `npm run bench`: Sesame's REST API (send, verify by code, verify by link) on SQLite against
 * Better Auth and a bare node:http baseline, all in one run of the peer harness (bench/peers,
 * copied to a work dir under /tmp and installed there from its own lock file; nothing is written
 * into the repository).
 * Bounded: the harness bounds every phase; this driver also stops its child after a hard limit.
 *
 *   npm run bench                      # 3 reps × (3 s warm-up + 10 s), 50 connections
 *   npm run bench -- --reps 1          # any run-all.mjs option passes through
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const PEERS = path.join(HERE, 'peers');
const WORK = process.env.PEERS_WORKDIR ?? '/tmp/sesame-peers';
const PLAN = path.join(HERE, 'sesame/plan.mjs');
const HARD_LIMIT_MS = 60 * 60 * 1000;

interface Row {
  target: string;
  workload: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx3xx: number;
  errors: number;
  checkFail: number;
  serverMsPerReq: number;
  otherCoresMax: number;
  invalid: boolean;
}

function runHarness(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(PEERS, 'run.sh'), '--plan', PLAN, ...args], {
      cwd: ROOT,
      env: { ...process.env, PEERS_WORKDIR: WORK },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const hard = setTimeout(() => {
      process.stderr.write(`bench: hard limit of ${HARD_LIMIT_MS / 60_000} min reached, stopping the harness\n`);
      if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    }, HARD_LIMIT_MS);
    const forward = (signal: NodeJS.Signals) => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, signal);
    };
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(hard);
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? 1);
    });
  });
}

function latestResults(since: number): Row[] {
  const dir = path.join(WORK, 'results');
  const files = readdirSync(dir)
    .filter((f) => /^results-.*\.json$/.test(f))
    .map((f) => path.join(dir, f))
    .sort();
  const newest = files.at(-1);
  if (newest === undefined) throw new Error(`no results in ${dir}`);
  const parsed = JSON.parse(readFileSync(newest, 'utf8')) as { startedAt: string; results: Row[] };
  if (Date.parse(parsed.startedAt) < since) throw new Error(`the newest results in ${dir} predate this run`);
  return parsed.results;
}

function summarize(rows: Row[]): { text: string; ok: boolean } {
  const find = (target: string, workload: string) => rows.find((r) => r.target === target && r.workload === workload);
  const pairs: [string, Row | undefined, Row | undefined][] = [
    ['send', find('sesame', 'send'), find('betterauth', 'send-otp')],
    ['verify by code', find('sesame', 'verify-otp'), find('betterauth', 'verify-otp')],
    ['verify by link', find('sesame', 'verify-link'), find('betterauth', 'verify-link')],
  ];
  const baseline = find('ceiling-json', 'ceiling-json') ?? rows.find((r) => r.workload === 'ceiling-json');
  const lines = [
    '| operation | Sesame req/s | p50 ms | p99 ms | errors (non-2xx + conn) | server CPU ms/req | Better Auth req/s | p99 ms | Sesame ÷ Better Auth | Sesame ÷ bare node:http |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  let ok = true;
  for (const [label, s, b] of pairs) {
    if (!s || !b) {
      ok = false;
      lines.push(`| ${label} | missing | | | | | ${b ? Math.round(b.rps) : 'missing'} | | | |`);
      continue;
    }
    const ratio = s.rps / b.rps;
    const pass = ratio >= 5 && s.p99 <= 50 && s.non2xx3xx === 0 && s.errors === 0 && s.checkFail === 0 && !s.invalid;
    ok &&= pass;
    lines.push(
      `| ${label} | ${Math.round(s.rps)} | ${s.p50} | ${s.p99} | ${s.non2xx3xx + s.errors} | ${s.serverMsPerReq} | ${Math.round(b.rps)} | ${b.p99} | ${ratio.toFixed(1)}× ${pass ? '✓' : '✗'} | ${baseline ? (s.rps / baseline.rps).toFixed(2) : 'n/a'} |`,
    );
  }
  if (baseline) lines.push('', `bare node:http baseline (ceiling-json): ${Math.round(baseline.rps)} req/s, p99 ${baseline.p99} ms`);
  const noisy = rows.filter((r) => r.otherCoresMax > 0.2).map((r) => `${r.target}/${r.workload}`);
  if (noisy.length > 0) lines.push(`WARNING: other load > 0.2 cores during ${noisy.join(', ')}: those rows are not comparable.`);
  lines.push('', `Targets: send and verify each ≥ 5× Better Auth, p99 ≤ 50 ms at 50 connections, no errors → ${ok ? 'MET' : 'NOT MET'}`);
  return { text: lines.join('\n'), ok };
}

async function main(): Promise<number> {
  if (!existsSync(path.join(PEERS, 'run.sh'))) throw new Error(`peer harness not found at ${PEERS}`);
  const started = Date.now() - 1000;
  const code = await runHarness(process.argv.slice(2));
  if (code !== 0) {
    process.stderr.write(`bench: the peer harness exited with ${code}\n`);
    return code;
  }
  const { text, ok } = summarize(latestResults(started));
  const out = path.join(WORK, 'results', 'sesame-summary.md');
  writeFileSync(out, `${text}\n`);
  process.stdout.write(`\n## Sesame vs Better Auth (same run)\n\n${text}\n\n(also in ${out})\n`);
  return ok ? 0 : 3;
}

process.exitCode = await main();
