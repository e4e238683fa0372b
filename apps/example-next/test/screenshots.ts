/**
 * `npm run screenshots`: regenerates the reference app's docs/screenshots/*.png. The pictures are
 * taken by the phone-size browser test (375 and 1280 px, from the production build, a real
 * `sesame start`, real SMTP and Debian's Chromium), so this only runs that test file: one
 * implementation, and every picture comes from a run whose checks passed.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@sesame/testkit';

const VITEST = join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const TEST_FILE = join('apps', 'example-next', 'test', 'phone.e2e.test.ts');

const child = spawn(process.execPath, [VITEST, 'run', TEST_FILE], { cwd: REPO_ROOT, stdio: 'inherit' });
child.on('exit', (code, signal) => {
  if (code !== 0) process.stderr.write(`screenshots: the phone test failed (${signal ?? `exit ${code}`})\n`);
  process.exitCode = code ?? 1;
});
