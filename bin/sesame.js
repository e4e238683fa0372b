#!/usr/bin/env -S node --max-semi-space-size=32
// The `sesame` command of the root package: a thin launcher for the built server package.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const cli = new URL('../packages/server/dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('sesame: packages/server is not built yet; run `npm run build` (or `npm start`) first.\n');
  process.exit(1);
}
const { main } = await import(cli.href);
const stopSignal = new Promise((resolve) => {
  for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => resolve(signal));
});
const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  stopSignal,
});
process.exit(code);
