/**
 * The Dockerfile's steps, outside a container (no container engine runs in CI): the file is read
 * (testkit dockerfile.ts) and checked for what a production image needs, then followed. The
 * packed server is installed into an empty folder with the install step's own npm flags, and its
 * ENTRYPOINT and CMD run there with the runtime stage's ENV against a real PostgreSQL and a real SMTP server:
 * it refuses to start without SESAME_SECRET, starts with it, passes the HEALTHCHECK command as
 * written, serves no dev inbox, signs in by the emailed code, and exits 0 on SIGTERM. compose.yaml
 * is checked to name only variables the server knows.
 *
 * What only an engine can show stays unchecked here: the base image, `npm ci` and the build in a
 * clean checkout, the `node` user and file ownership, the volume and the published port.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  REPO_ROOT,
  execForm,
  fetchAccessToken,
  healthcheckOf,
  installOutside,
  instructionsOf,
  killStartedProcesses,
  lastArgs,
  makeOutsideDir,
  npmTarballInstall,
  packSesame,
  readDockerfile,
  relocate,
  runCommands,
  runSesameCli,
  stageEnv,
  startPostgresCluster,
  startSesameProcess,
  startSmtpCapture,
  type ClientCredentials,
  type PostgresCluster,
  type SesameProcess,
  type SmtpCapture,
} from '@sesame/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VARIABLES } from '../src/index.js';

const run = promisify(execFile);
const REDIRECT_URI = 'https://app.example.com/auth/verify';

const stages = readDockerfile();
const runtime = stages.at(-1)!;
const install = npmTarballInstall(stages);

/** The runtime stage's `COPY --from=<install stage> SRC DEST` of the installed folder. */
function installCopy(): { source: string; dest: string } {
  for (const { args } of instructionsOf(runtime, 'COPY')) {
    const match = /^--from=(\S+)\s+(?:--\S+\s+)*(\S+)\s+(\S+)$/.exec(args);
    if (match !== null && match[1] === install.stage.name && match[2] === install.instruction.workdir) {
      return { source: match[2], dest: match[3]! };
    }
  }
  throw new Error(`the runtime stage copies no ${install.instruction.workdir} from stage ${install.stage.name ?? '(unnamed)'}`);
}

/** The runtime stage's ENTRYPOINT and CMD, both in exec form. */
function imageCommand(): { entrypoint: string[]; cmd: string[] } {
  return {
    entrypoint: execForm(lastArgs(runtime, 'ENTRYPOINT') ?? '', 'ENTRYPOINT'),
    cmd: execForm(lastArgs(runtime, 'CMD') ?? '', 'CMD'),
  };
}

/** A command of the image run outside a container: `node` is this Node, image paths point into `dir`. */
function localCommand(words: readonly string[], dir: string): [string, ...string[]] {
  const { dest } = installCopy();
  const [program, ...args] = words;
  return [program === 'node' ? process.execPath : program!, ...args.map((word) => relocate(word, dest, dir))];
}

