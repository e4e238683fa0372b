/**
 * The PostgreSQL store on a private cluster (Debian's postgresql-15, 127.0.0.1, a free port):
 * the conformance suite, the same test body SQLite runs, then what only PostgreSQL has: many
 * instances migrating at once, bounded waits, and a database that goes away and comes back.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '@sesame/core';
import {
  POSTGRES_LATEST_VERSION,
  POSTGRES_MIGRATIONS,
  StoreUnavailableError,
  isStoreUnavailable,
  openPostgresStore,
  openStore,
  type PostgresStoreOptions,
} from '@sesame/storage';
import { runStoreConformance } from '@sesame/storage/conformance';
import { GENEROUS, MINUTE, T0, newRequest, otpDigest, revokeClientWithEmails } from '../src/conformance/fixtures.js';
import { queryPostgres, startPostgresCluster, type PostgresCluster } from '@sesame/testkit';
import { INSERT_OLD_CLIENT, expectOldClientUpgraded } from './upgrade.js';

let cluster: PostgresCluster;
let started = false;
let databases = 0;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  started = true;
});

afterAll(async () => {
  if (started) await cluster.stop();
});

/** Takes a migrated database back to version 3, so an upgrade test starts from an older schema. */
async function undoVersion5(url: string): Promise<void> {
  await queryPostgres(
    url,
    `DROP TABLE send_budget; DROP TABLE admin_sessions;
     ALTER TABLE api_clients DROP COLUMN secret_version, DROP COLUMN sends_per_minute;
     DELETE FROM schema_migrations WHERE version = 5`,
  );
}

/** A fresh, empty database (CREATE DATABASE over a connection: faster than spawning createdb). */
async function freshDatabase(): Promise<{ name: string; url: string }> {
  const name = `sesame_${process.pid}_${++databases}`;
  await queryPostgres(cluster.url, `CREATE DATABASE ${name}`);
  return { name, url: cluster.url.replace(/\/postgres$/, `/${name}`) };
}

