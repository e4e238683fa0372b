#!/usr/bin/env node
// `npm start` at the repository root: Sesame (`sesame dev`, mail kept in its dev inbox) and the
// reference app's production build (`next start`) together, in one command. Ctrl-C stops both.
//
// Environment (all optional): SESAME_PORT (8080), APP_PORT (3000), APP_URL (the app's public
// URL, where magic links point: http://127.0.0.1:APP_PORT), SESAME_DATA_DIR (.sesame),
// SESSION_SECRET (generated once and kept in the data dir), SESAME_SMTP_URL (real mail instead
// of the dev inbox).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../../../bin/node-flags.mjs';

const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPO_DIR = join(APP_DIR, '..', '..');
const DATA_DIR = process.env.SESAME_DATA_DIR ?? join(REPO_DIR, '.sesame');
const NEXT_BIN = join(REPO_DIR, 'node_modules', 'next', 'dist', 'bin', 'next');
const SESAME_BIN = join(REPO_DIR, 'bin', 'sesame.js');
const sesamePort = Number(process.env.SESAME_PORT ?? 8080);
const appPort = Number(process.env.APP_PORT ?? 3000);
const sesameUrl = `http://127.0.0.1:${sesamePort}`;
const appUrl = `http://127.0.0.1:${appPort}`;
// The app runs in production mode, where the kit requires its public URL: links are never built
// from request headers (Host, X-Forwarded-Host), which a client controls.
const publicAppUrl = (process.env.APP_URL || appUrl).replace(/\/+$/, '');

function say(line) {
  process.stderr.write(`${line}\n`);
}

function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) {
    say(`start: \`${[command, ...args].join(' ')}\` failed.`);
    process.exit(result.status ?? 1);
  }
}

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === '.next') continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

