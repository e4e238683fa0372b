/**
 * The published packages as a user gets them: the tarballs of scripts/pack.mjs installed with npm
 * into an empty folder outside the repository. There `npx sesame clients create` migrates and
 * makes an API client, the installed `sesame start` serves (health, the dashboard at /admin),
 * `@sesame/client` from its own tarball signs in with the code of the email a real SMTP server
 * captured, TypeScript finds the packages' types, and `createServer` runs from the installed
 * package. The tarballs carry what runs and nothing that points back here.
 */
import { execFile } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  REPO_ROOT,
  createApiClientWithCli,
  installOutside,
  installedSesame,
  isolatedSesameEnv,
  killStartedProcesses,
  makeOutsideDir,
  packSesame,
  startSesameProcess,
  startSmtpCapture,
  type ClientCredentials,
  type PackedSesame,
  type SesameProcess,
  type SmtpCapture,
} from '@sesame/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const NPX_SESAME = ['npx', '--no-install', 'sesame'] as const;
const REDIRECT_URI = 'http://127.0.0.1:3999/api/auth/verify';

let packed: PackedSesame;
/** Set as soon as each exists, for afterAll. */
const folders: string[] = [];
let dir: string;
let dataDir: string;
let env: NodeJS.ProcessEnv;
let smtp: SmtpCapture | undefined;
let sesame: SesameProcess | undefined;
let credentials: ClientCredentials;

beforeAll(async () => {
  [packed, smtp] = await Promise.all([packSesame(), startSmtpCapture({ waitTimeoutMs: 15_000 })]);
  folders.push(packed.dir);
  dir = makeOutsideDir('sesame-packed-server-');
  ({ dataDir, env } = isolatedSesameEnv('sesame-packed-data-', { SESAME_SMTP_URL: smtp.url }));
  folders.push(dir, dataDir);
  await installOutside(dir, [packed.server, packed.client]);
  credentials = await createApiClientWithCli({ env, cwd: dir, launcher: NPX_SESAME, name: 'packed', redirectUri: REDIRECT_URI });
  // The installed bin itself rather than npx, which does not pass the stop's SIGTERM on.
  sesame = await startSesameProcess({ env, cwd: dir, launcher: installedSesame(dir) });
}, 300_000);

