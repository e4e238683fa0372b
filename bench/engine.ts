/**
 * Engine throughput on the SQLite store, next to what the same database does bare.
 *
 *   npm run bench:engine
 *
 * - baseline: one transaction per operation holding one INSERT and one UPDATE, through
 *   better-sqlite3 on a file with the store's settings (WAL, synchronous=NORMAL).
 * - send: `engine.send` (parse, 1 HMAC, AES-GCM seal, one transaction writing the request, its
 *   outbox row and event, and the send-limit count).
 * - verify: `engine.verify` by code (parse, 1 HMAC, one IMMEDIATE transaction: address cap check
 *   and the consuming UPDATE), on the requests the send phase created, with codes recovered from
 *   the outbox as the email worker would.
 *
 * Each phase runs one operation at a time, for at most PHASE_MS or MAX_OPS operations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  createCredentialHasher,
  createEngine,
  createPayloadSealer,
  cryptoRandom,
  defaultPolicy,
  openOutboxPayload,
  systemClock,
  type Policy,
} from '@sesame/core';
import { openSqliteStore } from '@sesame/storage';

const PHASE_MS = 3_000;
const MAX_OPS = 200_000;
const WARM_UP_OPS = 200;

interface Phase {
  readonly name: string;
  readonly ops: number;
  readonly ms: number;
}

/** Runs `op(i)` sequentially until the time or count bound, whichever comes first. */
async function measure(name: string, limit: number, op: (i: number) => unknown): Promise<Phase> {
  const start = performance.now();
  const deadline = start + PHASE_MS;
  let ops = 0;
  while (ops < limit && performance.now() < deadline) {
    await op(ops);
    ops++;
  }
  return { name, ops, ms: performance.now() - start };
}

function baseline(dir: string): Promise<Phase> {
  const db = new Database(join(dir, 'baseline.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE items (
    id TEXT PRIMARY KEY, email TEXT NOT NULL, digest BLOB NOT NULL, created_at INTEGER NOT NULL, consumed_at INTEGER
  ) STRICT`);
  const insert = db.prepare('INSERT INTO items (id, email, digest, created_at) VALUES (?, ?, ?, ?)');
  const update = db.prepare('UPDATE items SET consumed_at = ? WHERE id = ?');
  const digest = cryptoRandom.bytes(32);
  const operation = db.transaction((i: number) => {
    const id = `item-${i}`;
    insert.run(id, `user${i}@example.com`, digest, Date.now());
    update.run(Date.now(), id);
  });
  for (let i = 0; i < WARM_UP_OPS; i++) operation(-1 - i);
  return measure('baseline: INSERT + UPDATE', MAX_OPS, (i) => operation(i)).finally(() => db.close());
}

async function engineRun(dir: string): Promise<Phase[]> {
  const store = openSqliteStore({ filename: join(dir, 'sesame.db') });
  await store.migrate();
  const secret = cryptoRandom.bytes(32);
  const sealer = createPayloadSealer(secret);
  // OTP only, so verify-by-code is the whole story; every address distinct and a generous cap,
  // so no limit ever answers instead of the database.
  const policy: Policy = {
    ...defaultPolicy({ production: false }),
    passwordlessType: 'OTP',
    expirySeconds: 3600,
    failedOtpPerAddress: { max: 10_000, windowMs: 24 * 60 * 60 * 1000 },
  };
  const engine = createEngine({
    store,
    clock: systemClock,
    random: cryptoRandom,
    hasher: createCredentialHasher(secret),
    sealer,
    policy: () => policy,
  });
  const caller = { id: 'bench', redirectUris: [] };
  const send = (tag: string) => engine.send({ email: `user-${tag}@example.com`, template: 'SIGNIN' }, caller);

  for (let i = 0; i < WARM_UP_OPS; i++) await send(`warm-${i}`);
  const sendPhase = await measure('engine send', MAX_OPS, (i) => send(String(i)));

  // Recover the codes from the outbox, as the email worker would; warm-up requests come first.
  const codes: { authRequestId: string; code: string }[] = [];
  for (;;) {
    const claims = await store.claimOutbox({ owner: 'bench', now: Date.now(), leaseMs: 3_600_000, limit: 1_000 });
    if (claims.length === 0) break;
    for (const claim of claims) {
      const payload = await openOutboxPayload(sealer, claim.id, claim.sealedPayload);
      if (payload.otp !== null) codes.push({ authRequestId: claim.authRequestId, code: payload.otp });
    }
  }
  const warm = codes.splice(0, WARM_UP_OPS);
  for (const { authRequestId, code } of warm) await engine.verify({ authRequestId, code }, caller);
  const verifyPhase = await measure('engine verify (code)', codes.length, async (i) => {
    const { authRequestId, code } = codes[i]!;
    await engine.verify({ authRequestId, code }, caller);
  });
  await store.close();
  return [sendPhase, verifyPhase];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-'));
  try {
    const base = await baseline(dir);
    const phases = await engineRun(dir);
    const rate = (phase: Phase): number => (phase.ops * 1000) / phase.ms;
    const rows = [base, ...phases].map((phase) => [
      phase.name,
      String(phase.ops),
      (phase.ms / 1000).toFixed(2),
      rate(phase).toFixed(0),
      (rate(phase) / rate(base)).toFixed(2),
    ]);
    const header = ['operation', 'ops', 'seconds', 'ops/s', 'vs baseline'];
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    const line = (cells: readonly string[]): string =>
      cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
    const probe = new Database(':memory:');
    const version = String(probe.prepare('SELECT sqlite_version()').pluck().get());
    probe.close();
    console.log(`SQLite ${version}, WAL, synchronous=NORMAL, ${PHASE_MS / 1000} s per phase, one operation at a time`);
    console.log(line(header));
    for (const row of rows) console.log(line(row));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
