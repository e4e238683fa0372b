// The load generator's command line (usage in loadgen.mjs, which runs it when started as a script):
// one workload, from a target module or a template request, against a server that is already running.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { headerGet, runWorkload } from './loadgen.mjs';

// The CLI's options: the field each sets and how its value is read (none for a switch).
const text = (v) => v;
const OPTIONS = new Map([
  ['--url', ['url', text]],
  ['--target', ['target', text]],
  ['--workload', ['workload', text]],
  ['--sidecar', ['sidecar', text]],
  ['--pid', ['pid', Number]],
  ['-c', ['connections', Number]],
  ['--connections', ['connections', Number]],
  ['-d', ['duration', Number]],
  ['--duration', ['duration', Number]],
  ['-w', ['warmup', Number]],
  ['--warmup', ['warmup', Number]],
  ['--pool', ['pool', Number]],
  ['--method', ['method', text]],
  ['--path', ['path', text]],
  ['--body', ['body', text]],
  ['--json', ['json']],
  ['--timeline', ['timeline']],
  ['-h', ['help']],
  ['--help', ['help']],
]);

function parseArgs(argv) {
  const a = { headers: {} };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--header') {
      const h = argv[++i];
      const j = h.indexOf(':');
      a.headers[h.slice(0, j).trim()] = h.slice(j + 1).trim();
      continue;
    }
    const option = OPTIONS.get(k);
    if (!option) throw new Error(`unknown argument ${k}`);
    const [field, read] = option;
    a[field] = read === undefined ? true : read(argv[++i]);
  }
  return a;
}

/** Template workload: {{seq}}, {{email}}, {{tag}} are substituted per request in path and body. */
export function templateWorkload({ method = 'GET', path: p = '/', body, headers = {} }) {
  const dynamic = /\{\{(seq|email|tag)\}\}/.test(`${p}${body ?? ''}`);
  const sub = (s, ctx) =>
    s
      .replace(/\{\{seq\}\}/g, String(ctx.seq))
      .replace(/\{\{email\}\}/g, () => ctx.email())
      .replace(/\{\{tag\}\}/g, ctx.tag);
  const wl = { name: `${method} ${p}`, describe: 'template request', method, path: p, headers: { ...headers } };
  if (body !== undefined && !headerGet(wl.headers, 'content-type')) wl.headers['content-type'] = 'application/json';
  if (dynamic) wl.build = (ctx) => ({ path: sub(p, ctx), body: body !== undefined ? sub(body, ctx) : undefined });
  else wl.body = body;
  return wl;
}

export async function loadTarget(file) {
  const mod = await import(pathToFileURL(path.resolve(file)).href);
  return mod.default || mod.target;
}

export async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.help || !a.url) {
    console.log(
      'usage: node harness/loadgen.mjs --url http://127.0.0.1:PORT (--target FILE --workload NAME [--sidecar URL] | --method M --path P [--body B] [--header "k: v"]) [--pid SERVER_PID] [-c 50] [-d 10] [-w 3] [--pool N] [--timeline] [--json]',
    );
    process.exit(a.help ? 0 : 2);
  }
  let workload;
  if (a.target) {
    const target = await loadTarget(a.target);
    workload = target.workloads[a.workload];
    if (!workload) throw new Error(`target ${target.name} has no workload ${a.workload}; has: ${Object.keys(target.workloads).join(', ')}`);
  } else {
    workload = templateWorkload(a);
  }
  const info = a.sidecar ? { sidecar: a.sidecar } : {};
  const r = await runWorkload({
    baseUrl: a.url,
    workload,
    info,
    connections: a.connections || 50,
    duration: a.duration || 10,
    warmup: a.warmup ?? 3,
    poolSize: a.pool,
    serverPid: a.pid,
    timeline: a.timeline,
    log: (m) => console.error(m),
  });
  if (r.timeline) for (const t of r.timeline) console.error(`  t=${t.sec}s n=${t.n} p50=${t.p50} p99=${t.p99} max=${t.max} ms`);
  if (a.json) console.log(JSON.stringify(r, null, 2));
  else
    console.log(
      `${r.workload}: ${r.rps.toFixed(0)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  non-2xx/3xx ${r.non2xx3xx}  errors ${r.errors}  check-fail ${r.checkFail}${r.pregen ? `  pregen ${r.pregen.got} in ${r.pregen.seconds} s` : ''}  cpu ${JSON.stringify(r.cpu)}`,
    );
}