interface Exit {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (bounded) and returns its exit code and output, whatever the code. */
async function exitOf(command: readonly string[], env: NodeJS.ProcessEnv, cwd: string, timeoutMs = 20_000): Promise<Exit> {
  const [program, ...args] = command;
  try {
    const { stdout, stderr } = await run(program!, args, { cwd, env, timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Every `services.<name>.environment` key of compose.yaml, read line by line (no YAML parser is a dependency). */
function composeEnvironment(text: string): Map<string, Set<string>> {
  const services = new Map<string, Set<string>>();
  let section = '';
  let service = '';
  let inEnvironment = false;
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    if (/\t/.test(line)) throw new Error(`compose.yaml line ${index + 1}: a tab (YAML indents with spaces)`);
    const match = /^( *)(- )?([A-Za-z0-9_.-]+:|"[^"]*"|[^\s].*)/.exec(line);
    const indent = match?.[1]!.length ?? -1;
    if (match === null || indent % 2 !== 0) throw new Error(`compose.yaml line ${index + 1}: unexpected indentation: ${line}`);
    const key = /^ *([A-Za-z0-9_.-]+):(?:\s|$)/.exec(line)?.[1];
    if (indent === 0) section = key ?? '';
    else if (indent === 2 && section === 'services' && key !== undefined) {
      service = key;
      services.set(service, new Set());
    }
    if (indent <= 4) inEnvironment = indent === 4 && section === 'services' && key === 'environment';
    else if (inEnvironment && indent === 6 && key !== undefined) services.get(service)!.add(key);
  }
  return services;
}

describe('the Dockerfile', () => {
  it('builds, packs and installs the server without devDependencies in a build stage, on a pinned LTS slim Node', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.base).toMatch(/^node:(\d+)-[a-z]+-slim$/);
    const majors = new Set(stages.map((stage) => Number(/^node:(\d+)/.exec(stage.base)![1])));
    expect(majors.size).toBe(1);
    const [major] = majors;
    // An even major is an LTS line; the server's engines ask for Node 20.19 or later.
    expect(major! % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(20);

    const build = install.stage;
    expect(build).not.toBe(runtime);
    const commands = instructionsOf(build, 'RUN').flatMap(({ args }) => runCommands(args).map((words) => words.join(' ')));
    const order = ['npm ci', 'npm run build', 'node scripts/pack.mjs'].map((start) => commands.findIndex((c) => c.startsWith(start)));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const packOut = /--out (\S+)/.exec(commands[order[2]!]!)?.[1];
    expect(install.tarball).toBe(`${packOut}/sesame-server-*.tgz`);
    expect(install.flags).toContain('--omit=dev');
    expect(install.instruction.workdir).not.toBe('/src');
  });

  it('runs as a non-root user in production mode, with a volume, a port, a HEALTHCHECK on /readyz and node as PID 1', () => {
    const user = lastArgs(runtime, 'USER');
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    // A numeric uid, which Kubernetes' runAsNonRoot can check.
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    const env = stageEnv(runtime);
    expect(env.NODE_ENV).toBe('production');
    expect(env.HOST).toBe('0.0.0.0');
    expect(lastArgs(runtime, 'VOLUME')).toContain(env.SESAME_DATA_DIR);
    expect(lastArgs(runtime, 'EXPOSE')?.split(/\s+/)).toContain(env.PORT);
    expect(lastArgs(runtime, 'STOPSIGNAL')).toBe('SIGTERM');
    const health = healthcheckOf(runtime);
    expect(health?.command[0]).toBe('node');
    expect(health?.command.join(' ')).toContain('/readyz');
    // Exec form with the server's bin: a shell or npm as PID 1 would not pass SIGTERM on. The
    // entrypoint is the `sesame` command, so `docker run IMAGE migrate` runs another one.
    const { entrypoint, cmd } = imageCommand();
    expect(entrypoint[0]).toBe('node');
    expect(entrypoint.at(-1)).toBe(`${installCopy().dest}/node_modules/@sesame/server/bin/sesame.js`);
    expect(cmd).toEqual(['start']);
    // No compilers in the image that runs: better-sqlite3 is built (if at all) in the build stage.
    expect(
      instructionsOf(runtime, 'RUN')
        .map(({ args }) => args)
        .join('\n'),
    ).not.toMatch(/apt-get install|g\+\+|\bmake\b|python/);
  });

  it('starts node with the server V8 flags of bin/node-flags.mjs', async () => {
    const { SERVER_NODE_FLAGS } = (await import(pathToFileURL(join(REPO_ROOT, 'bin', 'node-flags.mjs')).href)) as {
      SERVER_NODE_FLAGS: readonly string[];
    };
    expect(imageCommand().entrypoint.slice(1, -1)).toEqual(SERVER_NODE_FLAGS);
  });

  it('keeps installed, built and secret files out of the build context', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const pattern of ['**/node_modules', '**/dist', '.git', '**/.sesame', '**/*.db', '.env']) expect(ignored).toContain(pattern);
  });
});

describe('compose.yaml', () => {
  const text = readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8');
  const services = composeEnvironment(text);

  it('runs Sesame from the Dockerfile with PostgreSQL and a mail catcher, naming only variables the server knows', () => {
    expect([...services.keys()].sort()).toEqual(['mailpit', 'postgres', 'sesame']);
    const known = new Set(VARIABLES.map((variable) => variable.name));
    const unknown = [...services.get('sesame')!].filter((name) => !known.has(name));
    expect(unknown).toEqual([]);
    expect(services.get('sesame')).toEqual(new Set([...services.get('sesame')!].filter((name) => name.startsWith('SESAME_'))));
    expect(text).toMatch(/^ {4}build: \.$/m);
    expect(text).toMatch(/^ {6}SESAME_SECRET: \$\{SESAME_SECRET:\?[^}]+\}$/m);
    expect(text).toMatch(/^ {6}SESAME_DATABASE_URL: postgres:\/\/[^@\s]+@postgres:5432\/\S+$/m);
    expect(text).toMatch(/^ {6}SESAME_SMTP_URL: smtp:\/\/mailpit:1025$/m);
    // Sesame starts once both are healthy, and both have a healthcheck to be healthy by.
    expect(text.match(/condition: service_healthy/g)).toHaveLength(2);
    expect(text.match(/^ {4}healthcheck:$/gm)).toHaveLength(2);
  });
});

