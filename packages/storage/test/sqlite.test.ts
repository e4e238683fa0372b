import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createCredentialHasher, cryptoRandom, generateId, generateLinkToken, generateOtp, DAY_MS, type Store } from '@sesame/core';
import { LATEST_VERSION, MIGRATIONS, isPostgresUrl, openSqliteStore, openStore, sqliteFilename } from '@sesame/storage';
import { runStoreConformance } from '@sesame/storage/conformance';
import { MINUTE, newRequest, revokeClientWithEmails, T0 } from '../src/conformance/fixtures.js';
import { sendCommand } from './send-command.js';
import { INSERT_OLD_CLIENT, expectOldClientUpgraded } from './upgrade.js';

const dirs: string[] = [];

/** Takes a migrated database back to version 4, so an upgrade test starts from an older schema. */
function undoVersion5(raw: Database.Database): void {
  raw.exec(`DROP TABLE send_budget; DROP TABLE admin_sessions;
    ALTER TABLE api_clients DROP COLUMN secret_version; ALTER TABLE api_clients DROP COLUMN sends_per_minute;
    DELETE FROM schema_migrations WHERE version = 5`);
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-sqlite-'));
  dirs.push(dir);
  return dir;
}

runStoreConformance({
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-conformance-'));
    const filename = join(dir, 'sesame.db');
    const store = openSqliteStore({ filename });
    return Promise.resolve({
      store,
      url: `file:${filename}`,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
});

describe('SQLite specifics', () => {
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function migrated(filename: string): Promise<Store> {
    const store = openSqliteStore({ filename });
    stores.push(store);
    await store.migrate();
    return store;
  }

  it('reads file: URLs, file:// URLs and plain paths', () => {
    const read: [url: string, filename: string][] = [
      ['file:./.sesame/sesame.db', './.sesame/sesame.db'],
      ['file:/var/lib/sesame.db', '/var/lib/sesame.db'],
      ['file:///var/lib/sesame%20db.db', '/var/lib/sesame db.db'],
      ['data/sesame.db', 'data/sesame.db'],
      ['/abs/sesame.db', '/abs/sesame.db'],
    ];
    for (const [url, filename] of read) expect(sqliteFilename(url), url).toBe(filename);
    const refused: [url: string, why: RegExp][] = [
      ['postgres://u:p@localhost/sesame', /names PostgreSQL, not a SQLite file/],
      ['postgresql://localhost/sesame', /names PostgreSQL/],
      ['mysql://localhost/sesame', /Unsupported database URL scheme "mysql:"/],
      ['  ', /empty/],
    ];
    for (const [url, why] of refused) expect(() => sqliteFilename(url), url).toThrow(why);
    expect([
      isPostgresUrl('postgres://u@h/db'),
      isPostgresUrl(' PostgreSQL://h/db'),
      isPostgresUrl('file:./postgres.db'),
      isPostgresUrl('postgres.db'),
    ]).toEqual([true, true, false, false]);
  });

  it('opens the same database from a relative file: URL, an absolute one and a plain path, creating the directory', async () => {
    const dir = tempDir();
    const filename = join(dir, 'nested', 'deeper', 'sesame.db');
    const first = openStore(`file:./${relative(process.cwd(), filename)}`);
    stores.push(first);
    await first.migrate();
    await first.putSetting('k', 'v', 1);
    const second = openStore(`file:${filename}`);
    const third = openStore(filename);
    stores.push(second, third);
    expect(await second.getSetting('k')).toBe('v');
    expect(await third.getSetting('k')).toBe('v');
    // A PostgreSQL URL opens a PostgreSQL store (lazily: nothing connects until it is used).
    const postgres = openStore('postgres://localhost/sesame');
    expect(postgres).not.toBe(first);
    await postgres.close();
  });

  it('puts the file in WAL mode and records each migration once', async () => {
    const filename = join(tempDir(), 'sesame.db');
    const store = await migrated(filename);
    await store.migrate();
    const raw = new Database(filename, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual(
        MIGRATIONS.map((m) => ({ version: m.version })),
      );
    } finally {
      raw.close();
    }
    expect(await store.ready()).toBe(true);
  });

  it('upgrades the send log to resends only (v3): a send made just before the upgrade counts once', async () => {
    const filename = join(tempDir(), 'sesame.db');
    const store = await migrated(filename);
    const limit = { max: 2, windowMs: MINUTE };
    const sent = await newRequest({ email: 'upgrade@example.com', now: T0, sendLimit: limit });
    expect(await store.createAuthRequest(sent.command)).toEqual({ ok: true });
    // What version 2 had written by then: the send's own log row, and a resend's.
    const raw = new Database(filename);
    raw
      .prepare('INSERT INTO send_log (email_key, at) VALUES (?, ?), (?, ?)')
      .run('upgrade@example.com', T0, 'upgrade@example.com', T0 + 500);
    undoVersion5(raw);
    raw.prepare('DELETE FROM schema_migrations WHERE version >= 3').run();
    await store.migrate();
    expect(raw.prepare('SELECT at FROM send_log ORDER BY at').all()).toEqual([{ at: T0 + 500 }]);
    raw.close();
    // The send and the resend: two, so the next is refused until the send ages out.
    const next = await newRequest({ email: 'upgrade@example.com', now: T0 + 1000, sendLimit: limit });
    expect(await store.createAuthRequest(next.command)).toEqual({ ok: false, retryAfterMs: MINUTE - 1000, scope: 'address' });
  });

  it('indexes only the queued outbox rows (v4), in the order the claim reads them', async () => {
    const filename = join(tempDir(), 'sesame.db');
    const store = await migrated(filename);
    const raw = new Database(filename);
    // A database as version 3 left it: the old index on every row.
    undoVersion5(raw);
    raw.exec(
      'DROP INDEX outbox_queued; CREATE INDEX outbox_due ON outbox (status, next_attempt_at); DELETE FROM schema_migrations WHERE version = 4',
    );
    await store.migrate();
    const indexes = raw
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox' AND sql IS NOT NULL ORDER BY name")
      .all();
    expect(indexes).toEqual([
      { name: 'outbox_auth_request', sql: expect.any(String) as unknown },
      { name: 'outbox_queued', sql: expect.stringContaining("WHERE status = 'queued'") as unknown },
    ]);
    const plan = raw
      .prepare(
        `EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= 1 AND (lease_until IS NULL OR lease_until <= 1)
         ORDER BY next_attempt_at, id LIMIT 10`,
      )
      .all() as { detail: string }[];
    // Read in index order: no sort of the candidates.
    expect(plan.map((step) => step.detail)).toEqual([expect.stringContaining('USING INDEX outbox_queued')]);
    raw.close();
    expect(await store.ready()).toBe(true);
  });

  it('upgrades clients to secret version 1 and the default send budget (v5), keeping them usable', async () => {
    const filename = join(tempDir(), 'sesame.db');
    const store = await migrated(filename);
    const raw = new Database(filename);
    undoVersion5(raw);
    // A client as version 4 stored it.
    raw.prepare(INSERT_OLD_CLIENT).run();
    raw.close();
    await expectOldClientUpgraded(store);
  });

  it('creates the database and its WAL readable by the owner only', async () => {
    const filename = join(tempDir(), 'sesame.db');
    const store = await migrated(filename);
    await store.putSetting('k', 'v', 1);
    expect(statSync(filename).mode & 0o777).toBe(0o600);
    expect(statSync(`${filename}-wal`).mode & 0o777).toBe(0o600);
  });

  it('is not ready, and refuses to migrate, when the database is newer than the code', async () => {
    const filename = join(tempDir(), 'sesame.db');
    const store = await migrated(filename);
    const raw = new Database(filename);
    raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(LATEST_VERSION + 1, 'future', 0);
    raw.close();
    expect(await store.ready()).toBe(false);
    await expect(store.migrate()).rejects.toThrow(/newer than this Sesame build/);
  });

  it('is not ready when closed', async () => {
    const store = await migrated(join(tempDir(), 'sesame.db'));
    await store.close();
    expect(await store.ready()).toBe(false);
  });

  it('never writes a raw code or link token, and wipes sealed payloads once settled', async () => {
    const dir = tempDir();
    const filename = join(dir, 'sesame.db');
    const store = await migrated(filename);
    const hasher = createCredentialHasher(new Uint8Array(32).fill(9));
    const secrets: string[] = [];
    const outboxIds: string[] = [];

    async function send(now: number): Promise<string> {
      const id = generateId(cryptoRandom);
      const otp = generateOtp(cryptoRandom, 'NUMERIC', 8);
      const linkToken = generateLinkToken(cryptoRandom, Date.now());
      secrets.push(otp, linkToken);
      const outboxId = generateId(cryptoRandom);
      outboxIds.push(outboxId);
      const digests = {
        otpHash: await hasher.digest('otp', id, otp),
        linkTokenHash: await hasher.digest('link', id, linkToken),
        linkLookup: await hasher.digest('link-lookup', '', linkToken),
      };
      const result = await store.createAuthRequest(
        sendCommand({
          emailKey: 'a@example.com',
          sendLimit: { max: 100, windowMs: 60_000 },
          now,
          id,
          ttlMs: 60_000,
          digests,
          outboxId,
          // The sealed payload is opaque to the store; fixed bytes are enough to see it wiped.
          sealedPayload: new Uint8Array([1, 2, 3, 4]),
        }),
      );
      expect(result.ok).toBe(true);
      return id;
    }

    const sent = await send(1_000);
    const failed = await send(1_001);
    const resent = await send(1_002);
    const [a, b] = await store.claimOutbox({ owner: 'w', now: 1_001, leaseMs: 10_000, limit: 2 });
    expect([a?.authRequestId, b?.authRequestId]).toEqual([sent, failed]);
    expect(await store.markOutboxSent({ id: a!.id, owner: 'w', now: 1_100, detail: null })).toBe(true);
    expect(await store.markOutboxFailed({ id: b!.id, owner: 'w', now: 1_100, detail: null })).toBe(true);
    const newOutbox = generateId(cryptoRandom);
    const reissued = await store.reissueCredentials({
      id: resent,
      clientId: 'c',
      budgets: [],
      digests: { otpHash: new Uint8Array(32), linkTokenHash: new Uint8Array(32).fill(1), linkLookup: new Uint8Array(32).fill(2) },
      email: { id: newOutbox, authRequestId: resent, createdAt: 1_200, sealedPayload: new Uint8Array([5, 6, 7, 8]) },
      sendLimit: { max: 100, windowMs: 60_000 },
      now: 1_200,
    });
    expect(reissued.outcome).toBe('reissued');

    const raw = new Database(filename, { readonly: true });
    try {
      const rows = raw.prepare('SELECT id, status, sealed_payload FROM outbox').all() as {
        id: string;
        status: string;
        sealed_payload: Buffer | null;
      }[];
      const byId = new Map(rows.map((row) => [row.id, row]));
      expect(byId.get(outboxIds[0]!)).toMatchObject({ status: 'sent', sealed_payload: null });
      expect(byId.get(outboxIds[1]!)).toMatchObject({ status: 'failed', sealed_payload: null });
      expect(byId.get(outboxIds[2]!)).toMatchObject({ status: 'superseded', sealed_payload: null });
      expect(byId.get(newOutbox)?.status).toBe('queued');
      expect([...(byId.get(newOutbox)?.sealed_payload ?? [])]).toEqual([5, 6, 7, 8]);
    } finally {
      raw.close();
    }
    // Every byte SQLite wrote, in the database and its write-ahead log.
    const files = [filename, `${filename}-wal`].filter((file) => existsSync(file)).map((file) => readFileSync(file));
    expect(files.length).toBeGreaterThan(0);
    for (const secret of secrets) for (const file of files) expect(file.includes(secret)).toBe(false);
  });

  it('wipes the sealed payload and the lease of every email a revocation fails', async () => {
    const filename = join(tempDir(), 'sesame.db');
    const store = await migrated(filename);
    const { queued, leased, other, revoked } = await revokeClientWithEmails(store);
    expect(revoked).toBe(true);
    const raw = new Database(filename, { readonly: true });
    try {
      const rows = raw
        .prepare('SELECT id, status, sealed_payload IS NULL AS wiped, lease_owner, lease_until FROM outbox ORDER BY id')
        .all();
      expect(rows).toEqual(
        [
          { id: queued.email.id, status: 'failed', wiped: 1, lease_owner: null, lease_until: null },
          { id: leased.email.id, status: 'failed', wiped: 1, lease_owner: null, lease_until: null },
          { id: other.email.id, status: 'queued', wiped: 0, lease_owner: null, lease_until: null },
        ].sort((a, b) => (a.id < b.id ? -1 : 1)),
      );
    } finally {
      raw.close();
    }
  });

  it('prunes old send-log and failure rows in bounded batches, keeping what a window may still need', async () => {
    const filename = join(tempDir(), 'sesame.db');
    const store = await migrated(filename);
    const now = 100 * DAY_MS;
    const raw = new Database(filename);
    try {
      const insert = (table: string, at: number, count: number): void => {
        const statement = raw.prepare(`INSERT INTO ${table} (email_key, at) VALUES ('k', ?)`);
        for (let i = 0; i < count; i++) statement.run(at);
      };
      insert('send_log', now - DAY_MS - 1, 5);
      insert('send_log', now - DAY_MS, 2);
      insert('otp_failures', now - 2 * DAY_MS, 4);
      insert('otp_failures', now - 7 * DAY_MS - 1, 5);
      const countOf = (table: string): number => (raw.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

      expect(await store.sweepExpired({ expiredBefore: now, now, batchSize: 3 })).toEqual({ authRequests: 0, sendLog: 3, otpFailures: 3 });
      expect([countOf('send_log'), countOf('otp_failures')]).toEqual([4, 6]);
      await store.sweepExpired({ expiredBefore: now, now, batchSize: 3 });
      await store.sweepExpired({ expiredBefore: now, now, batchSize: 3 });
      // Rows exactly a day old may still be in a one-day window; failures are kept for 7 days.
      expect([countOf('send_log'), countOf('otp_failures')]).toEqual([2, 4]);
    } finally {
      raw.close();
    }
  });

  it('waits up to busyTimeoutMs for another connection’s writer, then fails', async () => {
    const filename = join(tempDir(), 'sesame.db');
    const store = await migrated(filename);
    const blocker = new Database(filename);
    blocker.exec('BEGIN IMMEDIATE');
    const quick = openSqliteStore({ filename, busyTimeoutMs: 50 });
    stores.push(quick);
    const started = Date.now();
    await expect(quick.putSetting('k', 'v', 1)).rejects.toThrow(/locked|busy/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    blocker.exec('COMMIT');
    blocker.close();
    await quick.putSetting('k', 'v', 1);
    expect(await store.getSetting('k')).toBe('v');
  });
});
