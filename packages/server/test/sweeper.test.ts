/**
 * The expiry sweeper on the real stores (SQLite, PostgreSQL): retention honoured, emails and
 * timelines deleted with their requests, catch-up across batches, stop() waiting for the batch
 * in flight, failed passes retried. Time is a movable clock and the interval timer a manual
 * one: nothing here sleeps. The last test runs the real server to prove startSesame sweeps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPolicy, type Store } from '@sesame/core';
import { StoreUnavailableError } from '@sesame/storage';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, loadConfig, startSesame } from '../src/index.js';
import { createSweeper, type ScheduleFn, type Sweeper, type SweeperLogger, type SweeperOptions } from '../src/ops/sweeper.js';
import { BACKENDS, REDIRECT, harness, movableClock, stopPostgres, type Harness } from './helpers.js';

afterAll(stopPostgres);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The default policy: sends count for one minute, so requests older than two may be swept. */
const policy = () => Promise.resolve(defaultPolicy({ production: false }));

interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A sweeper on `h`: the default policy, a captured log, no retention, a one-minute interval, but for `overrides`. */
function sweeperOn(h: Harness, overrides: Partial<SweeperOptions> = {}): Sweeper {
  return createSweeper({
    policy,
    store: h.store,
    logger: captureLogger(),
    clock: h.clock,
    retentionMs: 0,
    intervalMs: MINUTE,
    ...overrides,
  });
}

function captureLogger(): SweeperLogger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

/** A timer the test fires by hand: `fire()` runs the one pending callback. */
function manualTimer() {
  const pending: { callback: () => void; ms: number }[] = [];
  const schedule: ScheduleFn = (callback, ms) => {
    const entry = { callback, ms };
    pending.push(entry);
    return () => {
      const index = pending.indexOf(entry);
      if (index >= 0) pending.splice(index, 1);
    };
  };
  return {
    schedule,
    pending,
    fire(): void {
      const next = pending.shift();
      if (!next) throw new Error('no timer pending');
      next.callback();
    },
    /** Resolves once the pass started by `fire()` has ended and scheduled the next one. */
    async nextScheduled(): Promise<void> {
      await vi.waitFor(() => expect(pending).toHaveLength(1), { timeout: 5_000, interval: 5 });
    },
  };
}

let sent = 0;
/** One send through the real API (a fresh address each time, clear of the send limit). */
async function send(h: Harness, expiresIn = 60): Promise<string> {
  sent += 1;
  const res = await h.api('send', { email: `sweep-${sent}@example.com`, magiclink_auth_uri: REDIRECT, expires_in: expiresIn });
  expect(res.status).toBe(200);
  return ((await res.json()) as { auth_request_id: string }).auth_request_id;
}

