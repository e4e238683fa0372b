/**
 * `npm run bench:send-floor`: what a send costs without HTTP — the server's engine (node:crypto
 * ports, SQLite store, group commit, outbox handoff) and the real outbox worker rendering and
 * handing every email to a transport that only counts it — per email, and per SQL statement.
 * It is the floor under REST send's CPU per request (how far it is from 10× Better Auth).
 *
 *   npm run bench:send-floor                       # 3 runs of 300 rounds of 50 concurrent sends
 *   npm run bench:send-floor -- --rounds 100 --runs 1
 *
 * - One process, no sockets, with the server's V8 flags (bin/node-flags.mjs; package.json's
 *   script repeats them, as bin/sesame.js's shebang does). `createApp` as `startSesame` builds
 *   it (production, no logging), `createOutboxWorker` as the server wires it (handoff, batches
 *   of 100), a fresh SQLite file.
 * - A round: `--batch` (50, the bench's connections) concurrent `engine.send` calls, then the
 *   worker delivers them all (nudged, bounded by 10 s). 40 untimed rounds warm up first.
 * - CPU: `process.cpuUsage()` of this process (all threads, so the SQLite checkpointer too),
 *   split into the sends (answered) and their delivery, over the timed rounds.
 * - Per statement (a last run): every better-sqlite3 statement's run/get/all timed with
 *   hrtime, grouped by SQL text, divided by the emails sent. Timing adds its own cost, so these
 *   are larger than their share of the CPU figure; they are for where the time goes.
 * - Bounded: rounds ≤ 2,000, runs ≤ 10, each delivery wait ≤ 10 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { CallerClient } from '@sesame/core';
import { createOutboxWorker, silentLogger, type MailTransport } from '@sesame/email';
import { createApp } from '@sesame/server';
import { openSqliteStore } from '@sesame/storage';
import { createNodePayloadSealer } from '../packages/server/src/passwordless/node-crypto.js';
import { BENCH_REDIRECT as REDIRECT, markdownTable } from './lib/closed-loop.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '300' },
    batch: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
  },
});
const ROUNDS = Math.min(2_000, Math.max(1, Number(values.rounds)));
const BATCH = Math.min(1_000, Math.max(1, Number(values.batch)));
const RUNS = Math.min(10, Math.max(1, Number(values.runs)));
const WARM_UP_ROUNDS = 40;
const DELIVERY_WAIT_MS = 10_000;
const SECRET = new Uint8Array(48).fill(7);

interface RunResult {
  readonly sendUs: number;
  readonly deliverUs: number;
}

/** Per SQL text: total ns and calls, while `enabled`. */
const statementTimes = new Map<string, { ns: bigint; calls: number }>();
let timeStatements = false;

/**
 * Wraps run/get/all of better-sqlite3's Statement prototype (the store's own copy of the module)
 * so that, while `timeStatements` is set, each call is timed under its SQL text.
 */
function instrumentStatements(): void {
  const require = createRequire(join(import.meta.dirname, '../packages/storage/package.json'));
  const Database = require('better-sqlite3') as new (file: string) => { prepare(sql: string): object; close(): void };
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<'run' | 'get' | 'all', (...args: unknown[]) => unknown>;
  probe.close();
  for (const method of ['run', 'get', 'all'] as const) {
    const original = proto[method];
    proto[method] = function timed(this: { source: string }, ...args: unknown[]): unknown {
      if (!timeStatements) return original.apply(this, args);
      const started = process.hrtime.bigint();
      try {
        return original.apply(this, args);
      } finally {
        const key = this.source.replace(/\s+/g, ' ').trim().slice(0, 72);
        const entry = statementTimes.get(key) ?? { ns: 0n, calls: 0 };
        entry.ns += process.hrtime.bigint() - started;
        entry.calls += 1;
        statementTimes.set(key, entry);
      }
    };
  }
}