describe('a production install of the packed server, run as the Dockerfile runs it', () => {
  let cluster: PostgresCluster | undefined;
  let smtp: SmtpCapture | undefined;
  let sesame: SesameProcess | undefined;
  const folders: string[] = [];
  let dir: string;
  let env: NodeJS.ProcessEnv;
  /** The image's ENTRYPOINT (the `sesame` command) run outside a container. */
  let sesameCommand: [string, ...string[]];
  let installMs = 0;

  beforeAll(async () => {
    const started = performance.now();
    let packed;
    [packed, smtp, cluster] = await Promise.all([packSesame(), startSmtpCapture({ waitTimeoutMs: 15_000 }), startPostgresCluster()]);
    folders.push(packed.dir);
    dir = makeOutsideDir('sesame-production-install-');
    const dataDir = makeOutsideDir('sesame-production-data-');
    folders.push(dir, dataDir);
    const installStarted = performance.now();
    // The install step's own flags (--omit=dev among them), on the tarball just packed.
    await installOutside(dir, [packed.server], { npmArgs: install.flags });
    installMs = Math.round(performance.now() - installStarted);
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...stageEnv(runtime),
      // Loopback only (the test host is not a container), and a folder in place of the volume; PORT is set per start.
      HOST: '127.0.0.1',
      SESAME_DATA_DIR: dataDir,
      SESAME_DATABASE_URL: await cluster.createDatabase('sesame_production'),
      SESAME_SMTP_URL: smtp.url,
      SESAME_LOG_LEVEL: 'warn',
    };
    sesameCommand = localCommand(imageCommand().entrypoint, dir);
    console.info(`pack and install ${Math.round(performance.now() - started)} ms (install ${installMs} ms)`);
  }, 300_000);

  afterAll(async () => {
    await sesame?.stop();
    await killStartedProcesses();
    await smtp?.close();
    await cluster?.stop();
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  const secret = randomBytes(48).toString('base64url');

  it('installs no devDependency of the repository', () => {
    const lock = JSON.parse(readFileSync(join(dir, 'node_modules', '.package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const installed = new Set(Object.keys(lock.packages).map((path) => path.replace(/^.*node_modules\//, '')));
    expect(installed.has('@sesame/server')).toBe(true);
    const manifest = JSON.parse(readFileSync(join(dir, 'node_modules', '@sesame', 'server', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      bundleDependencies: string[];
    };
    // The server itself and the internal packages its tarball carries are meant to be there.
    const shipped = new Set(['@sesame/server', ...manifest.bundleDependencies, ...Object.keys(manifest.dependencies)]);
    const devOnly = new Set<string>();
    for (const folder of ['.', 'packages/server', 'packages/core', 'packages/email', 'packages/storage', 'packages/admin-ui']) {
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, folder, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
      for (const name of Object.keys(pkg.devDependencies ?? {})) if (!shipped.has(name)) devOnly.add(name);
    }
    expect(devOnly.size).toBeGreaterThan(5);
    expect([...devOnly].filter((name) => installed.has(name))).toEqual([]);
    expect(Object.entries(lock.packages).filter(([, entry]) => entry.dev === true)).toEqual([]);
    expect(existsSync(join(dir, 'node_modules', 'typescript'))).toBe(false);
  });

  it('refuses to start without SESAME_SECRET, with the reason and no stack trace', async () => {
    const refused = await exitOf([...sesameCommand, ...imageCommand().cmd], { ...env, PORT: '0' }, dir);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('SESAME_SECRET is required when NODE_ENV=production');
    expect(refused.stderr).not.toMatch(/^\s+at /m);
  });

  it('starts with it: /readyz answers 200 and the HEALTHCHECK command as written exits 0', async () => {
    // startSesameProcess appends `start`, the image's CMD (checked above).
    sesame = await startSesameProcess({ env: { ...env, SESAME_SECRET: secret }, cwd: dir, launcher: sesameCommand });
    expect((await fetch(`${sesame.url}/readyz`)).status).toBe(200);
    const health = healthcheckOf(runtime)!;
    const probe = await exitOf(localCommand(health.command, dir), { ...env, PORT: String(sesame.port) }, dir, 10_000);
    expect(probe).toMatchObject({ code: 0 });
    // The same probe on a port nothing listens on fails: it does test something.
    const closed = await exitOf(localCommand(health.command, dir), { ...env, PORT: '1' }, dir, 10_000);
    expect(closed.code).not.toBe(0);
  });

  it('serves no dev inbox, and refuses to start without SESAME_SMTP_URL rather than keep sign-in mail undelivered', async () => {
    for (const path of ['/admin/api/dev-inbox', '/dev/inbox']) {
      expect([401, 403, 404], path).toContain((await fetch(`${sesame!.url}${path}`)).status);
    }
    expect(sesame!.stderr).not.toContain('Dev inbox');
    const withoutSmtp = { ...env, SESAME_SMTP_URL: undefined, SESAME_SECRET: secret, PORT: '0' };
    const refused = await exitOf([...sesameCommand, ...imageCommand().cmd], withoutSmtp, dir);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('SESAME_SMTP_URL is required when NODE_ENV=production');
    expect(refused.stderr).not.toMatch(/^\s+at /m);
    expect(refused.stderr).not.toContain(secret);
  });

  it('signs in: a client made by the installed CLI gets a token, and the emailed code verifies', async () => {
    const stdout = await runSesameCli(['clients', 'create', '--name', 'production', '--redirect-uri', REDIRECT_URI, '--json'], {
      env: { ...env, SESAME_SECRET: secret },
      cwd: dir,
      launcher: sesameCommand,
    });
    const client = JSON.parse(stdout.trim()) as ClientCredentials;
    const token = await fetchAccessToken(sesame!.url, client);
    const api = (action: string, body: unknown) =>
      fetch(`${sesame!.url}/api/v1/passwordless/email/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const email = 'production@example.com';
    const sent = await api('send', { email, magiclink_auth_uri: REDIRECT_URI });
    expect(sent.status).toBe(200);
    const { auth_request_id } = (await sent.json()) as { auth_request_id: string };
    const mail = await smtp!.waitForMail(email, 1);
    expect(mail.text).toContain(`${REDIRECT_URI}?link_token=`);
    const wrong = await api('verify', { code: mail.code === '000000' ? '111111' : '000000', auth_request_id });
    expect(wrong.status).toBe(400);
    const verified = await api('verify', { code: mail.code, auth_request_id });
    expect(verified.status).toBe(200);
    expect(await verified.json()).toMatchObject({ email });
  });

  it('exits 0 promptly on SIGTERM', async () => {
    const started = performance.now();
    const code = await sesame!.stop(10_000);
    const tookMs = performance.now() - started;
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(5_000);
    expect(sesame!.stderr).toContain('Received SIGTERM');
  });
});
