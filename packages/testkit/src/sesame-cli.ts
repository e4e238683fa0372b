/** One-shot `sesame …` commands through the root launcher, and the build they run from. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, SESAME_BIN } from './repo.js';
import type { ClientCredentials } from './sesame-api.js';

const run = promisify(execFile);

export interface SesameCliOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Default the repository root. */
  readonly cwd?: string;
  /** Killed (SIGKILL) past this; default 30 s. */
  readonly timeoutMs?: number;
  /** The program and its first arguments instead of the root launcher, e.g. `['npx', 'sesame']` or `installedSesame(dir)`. */
  readonly launcher?: readonly [string, ...string[]];
}

/** Runs `sesame …args` to completion; resolves to its stdout, rejects (with its stderr) on a non-zero exit. */
export async function runSesameCli(args: readonly string[], options: SesameCliOptions): Promise<string> {
  const [program, ...programArgs] = options.launcher ?? [process.execPath, SESAME_BIN];
  const { stdout } = await run(program, [...programArgs, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env,
    timeout: options.timeoutMs ?? 30_000,
    killSignal: 'SIGKILL',
    encoding: 'utf8',
  });
  return stdout;
}

/** `sesame clients create --name NAME [--redirect-uri URI] --json`: the new API client. */
export async function createApiClientWithCli(
  options: SesameCliOptions & { readonly name: string; readonly redirectUri?: string },
): Promise<ClientCredentials> {
  const redirect = options.redirectUri === undefined ? [] : ['--redirect-uri', options.redirectUri];
  const stdout = await runSesameCli(['clients', 'create', '--name', options.name, ...redirect, '--json'], options);
  return JSON.parse(stdout.trim()) as ClientCredentials;
}

/** Builds packages/server (tsc -b) so the launcher runs current code; fast when nothing changed. */
export async function buildServerPackage(): Promise<void> {
  await run(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'packages/server'], { cwd: REPO_ROOT });
}