// 1. Build what is stale: the TypeScript packages (incremental), then the app.
say('start: building the packages (tsc -b)…');
run(process.execPath, [join(REPO_DIR, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'], { cwd: REPO_DIR });
// The admin dashboard (packages/admin-ui, served by Sesame at /admin): vite build when stale.
const ADMIN_DIR = join(REPO_DIR, 'packages', 'admin-ui');
const adminIndex = join(ADMIN_DIR, 'dist', 'index.html');
const adminInputs = [join(ADMIN_DIR, 'src'), join(ADMIN_DIR, 'index.html'), join(ADMIN_DIR, 'vite.config.js')];
if (!existsSync(adminIndex) || adminInputs.some((p) => existsSync(p) && newestMtime(p) >= statSync(adminIndex).mtimeMs)) {
  say('start: building the admin dashboard (vite build)…');
  run('npm', ['run', '--silent', 'build', '-w', '@sesame/admin-ui', '--', '--quiet'], { cwd: REPO_DIR });
}
const buildId = join(APP_DIR, '.next', 'BUILD_ID');
const inputs = [
  join(APP_DIR, 'src'),
  join(APP_DIR, 'next.config.mjs'),
  join(REPO_DIR, 'packages', 'nextjs', 'dist'),
  join(REPO_DIR, 'packages', 'client', 'dist'),
];
if (!existsSync(buildId) || inputs.some((p) => existsSync(p) && newestMtime(p) >= statSync(buildId).mtimeMs)) {
  say('start: building the reference app (next build)…');
  run(process.execPath, [NEXT_BIN, 'build'], {
    cwd: APP_DIR,
    env: { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
  });
}

// 2. The app's session secret: generated once, kept beside Sesame's development data.
mkdirSync(DATA_DIR, { recursive: true, mode: 0o700 });
const secretFile = join(DATA_DIR, 'example-next-session-secret');
let sessionSecret = process.env.SESSION_SECRET;
if (!sessionSecret) {
  if (!existsSync(secretFile)) {
    writeFileSync(secretFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    chmodSync(secretFile, 0o600);
  }
  sessionSecret = readFileSync(secretFile, 'utf8').trim();
}

const children = new Set();
let stopping = false;

function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  const force = setTimeout(() => {
    for (const child of children) if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, 10_000);
  force.unref();
  Promise.all([...children].map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() =>
    process.exit(code),
  );
}

function start(name, command, args, options) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.stdout.on('data', (chunk) => process.stdout.write(prefix(name, chunk)));
  child.stderr.on('data', (chunk) => process.stderr.write(prefix(name, chunk)));
  child.once('exit', (code, signal) => {
    if (!stopping) {
      say(`start: ${name} exited (${signal ?? code}); stopping.`);
      stopAll(code ?? 1);
    }
  });
  return child;
}

function prefix(name, chunk) {
  return chunk
    .toString('utf8')
    .split(/(?<=\n)/)
    .map((line) => `[${name}] ${line}`)
    .join('');
}

async function waitFor(url, what) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      if (response.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  say(`start: ${what} did not come up within 60 s.`);
  stopAll(1);
}

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stopAll(0));

// 3. Sesame in development mode: it keeps a development API client in .sesame/ and prints it.
let banner = '';
const sesame = start('sesame', process.execPath, [...SERVER_NODE_FLAGS, SESAME_BIN, 'dev'], {
  cwd: REPO_DIR,
  env: {
    ...process.env,
    PORT: String(sesamePort),
    SESAME_DATA_DIR: DATA_DIR,
    // Request logs (JSON) would bury the banner; SESAME_LOG_LEVEL=info brings them back.
    SESAME_LOG_LEVEL: process.env.SESAME_LOG_LEVEL ?? 'warn',
    SESAME_ALLOWED_REDIRECT_URIS: [...new Set([`${publicAppUrl}/*`, `${appUrl}/*`, `http://localhost:${appPort}/*`])].join(','),
  },
});
sesame.stderr.on('data', (chunk) => {
  banner = (banner + chunk.toString('utf8')).slice(-10_000);
});
await waitFor(`${sesameUrl}/readyz`, 'Sesame');
const deadline = Date.now() + 15_000;
const devClient = () => {
  const id = /SCALEKIT_CLIENT_ID=(\S+)/.exec(banner)?.[1];
  const secret = /SCALEKIT_CLIENT_SECRET=(\S+)/.exec(banner)?.[1];
  return id && secret ? { client_id: id, client_secret: secret } : undefined;
};
while (!devClient() && !stopping && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
if (!devClient()) {
  say('start: Sesame did not print its development client.');
  stopAll(1);
} else {
  const client = devClient();

  // 4. The app, with the secrets in its server environment only.
  start('app', process.execPath, [NEXT_BIN, 'start', '--hostname', '127.0.0.1', '--port', String(appPort)], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      SESAME_URL: sesameUrl,
      SESAME_CLIENT_ID: client.client_id,
      SESAME_CLIENT_SECRET: client.client_secret,
      SESSION_SECRET: sessionSecret,
      APP_URL: publicAppUrl,
    },
  });
  await waitFor(`${appUrl}/login`, 'the app');
  if (!stopping) {
    const inbox = process.env.SESAME_SMTP_URL
      ? `your SMTP server (${process.env.SESAME_SMTP_URL.replace(/\/\/[^@]*@/, '//')})`
      : `${sesameUrl}/dev/inbox`;
    say(
      [
        '',
        '  Sesame passwordless sign-in is running.',
        '',
        `  App          ${publicAppUrl}/login        (sign in with any email address)`,
        `  Dev inbox    ${inbox}`,
        `  Sesame API   ${sesameUrl}            (OpenAPI: ${sesameUrl}/openapi.json)`,
        `  Dashboard    ${sesameUrl}/admin      (first: npx sesame admins add you@example.com)`,
        '',
        '  Where to look: enter an email on the app, open the message in the dev inbox, then click',
        '  the link in this same browser or type the code. Code: apps/example-next (the app),',
        `  packages/nextjs (the kit). Data and the dev client: ${relative(REPO_DIR, DATA_DIR) || '.'}/. Ctrl-C stops both.`,
        '',
      ].join('\n'),
    );
  }
}
