// The SQLite store's write path: group commit (one transaction per event-loop turn, one
// savepoint per command) and WAL checkpoints on a background thread.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { CreateAuthRequestCommand, Store, WindowLimit } from '@sesame/core';
import { openSqliteStore, type CheckpointOptions } from '@sesame/storage';
import { createGroupCommit } from '../src/sqlite/group-commit.js';
import { sendCommand } from './send-command.js';

const dirs: string[] = [];
const stores: Store[] = [];
const dbs: Database.Database[] = [];

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  for (const db of dbs.splice(0)) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-write-path-'));
  dirs.push(dir);
  return join(dir, 'sesame.db');
}

async function migrated(filename: string, checkpoint?: CheckpointOptions): Promise<Store> {
  const store = openSqliteStore({ filename, ...(checkpoint ? { checkpoint } : {}) });
  stores.push(store);
  await store.migrate();
  return store;
}

const T0 = 1_700_000_000_000;
/** A send for `emailKey` under `sendLimit`, at T0 unless a test says otherwise. */
function send(emailKey: string, sendLimit: WindowLimit, now = T0, id?: string): CreateAuthRequestCommand {
  return sendCommand({ emailKey, sendLimit, now, id });
}

describe('group commit', () => {
  function table(): Database.Database {
    const db = new Database(':memory:');
    dbs.push(db);
    db.exec('CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY, v INTEGER NOT NULL)');
    return db;
  }

  it('runs the commands of one turn in one transaction, in arrival order, each with its own result', async () => {
    const db = table();
    const group = createGroupCommit(db);
    const order: string[] = [];
    const insert = (k: string, v: number) => () => {
      order.push(k);
      // Each command sees the writes of the commands before it.
      const before = (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
      db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run(k, v);
      return `${k}:${before}`;
    };
    const results = await Promise.all([group.run(insert('a', 1)), group.run(insert('b', 2)), group.run(insert('c', 3))]);
    expect(results).toEqual(['a:0', 'b:1', 'c:2']);
    expect(order).toEqual(['a', 'b', 'c']);
    // Nothing threw: the batch ran once, without a savepoint per command.
    expect(group.stats()).toEqual({ batches: 1, commands: 3, isolatedRuns: 0 });
    // The next turn is the next batch.
    await group.run(insert('d', 4));
    expect(group.stats()).toEqual({ batches: 2, commands: 4, isolatedRuns: 0 });
  });

  it('rolls back only the command that throws; its neighbours commit and it gets its own error', async () => {
    const db = table();
    const group = createGroupCommit(db);
    const settled = await Promise.allSettled([
      group.run(() => db.prepare("INSERT INTO t (k, v) VALUES ('a', 1)").run().changes),
      group.run(() => {
        // Half done, then a failure: the half must not survive.
        db.prepare("INSERT INTO t (k, v) VALUES ('half', 2)").run();
        db.prepare("INSERT INTO t (k, v) VALUES ('a', 2)").run();
        return 'unreachable';
      }),
      group.run(() => db.prepare("INSERT INTO t (k, v) VALUES ('c', 3)").run().changes),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE constraint failed/);
    expect(db.prepare('SELECT k FROM t ORDER BY k').pluck().all()).toEqual(['a', 'c']);
    // One commit, after one rerun of the batch with a savepoint per command.
    expect(group.stats()).toEqual({ batches: 1, commands: 3, isolatedRuns: 1 });
    expect(db.inTransaction).toBe(false);
  });

  it('reruns a batch whose command threw from the start, so each command runs exactly once in what commits', async () => {
    const db = table();
    const group = createGroupCommit(db);
    const runs = { a: 0, b: 0, c: 0 };
    db.exec("INSERT INTO t (k, v) VALUES ('counter', 0)");
    const bump = (name: 'a' | 'c') => () => {
      runs[name] += 1;
      // Reads what the commands before it wrote, in this transaction: a partial first run kept
      // anywhere would show up here as a doubled count.
      db.prepare("UPDATE t SET v = v + 1 WHERE k = 'counter'").run();
      return db.prepare("SELECT v FROM t WHERE k = 'counter'").pluck().get();
    };
    const settled = await Promise.allSettled([
      group.run(bump('a')),
      group.run(() => {
        runs.b += 1;
        db.prepare("UPDATE t SET v = v + 100 WHERE k = 'counter'").run();
        throw new Error('refused');
      }),
      group.run(bump('c')),
    ]);
    expect(settled).toEqual([
      { status: 'fulfilled', value: 1 },
      { status: 'rejected', reason: new Error('refused') },
      { status: 'fulfilled', value: 2 },
    ]);
    expect(db.prepare("SELECT v FROM t WHERE k = 'counter'").pluck().get()).toBe(2);
    // First run: a and b (b threw, c never ran); the rerun: all three.
    expect(runs).toEqual({ a: 2, b: 2, c: 1 });
  });

  it('fails the whole batch when the transaction cannot start (nothing of it committed)', async () => {
    const filename = tempFile();
    const db = new Database(filename, { timeout: 50 });
    dbs.push(db);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 50');
    db.exec('CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY, v INTEGER NOT NULL)');
    const other = new Database(filename);
    dbs.push(other);
    other.exec('BEGIN IMMEDIATE');
    const group = createGroupCommit(db);
    const settled = await Promise.allSettled([
      group.run(() => db.prepare("INSERT INTO t (k, v) VALUES ('a', 1)").run().changes),
      group.run(() => db.prepare("INSERT INTO t (k, v) VALUES ('b', 2)").run().changes),
    ]);
    other.exec('ROLLBACK');
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(String((settled[0] as PromiseRejectedResult).reason)).toMatch(/locked|busy/i);
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(0);
    // No command was to blame: the batch is not run again (a second wait for the lock).
    expect(group.stats().isolatedRuns).toBe(0);
  });

  it('store: concurrent sends to one address with limit 2 accept exactly the first two, in arrival order', async () => {
    const store = await migrated(tempFile());
    const limit: WindowLimit = { max: 2, windowMs: 60_000 };
    const commands = Array.from({ length: 25 }, (_, i) => send('same@example.com', limit, T0 + i));
    const results = await Promise.all(commands.map((command) => store.createAuthRequest(command)));
    expect(results.map((r) => r.ok)).toEqual([true, true, ...Array<boolean>(23).fill(false)]);
    for (const r of results.slice(2)) expect(!r.ok && r.retryAfterMs > 0).toBe(true);
    expect(await store.outboxDepth()).toBe(2);
    for (const [i, command] of commands.entries()) {
      expect((await store.findAuthRequest(command.request.id, T0)) !== null).toBe(i < 2);
    }
  });

  it('store: a send that fails inside a batch (duplicate id) does not roll back its neighbours', async () => {
    const store = await migrated(tempFile());
    const limit: WindowLimit = { max: 10, windowMs: 60_000 };
    const first = send('a@example.com', limit);
    // Same auth request id, other address: the auth_requests insert fails after the limit check.
    const duplicate = send('b@example.com', limit, T0, first.request.id);
    const third = send('b@example.com', limit);
    const settled = await Promise.allSettled([first, duplicate, third].map((command) => store.createAuthRequest(command)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await store.findAuthRequest(first.request.id, T0))?.emailKey).toBe('a@example.com');
    expect((await store.findAuthRequest(third.request.id, T0))?.emailKey).toBe('b@example.com');
    // The failed send left nothing behind: no outbox row, and no count against b's limit.
    expect(await store.outboxDepth()).toBe(2);
    const more = await Promise.all(Array.from({ length: 10 }, () => store.createAuthRequest(send('b@example.com', limit))));
    expect(more.filter((r) => r.ok)).toHaveLength(9);
  });
});

describe('WAL checkpoints off the serving thread', () => {
  it('keeps the WAL file bounded under sustained writes', async () => {
    const filename = tempFile();
    const restartAbovePages = 256;
    const store = await migrated(filename, { intervalMs: 10, restartAbovePages });
    const limit: WindowLimit = { max: 1_000_000, windowMs: 60_000 };
    let largest = 0;
    // 300 turns of 40 concurrent sends: 12,000 sends, ~160 MB of WAL were nothing copied back.
    for (let turn = 0; turn < 300; turn++) {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => store.createAuthRequest(send(`u${turn}-${i}@example.com`, limit, T0 + turn))),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      largest = Math.max(largest, statSync(`${filename}-wal`).size);
      // Real time passes between turns, as between requests; the checkpointer runs on its own.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const db = new Database(filename, { readonly: true });
    dbs.push(db);
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const dbPages = statSync(filename).size / pageSize;
    // Checkpoints happened: the data reached the database file itself.
    expect(dbPages).toBeGreaterThan(restartAbovePages * 4);
    // Bounded: the restart threshold plus what is written while a checkpoint runs, which on a
    // busy machine can be several thresholds' worth; still far below the total written.
    expect(largest).toBeLessThanOrEqual(24 * restartAbovePages * pageSize);
  });

  it('stops its thread on close, after which the WAL is checkpointed and removed as usual', async () => {
    const filename = tempFile();
    const store = openSqliteStore({ filename });
    await store.migrate();
    await store.createAuthRequest(send('a@example.com', { max: 5, windowMs: 60_000 }));
    await store.close();
    expect(existsSync(`${filename}-wal`)).toBe(false);
    const db = new Database(filename, { readonly: true });
    dbs.push(db);
    expect(db.prepare('SELECT count(*) FROM auth_requests').pluck().get()).toBe(1);
  });
});
