/**
 * HTTP/2 stream floods without a token against a real `sesame start` child with a 512 MiB heap:
 * 32 connections each open gRPC send streams (HEADERS, no token, no body, never ended) as fast as
 * the socket takes them for 5 s, written as raw frames by ./h2-flood.ts in its own process, which
 * ignores the advertised stream limit, refusals and GOAWAY. Once holding every stream open, once
 * resetting each right after opening it (rapid reset). Each time the process stays up, its RSS
 * grows by less than RSS_GROWTH_BOUND, the server ends every flooding connection itself, and
 * `/healthz` keeps answering: every probe during the flood (median under 200 ms), and fast once
 * it is over.
 */
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FloodResult } from './h2-flood.js';
import { REPO_ROOT, buildServerPackage } from '@sesame/testkit';
import { percentile, rssOf, sesameEnv, sleep, startChild, type Child } from './support.js';
import { childDataDir } from './child-dir.js';

const run = promisify(execFile);
const CONNECTIONS = 32;
const FLOOD_MS = 5_000;
/** Streams each connection may open at most (the flood is bounded in count as well as in time). */
const MAX_STREAMS_PER_CONNECTION = 20_000;
/** Before these limits the same flood took the RSS from ~100 MiB to ~700 MiB. */
const RSS_GROWTH_BOUND = 100 * 1024 * 1024;
/** Once the flood is over. */
const HEALTHZ_AFTER_MS = 200;
/**
 * During it, the median probe. Every probe must also be answered (within PROBE_TIMEOUT_MS): on a
 * shared two-core machine, one of them busy with the flooding process, a single probe took up to
 * ~4 s while the first frames of all 32 connections were processed.
 */
const HEALTHZ_DURING_P50_MS = 200;
const PROBE_TIMEOUT_MS = 5_000;
const PROBE_EVERY_MS = 50;
const MIB = 1024 * 1024;

const dir = childDataDir('sesame-h2-');
let child: Child;

beforeAll(async () => {
  await buildServerPackage();
  child = await startChild(sesameEnv(dir, { NODE_OPTIONS: '--max-old-space-size=512' }), dir);
});

interface Probe {
  readonly ms: number;
  readonly status: number;
}

/** GET /healthz over HTTP/1.1; status 0 when it failed or took more than PROBE_TIMEOUT_MS. */
async function probe(): Promise<Probe> {
  const started = performance.now();
  try {
    const response = await fetch(`${child.url}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.text();
    return { ms: performance.now() - started, status: response.status };
  } catch {
    return { ms: performance.now() - started, status: 0 };
  }
}

/** Probes /healthz every PROBE_EVERY_MS until `stop` is set. */
async function watch(stop: { done: boolean }, probes: Probe[]): Promise<void> {
  while (!stop.done) {
    const [answer] = await Promise.all([probe(), sleep(PROBE_EVERY_MS)]);
    probes.push(answer);
  }
}

/** Samples the child's RSS every PROBE_EVERY_MS (on its own timer: a hung probe must not pause it). */
function sampleRss(samples: number[]): () => void {
  const timer = setInterval(() => {
    try {
      samples.push(rssOf(child.pid));
    } catch {
      // The process is gone: the assertions below say so.
    }
  }, PROBE_EVERY_MS);
  return () => clearInterval(timer);
}

async function floodAndMeasure(mode: 'hold' | 'reset') {
  const before = rssOf(child.pid);
  const during: Probe[] = [];
  const samples: number[] = [];
  const stop = { done: false };
  const stopSampling = sampleRss(samples);
  const watching = watch(stop, during);
  const flood = run(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'h2-flood.ts'),
      String(child.port),
      String(CONNECTIONS),
      String(FLOOD_MS),
      String(MAX_STREAMS_PER_CONNECTION),
      mode,
    ],
    { cwd: REPO_ROOT, timeout: FLOOD_MS + 20_000 },
  );
  const result = JSON.parse((await flood).stdout.trim()) as FloodResult;
  stop.done = true;
  await watching;
  await sleep(1_000);
  const after: Probe[] = [];
  for (let i = 0; i < 10; i++) after.push(await probe());
  stopSampling();
  const figures = {
    mode,
    streamsWritten: result.streamsOpened,
    connectionsEndedByServer: result.closedByServer,
    goaways: result.goawaysReceived,
    resets: result.resetsReceived,
    rssBeforeMiB: Math.round(before / MIB),
    rssPeakMiB: Math.round(Math.max(before, ...samples) / MIB),
    rssAfterMiB: Math.round(rssOf(child.pid) / MIB),
    healthzDuring: {
      probes: during.length,
      failed: during.filter((p) => p.status !== 200).length,
      p50Ms: Math.round(
        percentile(
          during.map((p) => p.ms),
          50,
        ),
      ),
      maxMs: Math.round(Math.max(...during.map((p) => p.ms))),
    },
    healthzAfterMaxMs: Math.round(Math.max(...after.map((p) => p.ms))),
  };
  // The figures SECURITY.md quotes.
  console.log(JSON.stringify(figures));
  return { before, samples, during, after, result, figures };
}

describe('HTTP/2 stream floods without a token (512 MiB heap)', () => {
  it('advertises a bounded number of concurrent streams', async () => {
    const session = http2.connect(child.url);
    session.on('error', () => undefined);
    const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
    session.destroy();
    expect(settings.maxConcurrentStreams).toBe(100);
    expect(settings.maxHeaderListSize).toBeLessThanOrEqual(64 * 1024);
  });

  it('an honest client is never cut: 1,000 requests on one connection, 50 at a time', async () => {
    const session = http2.connect(child.url);
    let goaway = false;
    session.on('goaway', () => (goaway = true));
    session.on('error', () => undefined);
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':path': '/healthz' });
        let status = 0;
        stream.on('response', (headers) => (status = Number(headers[':status'])));
        stream.resume();
        stream.on('end', () => resolve(status));
        stream.on('error', reject);
      });
    for (let round = 0; round < 20; round++) {
      const statuses = await Promise.all(Array.from({ length: 50 }, get));
      expect(statuses.every((status) => status === 200)).toBe(true);
    }
    expect(goaway).toBe(false);
    expect(session.destroyed).toBe(false);
    session.close();
  });

  it.each(['hold', 'reset'] as const)(
    '%s: the process stays up, RSS stays bounded, /healthz keeps answering',
    async (mode) => {
      const { before, samples, during, after, result } = await floodAndMeasure(mode);
      expect(child.child.exitCode, child.output.slice(-2_000)).toBeNull();
      expect(child.child.signalCode).toBeNull();
      expect(Math.max(...samples) - before).toBeLessThan(RSS_GROWTH_BOUND);
      // The server ended every flooding connection itself (the flooder waits 5 s for it after the flood).
      expect(result.closedByServer).toBe(CONNECTIONS);
      expect(during.filter((p) => p.status !== 200)).toEqual([]);
      expect(
        percentile(
          during.map((p) => p.ms),
          50,
        ),
      ).toBeLessThan(HEALTHZ_DURING_P50_MS);
      expect(after.every((p) => p.status === 200)).toBe(true);
      expect(Math.max(...after.map((p) => p.ms))).toBeLessThan(HEALTHZ_AFTER_MS);
    },
    60_000,
  );
});
