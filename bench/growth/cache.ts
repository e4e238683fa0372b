/**
 * The prefilled file is cached between runs (CACHE_DIR/sesame-growth-<rows>.db, a .json beside
 * it) and rebuilt when the migrations or the generator change, when it is a day old, or when
 * asked; each run works on a fresh copy of it.
 */
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LATEST_VERSION, MIGRATIONS } from '@sesame/storage';
import { CACHE_DIR, DAY_MS, type Options } from './options.js';
import { buildPrefilled, GENERATOR, type Built } from './prefill.js';

export interface CacheMeta extends Built {
  readonly rows: number;
  readonly generator: number;
  readonly schemaVersion: number;
  /** Digest of every migration's SQL: a changed schema means a rebuild. */
  readonly schema: string;
}

function schemaDigest(): string {
  const hash = createHash('sha256');
  for (const step of MIGRATIONS) hash.update(`${step.version}\n${step.sql}\n`);
  return hash.digest('hex').slice(0, 16);
}

function cachePaths(rows: number): { db: string; meta: string } {
  const db = join(CACHE_DIR, rows === 10_000_000 ? 'sesame-growth-10m.db' : `sesame-growth-${rows}.db`);
  return { db, meta: `${db}.json` };
}

function readMeta(path: string): CacheMeta | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CacheMeta;
  } catch {
    return null;
  }
}

/** The cached prefilled file for `rows`, built when missing, stale or asked for. */
export async function prefilled(options: Options): Promise<{ file: string; meta: CacheMeta; built: boolean }> {
  const paths = cachePaths(options.rows);
  const meta = readMeta(paths.meta);
  const fresh =
    meta !== null &&
    existsSync(paths.db) &&
    meta.rows === options.rows &&
    meta.generator === GENERATOR &&
    meta.schemaVersion === LATEST_VERSION &&
    meta.schema === schemaDigest() &&
    // Past a day the otp_failures rows (kept two windows of a day) would be swept during the run.
    Date.now() - meta.anchor < DAY_MS;
  if (fresh && !options.rebuild) return { file: paths.db, meta, built: false };
  console.log(
    `building ${paths.db} (${options.rows.toLocaleString('en-US')} auth requests)${meta && !options.rebuild ? ': the cached file is stale' : ''}`,
  );
  rmSync(paths.meta, { force: true });
  mkdirSync(CACHE_DIR, { recursive: true });
  const built = await buildPrefilled(paths.db, options.rows);
  const written: CacheMeta = {
    rows: options.rows,
    generator: GENERATOR,
    schemaVersion: LATEST_VERSION,
    schema: schemaDigest(),
    anchor: built.anchor,
    buildSeconds: built.buildSeconds,
    bytes: built.bytes,
  };
  writeFileSync(paths.meta, `${JSON.stringify(written, null, 2)}\n`);
  return { file: paths.db, meta: written, built: true };
}

/** A fresh copy of the prefilled file for one run, flushed to disk so no write-back overlaps the load. */
export function copyForRun(source: string, dir: string): { file: string; seconds: number } {
  const t0 = performance.now();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'sesame.db');
  copyFileSync(source, file);
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { file, seconds: (performance.now() - t0) / 1000 };
}
