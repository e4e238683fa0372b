/**
 * The real parts of the outside-app test: a Next.js app written from this package's README into
 * a temporary folder outside the repository, installed from the packed tarballs and the registry,
 * built and started with its own `next`; and `sesame` run from the packed server, installed in a
 * folder of its own. Every process is stopped by PID; every wait is bounded.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  freePort,
  installOutside,
  isolatedSesameEnv,
  readmeApp,
  startProcess,
  waitForOutput,
  waitUntil,
  type PackedSesame,
  type ReadmeApp,
  type RunningProcess,
} from '@sesame/testkit';

const run = promisify(execFile);

export const README = join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md');

export interface NextVersion {
  /** The test's name for it. */
  readonly label: string;
  readonly major: number;
  /** What replaces the README's `next@latest`. */
  readonly spec: string;
}

/** Milliseconds each step took, reported at the end of the run. */
export const timings: Record<string, number> = {};

export async function timed<T>(step: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings[step] = Math.round(performance.now() - started);
  }
}

// ---------------------------------------------------------------------------------------------
// Sesame from the packed server

export interface OutsideSesame extends RunningProcess {
  readonly url: string;
  /** Its data (SQLite) directory; the caller removes it. */
  readonly dataDir: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** `npm install` of the server tarball into `dir`, a folder outside the repository: `sesame` lands in its .bin. */
export async function installServer(dir: string, packed: PackedSesame): Promise<void> {
  await installOutside(dir, [packed.server], { packageJson: { name: 'outside-sesame', private: true } });
}

/**
 * `sesame clients create` (one client allowed to link to every app) and `sesame start`, both the
 * installed package's bin, with a fresh data directory and mail delivered to `smtpUrl`.
 */
export async function startOutsideSesame(
  dir: string,
  options: { smtpUrl: string; redirectUris: readonly string[] },
): Promise<OutsideSesame> {
  const bin = join(dir, 'node_modules', '.bin', 'sesame');
  const { env, dataDir } = isolatedSesameEnv('sesame-outside-data-', { SESAME_SMTP_URL: options.smtpUrl });
  const redirects = options.redirectUris.flatMap((uri) => ['--redirect-uri', uri]);
  const { stdout } = await run(bin, ['clients', 'create', '--name', 'outside-app', ...redirects, '--json'], {
    cwd: dir,
    env,
    timeout: 30_000,
    killSignal: 'SIGKILL',
    encoding: 'utf8',
  });
  const client = JSON.parse(stdout.trim()) as { client_id: string; client_secret: string };
  const port = await freePort();
  const proc = startProcess(bin, ['start'], { cwd: dir, env: { ...env, PORT: String(port) }, keepOutputChars: 20_000 });
  try {
    await waitForOutput(proc, 'Sesame is listening', 30_000, 'sesame start (packed)');
  } catch (error) {
    await proc.kill();
    throw error;
  }
  return Object.assign(proc, { url: `http://127.0.0.1:${port}`, dataDir, clientId: client.client_id, clientSecret: client.client_secret });
}

// ---------------------------------------------------------------------------------------------
// The app the README describes

export function readmeAppFor(version: NextVersion): ReadmeApp {
  return readmeApp(readFileSync(README, 'utf8'), { section: 'Quick start', major: version.major });
}

/**
 * The install specs of the README's `npm install` lines for this app: `@sesame/nextjs` is the
 * packed tarball, and `next@latest` the version under test. `@sesame/client` (a dependency of the
 * kit, not yet on the registry) is named too, as its tarball, so npm does not look it up there.
 */
export function installSpecs(app: ReadmeApp, version: NextVersion, packed: PackedSesame): string[] {
  const specs = [...app.dependencies, ...app.devDependencies].map((spec) => {
    if (spec === '@sesame/nextjs') return packed.nextjs;
    if (spec === 'next' || spec.startsWith('next@')) return version.spec;
    return spec;
  });
  if (!specs.includes(packed.nextjs)) throw new Error('the README never installs @sesame/nextjs');
  if (!specs.includes(version.spec)) throw new Error('the README never installs next');
  return [...specs, packed.client];
}

export interface PreparedApp {
  readonly dir: string;
  readonly npmOutput: string;
  readonly buildOutput: string;
}

/** Writes exactly the README's files into `dir` (an empty folder outside the repository), then installs its packages. */
export async function writeAndInstall(
  dir: string,
  version: NextVersion,
  packed: PackedSesame,
): Promise<{ dir: string; npmOutput: string }> {
  const app = readmeAppFor(version);
  for (const [path, text] of app.files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const { output } = await installOutside(dir, installSpecs(app, version, packed), {
    packageJson: { name: `outside-next${version.major}`, private: true },
  });
  return { dir, npmOutput: output };
}

function nextBin(dir: string): string {
  return join(dir, 'node_modules', 'next', 'dist', 'bin', 'next');
}

/** Only PATH and HOME of the runner: nothing of the workspace's environment reaches the app. */
function appEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NEXT_TELEMETRY_DISABLED: '1', ...extra };
}

/** `next build` with none of the app's settings present: the README says the build needs none. */
export async function buildApp(dir: string): Promise<string> {
  const build = startProcess(process.execPath, [nextBin(dir), 'build'], { cwd: dir, env: appEnv(), keepOutputChars: 40_000 });
  const timer = setTimeout(() => void build.kill(), 420_000);
  const code = await build.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`next build failed (${code}):\n${build.output}`);
  return build.output;
}

/**
 * `.env.local` with a value for each variable the README's block names; a variable this test
 * cannot fill means the README asks for something the test does not know, and fails it.
 */
export function writeEnvLocal(dir: string, keys: readonly string[], values: Readonly<Record<string, string>>): void {
  const unknown = keys.filter((key) => values[key] === undefined);
  if (unknown.length > 0) throw new Error(`the README's .env.local names ${unknown.join(', ')}, which the test cannot fill`);
  writeFileSync(join(dir, '.env.local'), keys.map((key) => `${key}=${values[key]}\n`).join(''));
}

export interface StartedApp extends RunningProcess {
  readonly url: string;
}

/** `next start` on 127.0.0.1; its settings come from `.env.local`, as the README has it. */
export async function startApp(dir: string, port: number): Promise<StartedApp> {
  const app = startProcess(process.execPath, [nextBin(dir), 'start', '--hostname', '127.0.0.1', '--port', String(port)], {
    cwd: dir,
    env: appEnv(),
    keepOutputChars: 20_000,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(
      `${url}/login to answer`,
      async () => {
        if (!app.running()) throw new Error(`next start exited with ${app.child.exitCode}:\n${app.output}`);
        const response = await fetch(`${url}/login`, { redirect: 'manual', signal: AbortSignal.timeout(2_000) });
        await response.body?.cancel();
        return response.status < 500;
      },
      60_000,
      200,
    );
  } catch (error) {
    await app.kill();
    throw error;
  }
  return Object.assign(app, { url });
}
