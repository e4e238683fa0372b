#!/usr/bin/env node
// `vite build` into a fresh directory, then swapped in for dist/ with two renames: a Sesame
// serving dist/ (npm start, another suite's test) never sees it half-written or empty.
import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const next = join(root, `dist.next-${process.pid}`);
const old = join(root, `dist.old-${process.pid}`);
const logLevel = process.argv.includes('--quiet') ? 'warn' : 'info';

try {
  await build({ root, configFile: join(root, 'vite.config.js'), logLevel, build: { outDir: next, emptyOutDir: true } });
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(next, dist);
} finally {
  rmSync(next, { recursive: true, force: true });
  rmSync(old, { recursive: true, force: true });
}