afterAll(async () => {
  await sesame?.stop();
  await killStartedProcesses();
  await smtp?.close();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** The file names in a tarball. */
async function entries(tarball: string): Promise<string[]> {
  const { stdout } = await run('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return stdout.split('\n').filter((line) => line !== '');
}

async function fileOf(tarball: string, path: string): Promise<string> {
  const { stdout } = await run('tar', ['-xzOf', tarball, path], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Runs a small ES module with node from the install folder, so it imports the installed packages. */
async function runModule(name: string, source: string, args: readonly string[] = []): Promise<unknown> {
  writeFileSync(join(dir, name), source);
  const { stdout } = await run(process.execPath, [name, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    timeout: 30_000,
    killSignal: 'SIGKILL',
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as unknown;
}

describe('the packed packages', () => {
  it('ship built code, types and docs: no sources, tests or maps, nothing pointing into the repository', async () => {
    for (const tarball of [packed.server, packed.client, packed.nextjs]) {
      const files = await entries(tarball);
      expect(files).toContain('package/package.json');
      expect(files).toContain('package/README.md');
      expect(files).toContain('package/CHANGELOG.md');
      expect(files).toContain('package/LICENSE');
      const shipped = files.filter((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts'));
      expect(shipped, `${tarball}: TypeScript sources`).toEqual([]);
      expect(files.filter((file) => /\.map$|\.tsbuildinfo$|\.test\.|\/test\//.test(file))).toEqual([]);
      for (const manifest of files.filter((file) => file.endsWith('/package.json'))) {
        const text = await fileOf(tarball, manifest);
        expect(text, `${tarball} ${manifest}`).not.toMatch(/\.\.\/|file:|workspace:/);
        expect(text).not.toContain(REPO_ROOT);
        expect(JSON.parse(text)).not.toHaveProperty('devDependencies');
      }
    }
    // Only the output of current sources: `tsc -b` leaves the output of a deleted source in dist/.
    for (const [tarball, own] of [
      [packed.server, 'server'],
      [packed.client, 'client'],
      [packed.nextjs, 'nextjs'],
    ] as const) {
      const orphans = (await entries(tarball)).flatMap((file) => {
        const module = /^package\/(?:node_modules\/@sesame\/([a-z-]+)\/)?dist\/(.+?)(?:\.d\.ts|\.js)$/.exec(file);
        if (module === null || module[1] === 'admin-ui') return [];
        const source = join(REPO_ROOT, 'packages', module[1] ?? own, 'src', module[2]!);
        return existsSync(`${source}.ts`) || existsSync(`${source}.tsx`) ? [] : [file];
      });
      expect(orphans, tarball).toEqual([]);
    }
    const server = await entries(packed.server);
    // The storage conformance suite is test code (it needs vitest): not shipped.
    expect(server.filter((file) => file.includes('conformance'))).toEqual([]);
    expect(server).toContain('package/bin/sesame.js');
    expect(server).toContain('package/node_modules/@sesame/admin-ui/dist/index.html');
    for (const name of ['core', 'email', 'storage']) expect(server).toContain(`package/node_modules/@sesame/${name}/dist/index.js`);
    const manifest = JSON.parse(await fileOf(packed.server, 'package/package.json')) as Record<string, unknown>;
    expect(manifest.bundleDependencies).toEqual(['@sesame/admin-ui', '@sesame/core', '@sesame/email', '@sesame/storage']);
    expect(manifest).not.toHaveProperty('private');
    const kit = JSON.parse(await fileOf(packed.nextjs, 'package/package.json')) as { dependencies: Record<string, string> };
    // The kit depends on the published client at the same version, installed on its own.
    expect(kit.dependencies['@sesame/client']).toBe('0.1.0');
    expect(await entries(packed.nextjs)).not.toContain('package/node_modules/@sesame/client/package.json');
  });

  it('install better-sqlite3 from its prebuilt binary, without compiling', () => {
    const build = join(dir, 'node_modules', 'better-sqlite3', 'build');
    expect(existsSync(join(build, 'Release', 'better_sqlite3.node'))).toBe(true);
    // node-gyp would leave its Makefile and object files here.
    expect(existsSync(join(build, 'Makefile'))).toBe(false);
    expect(existsSync(join(build, 'Release', 'obj.target'))).toBe(false);
  });
});

describe('sesame from the installed tarball', () => {
  it('serves health and the dashboard at /admin', async () => {
    const health = await fetch(`${sesame!.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${sesame!.url}/readyz`);
    expect(ready.status).toBe(200);
    const admin = await fetch(`${sesame!.url}/admin`);
    expect(admin.status).toBe(200);
    const page = await admin.text();
    expect(page).toContain('<div id="root">');
    expect(page).toMatch(/src="\/admin\/assets\/[^"]+\.js"/);
    expect(page).not.toContain('not built');
  });

  it('signs in end to end with @sesame/client installed from its tarball and the emailed code', async () => {
    const email = 'packed@example.com';
    const client = `
import { SesameClient } from '@sesame/client';
const [mode, baseUrl, clientId, clientSecret, a, b] = process.argv.slice(2);
const sesame = new SesameClient({ baseUrl, clientId, clientSecret });
const result =
  mode === 'send'
    ? await sesame.sendPasswordlessEmail({ email: a, magiclinkAuthUri: b })
    : await sesame.verifyPasswordlessEmail({ code: a, authRequestId: b });
process.stdout.write(JSON.stringify(result));
`;
    const base = [sesame!.url, credentials.client_id, credentials.client_secret];
    const sent = (await runModule('client.mjs', client, ['send', ...base, email, REDIRECT_URI])) as { authRequestId: string };
    expect(sent.authRequestId).toMatch(/\S/);
    const mail = await smtp!.waitForMail(email, 1);
    expect(mail.code).toMatch(/^\w{4,12}$/);
    const verified = (await runModule('client.mjs', client, ['verify', ...base, mail.code!, sent.authRequestId])) as { email: string };
    expect(verified.email).toBe(email);
  });

  it('gives TypeScript the types of the installed packages', async () => {
    // A wrong option type must be an error: with the types missing everything would be `any`
    // and the expect-error directive itself would fail.
    writeFileSync(
      join(dir, 'typed.ts'),
      `import { createServer, type SesameServer } from '@sesame/server';
import { SesameClient, type VerifyResult } from '@sesame/client';
const server: SesameServer = await createServer({ env: {}, port: 0 });
const client = new SesameClient({ baseUrl: server.url, clientId: 'id', clientSecret: 'secret' });
const verified: VerifyResult = await client.verifyPasswordlessEmail({ code: '123456', authRequestId: 'id' });
// @ts-expect-error the port is a number
await createServer({ port: '8080' });
export const email: string = verified.email;
await server.close();
`,
    );
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', '--skipLibCheck'];
    const types = ['--typeRoots', join(REPO_ROOT, 'node_modules', '@types'), '--types', 'node'];
    await run(process.execPath, [tsc, ...flags, ...types, 'typed.ts'], { cwd: dir, timeout: 60_000, encoding: 'utf8' });
  });

  it('runs createServer from the installed package', async () => {
    const programData = join(dataDir, 'program');
    const result = (await runModule(
      'program.mjs',
      `
import { createServer } from '@sesame/server';
const sesame = await createServer({ env: {}, port: 0, dataDir: process.argv[2], logLevel: 'error' });
const health = await fetch(sesame.url + '/readyz');
const admin = await (await fetch(sesame.url + '/admin')).text();
await sesame.close();
process.stdout.write(JSON.stringify({ url: sesame.url, port: sesame.port, ready: health.status, dashboard: admin.includes('<div id="root">'), database: sesame.config.databaseUrl }));
`,
      [programData],
    )) as { url: string; port: number; ready: number; dashboard: boolean; database: string };
    expect(result.port).toBeGreaterThan(0);
    expect(result.url).toBe(`http://127.0.0.1:${result.port}`);
    expect(result.ready).toBe(200);
    expect(result.dashboard).toBe(true);
    expect(result.database).toBe(`file:${programData}/sesame.db`);
    // Migrated on start: the SQLite file exists.
    expect(existsSync(join(programData, 'sesame.db'))).toBe(true);
  });
});