async function run(timed: boolean): Promise<RunResult & { readonly emails: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-send-floor-'));
  const store = openSqliteStore({ filename: join(dir, 'sesame.db') });
  let delivered = 0;
  const transport: MailTransport = {
    kind: 'smtp',
    send: () => {
      delivered += 1;
      return Promise.resolve({ status: 'sent', reply: '250 counted' });
    },
    verify: () => Promise.resolve({ ok: true, detail: 'counting' }),
    close: () => Promise.resolve(),
  };
  try {
    await store.migrate();
    const caller: CallerClient = { id: 'bench', redirectUris: [{ uri: 'http://localhost:3000/', match: 'prefix' }] };
    await store.createApiClient({
      id: caller.id,
      name: 'bench',
      secretHash: 'unused',
      redirectUris: caller.redirectUris,
      createdAt: Date.now(),
      revokedAt: null,
      lastUsedAt: null,
      secretVersion: 1,
      sendsPerMinute: null,
    });
    const worker = createOutboxWorker({
      store,
      sealer: createNodePayloadSealer(SECRET),
      transport,
      logger: silentLogger,
      ownerId: 'send-floor',
      batchSize: 100,
    });
    const sesame = createApp({
      store,
      secret: SECRET,
      production: true,
      publicUrl: 'http://127.0.0.1',
      devInbox: false,
      adminUiDist: null,
      logger: pino({ level: 'silent' }),
      outbox: worker.handoff,
      // One client sends thousands a second here: budgets high enough that they are counted, never met.
      sendBudgets: { perClientPerMinute: 1_000_000, deploymentPerMinute: 10_000_000 },
    });
    worker.start();
    let sequence = 0;
    const sendRound = () =>
      Promise.all(
        Array.from({ length: BATCH }, () =>
          sesame.engine.send({ email: `floor-${sequence++}@example.com`, magiclinkAuthUri: REDIRECT }, caller),
        ),
      );
    const deliverAll = async () => {
      const deadline = Date.now() + DELIVERY_WAIT_MS;
      while (delivered < sequence && Date.now() < deadline) {
        worker.nudge();
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      if (delivered < sequence) throw new Error(`${sequence - delivered} emails not delivered within ${DELIVERY_WAIT_MS} ms`);
    };
    for (let i = 0; i < WARM_UP_ROUNDS; i++) {
      await sendRound();
      await deliverAll();
    }
    const emailsBefore = sequence;
    let sendMicros = 0;
    let deliverMicros = 0;
    timeStatements = timed;
    for (let i = 0; i < ROUNDS; i++) {
      const before = process.cpuUsage();
      await sendRound();
      const sent = process.cpuUsage(before);
      await deliverAll();
      const all = process.cpuUsage(before);
      sendMicros += sent.user + sent.system;
      deliverMicros += all.user + all.system - (sent.user + sent.system);
    }
    timeStatements = false;
    const emails = sequence - emailsBefore;
    await worker.stop();
    return { sendUs: sendMicros / emails, deliverUs: deliverMicros / emails, emails };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: RunResult[] = [];
for (let i = 0; i < RUNS; i++) results.push(await run(false));
// Only now: the untimed runs' statements go through better-sqlite3's own methods, unwrapped.
instrumentStatements();
const timedRun = await run(true);

console.log(`\n## A send without HTTP: engine + outbox worker, ${ROUNDS} rounds of ${BATCH} concurrent sends per run\n`);
console.log(
  markdownTable(
    ['run', 'send µs/email', 'delivery µs/email', 'total µs/email'],
    results.map((r, i) => [String(i + 1), r.sendUs.toFixed(1), r.deliverUs.toFixed(1), (r.sendUs + r.deliverUs).toFixed(1)]),
  ),
);
const totals = results.map((r) => r.sendUs + r.deliverUs).sort((a, b) => a - b);
console.log(
  `\ntotal per email: ${totals[0]!.toFixed(1)}–${totals.at(-1)!.toFixed(1)} µs (median ${totals[Math.floor(totals.length / 2)]!.toFixed(1)})`,
);

const rows = [...statementTimes].sort((a, b) => Number(b[1].ns - a[1].ns));
const perEmail = (ns: bigint) => Number(ns) / 1000 / timedRun.emails;
const sqlTotal = rows.reduce((sum, [, entry]) => sum + perEmail(entry.ns), 0);
console.log(`\n## Where SQLite's time goes (a timed run of ${timedRun.emails} emails; timing adds its own cost)\n`);
console.log(
  markdownTable(
    ['µs per email', 'calls per email', 'statement'],
    rows
      .filter(([, entry]) => perEmail(entry.ns) >= 0.05)
      .map(([sql, entry]) => [perEmail(entry.ns).toFixed(2), (entry.calls / timedRun.emails).toFixed(2), `\`${sql}\``]),
  ),
);
console.log(
  `\nSQLite statements in all: ${sqlTotal.toFixed(1)} µs per email (timed run: ${(timedRun.sendUs + timedRun.deliverUs).toFixed(1)} µs per email in all)`,
);