function gated(store: Store) {
  let release: (() => void) | null = null;
  const calls: number[] = [];
  const wrapped: Pick<Store, 'sweepExpired'> = {
    async sweepExpired(options) {
      calls.push(options.now);
      if (calls.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return store.sweepExpired(options);
    },
  };
  return {
    store: wrapped,
    calls,
    release: () => release?.(),
    started: () => vi.waitFor(() => expect(release).not.toBeNull(), { timeout: 5_000, interval: 5 }),
  };
}

describe.each(BACKENDS)('sweeper on %s', (backend) => {
  let h: Harness;
  afterEach(async () => h.close());

  it('deletes requests past expiry + retention with their emails and timelines, and keeps newer ones', async () => {
    h = await harness({ backend });
    const t0 = h.clock.now();
    const delivered = await send(h);
    await h.worker.runOnce();
    const queued = await send(h);
    h.clock.advance(30 * MINUTE);
    const newer = await send(h);
    expect((await h.store.deliveryTimeline(delivered)).length).toBeGreaterThanOrEqual(2);
    expect(await h.store.outboxDepth()).toBe(2);

    const swept: number[] = [];
    const logger = captureLogger();
    const sweeper = sweeperOn(h, {
      logger,
      retentionMs: HOUR,
      onSwept: (n) => swept.push(n),
    });
    // Expired for just under the retention: still there for the activity view.
    h.clock.advance(t0 + MINUTE + HOUR - h.clock.now());
    expect(await sweeper.runOnce()).toEqual({ deleted: 0, logEvents: 0, batches: 1 });
    expect((await h.store.findAuthRequest(delivered, h.clock.now()))?.status).toBe('expired');

    h.clock.advance(1);
    expect(await sweeper.runOnce()).toEqual({ deleted: 2, logEvents: 0, batches: 1 });
    expect(swept).toEqual([2]);
    for (const gone of [delivered, queued]) {
      expect(await h.store.findAuthRequest(gone, h.clock.now())).toBeNull();
      expect(await h.store.deliveryTimeline(gone)).toEqual([]);
    }
    // The queued email of the swept request went with it; the newer one's is still queued.
    expect(await h.store.outboxDepth()).toBe(1);
    expect((await h.store.findAuthRequest(newer, h.clock.now()))?.status).toBe('expired');
    expect((await h.store.deliveryTimeline(newer)).map((e) => e.kind)).toEqual(['queued']);
  });

  it('catches up across several batches in one pass, yielding between them', async () => {
    h = await harness({ backend });
    for (let i = 0; i < 7; i++) await send(h);
    const live = await send(h, 3600);
    // Past two send windows: these no longer count toward the send limit.
    h.clock.advance(2 * MINUTE + 1);
    const swept: number[] = [];
    let yields = 0;
    const sweeper = sweeperOn(h, {
      batchSize: 3,
      onSwept: (n) => swept.push(n),
      async yieldTurn() {
        yields += 1;
        await new Promise((resolve) => setImmediate(resolve));
      },
    });
    expect(await sweeper.runOnce()).toEqual({ deleted: 7, logEvents: 0, batches: 3 });
    expect(swept).toEqual([3, 3, 1]);
    expect(yields).toBe(2);
    expect((await h.store.findAuthRequest(live, h.clock.now()))?.status).toBe('pending');
    expect(await sweeper.runOnce()).toEqual({ deleted: 0, logEvents: 0, batches: 1 });
  });
});

describe('sweeper loop (SQLite)', () => {
  let h: Harness;
  afterEach(async () => h.close());

  it('runs a pass at start and then one per interval, and stops between them', async () => {
    h = await harness();
    const timer = manualTimer();
    const sweeper = sweeperOn(h, {
      intervalMs: 1_234,
      schedule: timer.schedule,
    });
    sweeper.start();
    expect(timer.pending.map((p) => p.ms)).toEqual([0]);
    timer.fire();
    await timer.nextScheduled();
    expect(timer.pending.map((p) => p.ms)).toEqual([1_234]);

    const id = await send(h);
    h.clock.advance(2 * MINUTE + 1);
    timer.fire();
    await timer.nextScheduled();
    expect(await h.store.findAuthRequest(id, h.clock.now())).toBeNull();
    await sweeper.stop();
    expect(timer.pending).toEqual([]);
  });

  it('stop() waits for the batch in flight and starts no other', async () => {
    h = await harness();
    for (let i = 0; i < 5; i++) await send(h);
    h.clock.advance(2 * MINUTE + 1);
    const gate = gated(h.store);
    const timer = manualTimer();
    const sweeper = sweeperOn(h, {
      store: gate.store,
      batchSize: 2,
      schedule: timer.schedule,
    });
    sweeper.start();
    timer.fire();
    await gate.started();

    let stopped = false;
    const stopping = sweeper.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    gate.release();
    await stopping;
    // The first batch (2 rows, a full batch) finished; the catch-up stopped there.
    expect(gate.calls).toHaveLength(1);
    expect(timer.pending).toEqual([]);
    // A later explicit pass sweeps the rest.
    expect(await sweeper.runOnce()).toEqual({ deleted: 3, logEvents: 0, batches: 2 });
  });

  it("prunes the send log to two of the policy's send windows, catching up in batches", async () => {
    h = await harness();
    // Two resends, each after its send (the requests live an hour, so only the log has anything
    // to prune; a send counts through its request, a resend through the log).
    for (let i = 0; i < 2; i++) {
      const id = await send(h, 3600);
      expect((await h.api('resend', { auth_request_id: id })).status).toBe(200);
    }
    const policy = defaultPolicy({ production: false });
    expect(policy.emailsPerAddress.windowMs).toBe(MINUTE);
    const sweeper = sweeperOn(h, {
      retentionMs: HOUR,
      batchSize: 1,
      policy: () => Promise.resolve(policy),
    });
    h.clock.advance(2 * MINUTE - 1);
    expect(await sweeper.runOnce()).toEqual({ deleted: 0, logEvents: 0, batches: 1 });
    h.clock.advance(2);
    // One event per batch: two full batches, then an empty one.
    expect(await sweeper.runOnce()).toEqual({ deleted: 0, logEvents: 2, batches: 3 });
    // Without the policy the store keeps its longest window (a day): nothing more to prune anyway,
    // and a policy that cannot be read falls back to that rather than failing the pass.
    const unreadable = sweeperOn(h, {
      retentionMs: HOUR,
      policy: () => Promise.reject(new Error('bad policy')),
    });
    expect(await unreadable.runOnce()).toEqual({ deleted: 0, logEvents: 0, batches: 1 });
  });

  it('logs a failed pass and sweeps again at the next interval', async () => {
    h = await harness();
    const id = await send(h);
    h.clock.advance(2 * MINUTE + 1);
    const failures: Error[] = [
      new Error('database disk image is malformed'),
      new StoreUnavailableError('PostgreSQL is unavailable: ECONNREFUSED'),
    ];
    const flaky: Pick<Store, 'sweepExpired'> = {
      async sweepExpired(options) {
        const failure = failures.shift();
        if (failure) throw failure;
        return h.store.sweepExpired(options);
      },
    };
    const logger = captureLogger();
    const timer = manualTimer();
    const sweeper = sweeperOn(h, {
      store: flaky,
      logger,
      intervalMs: 5_000,
      schedule: timer.schedule,
    });
    sweeper.start();
    for (let pass = 0; pass < 3; pass++) {
      timer.fire();
      await timer.nextScheduled();
    }
    expect(logger.lines.map((l) => [l.level, l.message])).toEqual([
      ['error', 'sweep of expired auth requests failed; sweeping again at the next interval'],
      ['warn', 'store unavailable; sweeping again at the next interval'],
      ['info', 'swept expired auth requests'],
    ]);
    expect(logger.lines[0]!.fields).toMatchObject({ err: 'database disk image is malformed', retryInMs: 5_000 });
    expect(logger.lines[2]!.fields).toMatchObject({ deleted: 1, batches: 1 });
    expect(await h.store.findAuthRequest(id, h.clock.now())).toBeNull();
    await sweeper.stop();
  });

  it('refuses a nonsensical batch size or interval', () => {
    const store = { sweepExpired: () => Promise.resolve({ authRequests: 0, sendLog: 0, otpFailures: 0 }) };
    expect(() => createSweeper({ store, logger: captureLogger(), retentionMs: 0, intervalMs: 100, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => createSweeper({ store, logger: captureLogger(), retentionMs: -1, intervalMs: 100 })).toThrow(/retentionMs/);
  });
});

describe('sweeper configuration', () => {
  it('defaults to a day of retention and a one-minute interval', () => {
    expect(loadConfig({})).toMatchObject({ retentionSeconds: 86_400, sweepIntervalMs: 60_000 });
    expect(loadConfig({ SESAME_RETENTION_SECONDS: '0', SESAME_SWEEP_INTERVAL_MS: '100' })).toMatchObject({
      retentionSeconds: 0,
      sweepIntervalMs: 100,
    });
  });

  it('names the variable of a bad value', () => {
    for (const bad of ['-1', '1.5', '1d', String(367 * 86_400)])
      expect(() => loadConfig({ SESAME_RETENTION_SECONDS: bad })).toThrow(/SESAME_RETENTION_SECONDS/);
    for (const bad of ['99', '86400001', 'soon'])
      expect(() => loadConfig({ SESAME_SWEEP_INTERVAL_MS: bad })).toThrow(/SESAME_SWEEP_INTERVAL_MS/);
  });
});

describe('startSesame', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sesame-sweeper-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('sweeps expired requests in the background and counts them in /metrics', async () => {
    const config = loadConfig({
      PORT: '0',
      SESAME_DATA_DIR: dataDir,
      SESAME_LOG_LEVEL: 'silent',
      SESAME_RETENTION_SECONDS: '0',
      SESAME_SWEEP_INTERVAL_MS: '100',
    });
    const clock = movableClock();
    const running = await startSesame(config, { clock });
    try {
      const client = await createClient(running.store, {
        key: running.sesame.clientSecretKey,
        name: 'sweep',
        redirectUris: [],
        now: clock.now(),
      });
      const { accessToken } = await running.sesame.tokens.issue(client.record.id);
      const res = await fetch(`${running.url}/api/v1/passwordless/email/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({ email: 'e2e@example.com', magiclink_auth_uri: 'http://localhost:3000/verify', expires_in: 60 }),
      });
      expect(res.status).toBe(200);
      const id = ((await res.json()) as { auth_request_id: string }).auth_request_id;
      expect(await running.store.findAuthRequest(id, clock.now())).not.toBeNull();

      // Expired, and past two send windows (until then it still counts toward the send limit).
      clock.advance(2 * MINUTE + 1);
      // The sweeper runs every 100 ms of real time: bounded wait, no fixed sleep.
      await vi.waitFor(async () => expect(await running.store.findAuthRequest(id, clock.now())).toBeNull(), {
        timeout: 5_000,
        interval: 20,
      });
      expect(await (await fetch(`${running.url}/metrics`)).text()).toMatch(/^sesame_swept_auth_requests_total 1$/m);
    } finally {
      await running.close();
    }
  });
});
