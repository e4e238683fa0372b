/**
 * A real `sesame start` child process with a real SMTP server catching its mail, for the
 * client's tests. Started and stopped by PID; every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const REPO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SESAME_BIN = join(REPO_DIR, 'bin', 'sesame.js');

export interface CaughtMail {
  readonly to: string;
  readonly code: string | undefined;
  readonly link: string | undefined;
}

export interface RunningSesame {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  readonly mails: CaughtMail[];
  nthMail(to: string, index: number): Promise<CaughtMail>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // Not up yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

export async function startSesameWithMail(): Promise<RunningSesame> {
  const mails: CaughtMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const text = parsed.text ?? '';
          for (const r of session.envelope.rcptTo) {
            mails.push({
              to: r.address.toLowerCase(),
              code: /code:\s*([A-Za-z0-9]{4,12})/.exec(text)?.[1],
              link: /(https?:\/\/\S*[?&]link_token=[\w-]+)/.exec(text)?.[1],
            });
          }
          callback();
        })
        .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
    },
  });
  const smtpPort = await freePort();
  await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', () => resolve()));

  const dataDir = mkdtempSync(join(tmpdir(), 'sesame-client-test-'));
  const port = await freePort();
  const redirectUri = 'http://127.0.0.1:3999/api/auth/verify';
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    SESAME_DATA_DIR: dataDir,
    SESAME_DATABASE_URL: `file:${join(dataDir, 'sesame.db')}`,
    SESAME_SECRET: randomBytes(32).toString('base64url'),
    SESAME_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    SESAME_LOG_LEVEL: 'warn',
  };
  const created = spawnSync(
    process.execPath,
    [SESAME_BIN, 'clients', 'create', '--name', 'client-test', '--redirect-uri', redirectUri, '--json'],
    {
      cwd: REPO_DIR,
      env,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  if (created.status !== 0) throw new Error(`sesame clients create failed: ${created.stderr}`);
  const client = JSON.parse(created.stdout) as { client_id: string; client_secret: string };

  const child: ChildProcess = spawn(process.execPath, [SESAME_BIN, 'start'], { cwd: REPO_DIR, env, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('sesame /readyz', async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined), 30_000);

  return {
    url,
    clientId: client.client_id,
    clientSecret: client.client_secret,
    redirectUri,
    mails,
    nthMail: (to, index) => waitFor(`mail #${index + 1} to ${to}`, () => mails.filter((m) => m.to === to)[index], 15_000),
    async stop() {
      if (child.pid !== undefined && child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
}