async function dropDatabase(name: string): Promise<void> {
  await queryPostgres(cluster.url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

runStoreConformance({
  name: 'postgres',
  async open() {
    const { name, url } = await freshDatabase();
    const store = openStore(url);
    return {
      store,
      url,
      async dispose() {
        await store.close();
        await dropDatabase(name);
      },
    };
  },
});

describe('PostgreSQL specifics', () => {
  const stores: Store[] = [];
  const names: string[] = [];

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    for (const name of names.splice(0)) await dropDatabase(name);
  });

  async function database(): Promise<string> {
    const { name, url } = await freshDatabase();
    names.push(name);
    return url;
  }

  function open(url: string, options: Partial<PostgresStoreOptions> = {}): Store {
    const store = openPostgresStore({ url, ...options });
    stores.push(store);
    return store;
  }

  it('migrates once when many instances start together, each on its own pool', async () => {
    const url = await database();
    const instances = Array.from({ length: 8 }, () => open(url, { poolSize: 2 }));
    await Promise.all(instances.map((store) => store.migrate()));
    expect(await Promise.all(instances.map((store) => store.ready()))).toEqual(instances.map(() => true));
    await Promise.all(instances.map((store) => store.migrate()));
    const versions = await queryPostgres<{ version: number }>(url, 'SELECT version FROM schema_migrations ORDER BY version');
    expect(versions).toEqual(POSTGRES_MIGRATIONS.map((step) => ({ version: step.version })));
    expect(POSTGRES_LATEST_VERSION).toBe(POSTGRES_MIGRATIONS.at(-1)!.version);
  });

  it('waits for another instance’s migration beyond the statement timeout', async () => {
    const url = await database();
    const store = open(url, { statementTimeoutMs: 200 });
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT pg_advisory_xact_lock(hashtextextended('sesame:migrate', 0))");
      const migrating = store.migrate();
      await new Promise((r) => setTimeout(r, 600));
      expect(await store.ready()).toBe(false);
      await holder.query('COMMIT');
      await migrating;
    } finally {
      await holder.end();
    }
    expect(await store.ready()).toBe(true);
  });

  it('upgrades the send log to resends only (v3): a send made just before the upgrade counts once', async () => {
    const url = await database();
    const store = open(url);
    await store.migrate();
    const limit = { max: 2, windowMs: MINUTE };
    const sent = await newRequest({ email: 'upgrade@example.com', now: T0, sendLimit: limit });
    expect(await store.createAuthRequest(sent.command)).toEqual({ ok: true });
    // What version 2 had written by then: the send's own log row, and a resend's.
    await queryPostgres(url, 'INSERT INTO send_log (email_key, at) VALUES ($1, $2), ($1, $3)', ['upgrade@example.com', T0, T0 + 500]);
    await undoVersion5(url);
    await queryPostgres(url, 'DELETE FROM schema_migrations WHERE version = 3');
    await store.migrate();
    expect(await queryPostgres<{ at: string }>(url, 'SELECT at FROM send_log ORDER BY at')).toEqual([{ at: String(T0 + 500) }]);
    // The send and the resend: two, so the next is refused until the send ages out.
    const next = await newRequest({ email: 'upgrade@example.com', now: T0 + 1000, sendLimit: limit });
    expect(await store.createAuthRequest(next.command)).toEqual({ ok: false, retryAfterMs: MINUTE - 1000, scope: 'address' });
  });

  it('upgrades clients to secret version 1 and the default send budget (v5), keeping them usable', async () => {
    const url = await database();
    const store = open(url);
    await store.migrate();
    await undoVersion5(url);
    // A client as version 3 stored it.
    await queryPostgres(url, INSERT_OLD_CLIENT);
    await expectOldClientUpgraded(store);
  });

  it('is not ready, and refuses to migrate, when the database is newer than the code', async () => {
    const url = await database();
    const store = open(url);
    await store.migrate();
    await queryPostgres(url, 'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
      POSTGRES_LATEST_VERSION + 1,
      'future',
      0,
    ]);
    expect(await store.ready()).toBe(false);
    await expect(store.migrate()).rejects.toThrow(/newer than this Sesame build/);
  });

  it('reads times as numbers and digests as plain Uint8Array, without touching pg’s global type parsers', async () => {
    const store = open(await database());
    await store.migrate();
    const request = await newRequest();
    expect(await store.createAuthRequest(request.command)).toEqual({ ok: true });
    const [claim] = await store.claimOutbox({ owner: 'w', now: T0, leaseMs: 1000, limit: 1 });
    expect(Object.getPrototypeOf(claim!.sealedPayload)).toBe(Uint8Array.prototype);
    expect(typeof claim!.createdAt).toBe('number');
    // The process-wide registry still answers int8 as text: other pg users are not affected.
    expect(pg.types.getTypeParser(pg.types.builtins.INT8, 'text')('12')).toBe('12');
  });

  it('wipes sealed payloads once settled or superseded', async () => {
    const url = await database();
    const store = open(url);
    await store.migrate();
    const sent = await newRequest({ now: T0 });
    const resent = await newRequest({ now: T0 + 1 });
    for (const request of [sent, resent]) expect(await store.createAuthRequest(request.command)).toEqual({ ok: true });
    await store.claimOutbox({ owner: 'w', now: T0, leaseMs: 10_000, limit: 1 });
    expect(await store.markOutboxSent({ id: sent.email.id, owner: 'w', now: T0 + 5, detail: null })).toBe(true);
    const fresh = await newRequest();
    const reissued = await store.reissueCredentials({
      id: resent.id,
      clientId: 'client-a',
      budgets: [],
      digests: fresh.digests,
      email: { ...fresh.email, authRequestId: resent.id },
      sendLimit: GENEROUS,
      now: T0 + 10,
    });
    expect(reissued.outcome).toBe('reissued');
    const rows = await queryPostgres<{ id: string; status: string; wiped: boolean }>(
      url,
      'SELECT id, status, sealed_payload IS NULL AS wiped FROM outbox ORDER BY status',
    );
    expect(rows).toEqual([
      { id: fresh.email.id, status: 'queued', wiped: false },
      { id: sent.email.id, status: 'sent', wiped: true },
      { id: resent.email.id, status: 'superseded', wiped: true },
    ]);
  });

  it('wipes the sealed payload and the lease of every email a revocation fails', async () => {
    const url = await database();
    const store = open(url);
    await store.migrate();
    const { queued, leased, other, revoked } = await revokeClientWithEmails(store);
    expect(revoked).toBe(true);
    const rows = await queryPostgres<{ id: string; status: string; wiped: boolean; lease_owner: string | null }>(
      url,
      'SELECT id, status, sealed_payload IS NULL AS wiped, lease_owner FROM outbox ORDER BY id COLLATE "C"',
    );
    expect(rows).toEqual(
      [
        { id: queued.email.id, status: 'failed', wiped: true, lease_owner: null },
        { id: leased.email.id, status: 'failed', wiped: true, lease_owner: null },
        { id: other.email.id, status: 'queued', wiped: false, lease_owner: null },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
  });

  it('bounds a wait on a busy address by the statement timeout, and says unavailable', async () => {
    const url = await database();
    const store = open(url, { statementTimeoutMs: 300 });
    await store.migrate();
    const request = await newRequest({ email: 'held@example.com' });
    // Another session holds the address lock (as a stuck instance would).
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT pg_advisory_xact_lock(hashtextextended('sesame:address:' || $1::text, 0))", [
        request.command.request.emailKey,
      ]);
      const started = Date.now();
      const error: unknown = await store.createAuthRequest(request.command).then(
        () => null,
        (caught: unknown) => caught,
      );
      const waited = Date.now() - started;
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(isStoreUnavailable(error)).toBe(true);
      expect((error as StoreUnavailableError).code).toBe('STORE_UNAVAILABLE');
      expect(waited).toBeGreaterThanOrEqual(250);
      expect(waited).toBeLessThan(5_000);
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    // Nothing was written by the refused send, and the address works again.
    expect(await store.findAuthRequest(request.id, T0)).toBeNull();
    expect(await store.createAuthRequest(request.command)).toEqual({ ok: true });
  });

  it('fails fast with StoreUnavailableError while the database is down, and recovers by itself', async () => {
    const url = await database();
    const store = open(url, { connectTimeoutMs: 1_000, statementTimeoutMs: 2_000 });
    await store.migrate();
    const before = await newRequest();
    expect(await store.createAuthRequest(before.command)).toEqual({ ok: true });
    // Keep a few connections in the pool so the outage hits pooled ones as well as new ones.
    await Promise.all(Array.from({ length: 4 }, () => store.getSetting('warm')));

    await cluster.stopServer();
    try {
      const during = await newRequest();
      const calls: (() => Promise<unknown>)[] = [
        () => store.findAuthRequest(before.id, T0),
        () => store.createAuthRequest(during.command),
        async () =>
          store.consumeWithOtp({
            id: before.id,
            clientId: 'client-a',
            otpHash: await otpDigest(before.id, before.otp!),
            now: T0 + 1,
            maxAttempts: 5,
            addressFailureLimit: GENEROUS,
          }),
        () => store.claimOutbox({ owner: 'w', now: T0, leaseMs: 1000, limit: 10 }),
        () => store.putSetting('k', 'v', T0),
        () => store.sweepExpired({ expiredBefore: T0, now: T0, batchSize: 10 }),
      ];
      for (const call of calls) {
        const started = Date.now();
        const error: unknown = await call().then(
          () => null,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(Date.now() - started).toBeLessThan(3_000);
      }
      const started = Date.now();
      expect(await store.ready()).toBe(false);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await cluster.startServer();
    }

    // The same store, never reopened: ready again within seconds, and everything before is there.
    const deadline = Date.now() + 10_000;
    while (!(await store.ready()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await store.ready()).toBe(true);
    expect((await store.findAuthRequest(before.id, T0))?.status).toBe('pending');
    const after = await newRequest();
    expect(await store.createAuthRequest(after.command)).toEqual({ ok: true });
    expect(
      await store.consumeWithOtp({
        id: after.id,
        clientId: 'client-a',
        otpHash: await otpDigest(after.id, after.otp!),
        now: T0 + 1,
        maxAttempts: 5,
        addressFailureLimit: GENEROUS,
      }),
    ).toMatchObject({
      outcome: 'verified',
    });
    expect(await store.outboxDepth()).toBe(2);
  });

  it('answers an unreachable server quickly, whatever the address', async () => {
    // A port nothing listens on: refused at once, never a hang.
    const store = open(cluster.url.replace(/:\d+\//, ':1/'), { connectTimeoutMs: 1_000 });
    const started = Date.now();
    await expect(store.getSetting('k')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.ready()).toBe(false);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
