/** The data directory of a security test file's `sesame start` children, and their teardown. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { stopChildren } from './support.js';

/** A fresh temporary directory; once the file's tests are done its children are stopped, then it is removed. */
export function childDataDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(async () => {
    await stopChildren();
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
