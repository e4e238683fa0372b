/**
 * The published packages as a user gets them: `scripts/pack.mjs` tarballs, installed with npm into
 * a folder outside the repository (so nothing resolves through the workspace's node_modules).
 *
 * better-sqlite3's install script runs prebuild-install, which downloads a prebuilt binary from
 * GitHub and otherwise compiles SQLite for minutes. Before downloading it looks for a local
 * prebuilt (`npm_config_better_sqlite3_local_prebuilds`): `installOutside` puts there the file
 * GitHub would serve (same name, same `build/Release/better_sqlite3.node` layout), made from the
 * workspace's own compiled binary of the same version, Node ABI and platform. Any other version
 * finds no file and takes npm's ordinary path.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, isAbsolute } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './repo.js';

const run = promisify(execFile);

export interface PackedSesame {
  /** Absolute paths of the three tarballs. */
  readonly server: string;
  readonly client: string;
  readonly nextjs: string;
  /** The folder they are in. */
  readonly dir: string;
}

let packing: Promise<PackedSesame> | null = null;

/**
 * The `sesame` an install put in `dir`'s node_modules/.bin, as a `launcher` for
 * `startSesameProcess` and `runSesameCli`. Run directly, its shebang execs node with the server's
 * flags, so the PID is the server's own; under `npx` it would be npm's, which does not pass
 * SIGTERM on (the stop by PID would leave the server running).
 */
export function installedSesame(dir: string): readonly [string] {
  const bin = join(dir, 'node_modules', '.bin', 'sesame');
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: install the server tarball into ${dir} first`);
  return [bin];
}

/**
 * Packs the published packages once per test process (later calls share the result) into a new
 * temporary folder, from the built `dist/` of each package (`npm test` builds first). Bounded: 3 min.
 * Remove `dir` in the file's `afterAll` (an exit hook tries too, but a test worker may be ended
 * without running it).
 */
export function packSesame(): Promise<PackedSesame> {
  packing ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-packed-'));
    // The tarballs serve the whole test process; npm keeps its own copy of what it installed.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'pack.mjs'), '--out', dir], {
      cwd: REPO_ROOT,
      env: npmEnv(),
      timeout: 180_000,
      killSignal: 'SIGKILL',
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    const paths = JSON.parse(stdout) as Partial<Record<'server' | 'client' | 'nextjs', string>>;
    const { server, client, nextjs } = paths;
    if (server === undefined || client === undefined || nextjs === undefined) throw new Error(`scripts/pack.mjs printed ${stdout}`);
    return { server, client, nextjs, dir };
  })();
  // A failed attempt is not cached: the next caller tries again and sees its own error.
  void packing.catch(() => (packing = null));
  return packing;
}

/**
 * The process environment without what a parent `npm run` / `npm test` sets for its own package
 * (npm_package_*, npm_lifecycle_*, the prefixes, INIT_CWD): an npm started elsewhere would
 * otherwise act on the workspace. `extra` adds or overrides.
 */
export function npmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_/i.test(key) || /^npm_config_(local_|global_)?prefix$/i.test(key) || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Whether `dir` lies inside the repository (where the workspace's node_modules would be found). */
function insideRepository(dir: string): boolean {
  const from = relative(realpathSync(REPO_ROOT), realpathSync(dir));
  return from === '' || (!from.startsWith('..') && !isAbsolute(from));
}

/** A new empty folder under the system's temporary directory, outside the repository. */
export function makeOutsideDir(prefix = 'sesame-outside-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (insideRepository(dir)) throw new Error(`the temporary directory ${dir} is inside the repository`);
  return dir;
}

let prebuilds: Promise<string | null> | null = null;

/**
 * A folder holding better-sqlite3's prebuilt tarball for this Node, named as its GitHub release
 * asset, made from the workspace's compiled binary; null when the workspace has none.
 */
export function betterSqlitePrebuilds(): Promise<string | null> {
  prebuilds ??= (async () => {
    const pkgDir = join(REPO_ROOT, 'node_modules', 'better-sqlite3');
    const binary = join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
    if (!existsSync(binary)) return null;
    const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
    const dir = mkdtempSync(join(tmpdir(), 'sesame-prebuilds-'));
    // prebuild-install's default asset name: {name}-v{version}-{runtime}-v{abi}-{platform}{libc}-{arch}.tar.gz
    // (libc is empty on glibc Linux, the only platform whose binary this folder stands in for).
    const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
    await run('tar', ['-czf', join(dir, name), '-C', pkgDir, 'build/Release/better_sqlite3.node'], { timeout: 60_000 });
    return dir;
  })();
  return prebuilds;
}

export interface InstallOutsideOptions {
  /** Killed (SIGKILL) past this; default 4 min. */
  readonly timeoutMs?: number;
  /** The folder's package.json when it has none yet; default `{ "name": "outside-app", "private": true, "type": "module" }`. */
  readonly packageJson?: Readonly<Record<string, unknown>>;
  /** More variables for npm (and the install scripts it runs). */
  readonly env?: NodeJS.ProcessEnv;
  /** More npm arguments, e.g. `--save-dev`. */
  readonly npmArgs?: readonly string[];
}

export interface InstallResult {
  readonly durationMs: number;
  /** npm's stdout and stderr. */
  readonly output: string;
}

/**
 * `npm install SPECS` (tarball paths, `name@range`; none: what package.json lists) in `dir`, a
 * folder outside the repository (see `makeOutsideDir`), without audit or funding requests,
 * preferring npm's cache, bounded in time. Writes a package.json first if the folder has none.
 * Rejects with npm's output when npm fails or runs out of time.
 */
export async function installOutside(dir: string, specs: readonly string[], options: InstallOutsideOptions = {}): Promise<InstallResult> {
  mkdirSync(dir, { recursive: true });
  if (insideRepository(dir)) throw new Error(`installOutside: ${dir} is inside the repository`);
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) {
    const pkg = options.packageJson ?? { name: 'outside-app', private: true, type: 'module' };
    writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
  }
  const local = await betterSqlitePrebuilds();
  const env = npmEnv({ ...(local === null ? {} : { npm_config_better_sqlite3_local_prebuilds: local }), ...options.env });
  const args = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=warn', ...(options.npmArgs ?? []), ...specs];
  const started = performance.now();
  try {
    const { stdout, stderr } = await run('npm', args, {
      cwd: dir,
      env,
      timeout: options.timeoutMs ?? 240_000,
      killSignal: 'SIGKILL',
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    return { durationMs: Math.round(performance.now() - started), output: stdout + stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; killed?: boolean; message: string };
    const why = failed.killed === true ? `did not finish within ${options.timeoutMs ?? 240_000} ms` : 'failed';
    throw new Error(`npm ${args.join(' ')} in ${dir} ${why}:\n${failed.stdout ?? ''}${failed.stderr ?? failed.message}`);
  }
}
