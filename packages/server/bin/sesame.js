#!/usr/bin/env -S node --max-semi-space-size=32
// The `sesame` command: runs the CLI of the built package (dist/cli.js) with the process's
// arguments, environment and stop signals. The repository's bin/sesame.js delegates here.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  // Only in a checkout: a published package always ships dist/.
  process.stderr.write('sesame: @sesame/server is not built yet; run `npm run build` (or `npm start`) first.\n');
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
