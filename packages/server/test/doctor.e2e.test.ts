/**
 * `sesame doctor` as a real child process: a good production configuration (SQLite, an SMTP
 * server that requires a login) passes every check and sends nothing; each broken one fails
 * the check it breaks, in words and with exit 1; a real PostgreSQL passes. No run ever prints
 * the server secret, the database password or the SMTP password.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildServerPackage,
  freePort,
  isolatedSesameEnv,
  querySqlite,
  runSesameCli,
  startPostgresCluster,
  startSmtpCapture,
  type PostgresCluster,
  type SmtpCapture,
} from '@sesame/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface DoctorJson {
  readonly ok: boolean;
  readonly failed: number;
  readonly warnings: number;
  readonly checks: readonly { readonly check: string; readonly status: 'ok' | 'warn' | 'fail'; readonly message: string }[];
}

async function sesame(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  try {
    return { code: 0, stdout: await runSesameCli(args, { env, timeoutMs: 30_000 }), stderr: '' };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const SMTP_USER = 'mailer';
const SMTP_PASS = `smtp-pass-${randomBytes(6).toString('hex')}`;
const DB_PASS = `db-pass-${randomBytes(6).toString('hex')}`;
const SECRET = randomBytes(32).toString('base64url');
const FALLBACK = randomBytes(32).toString('base64url');
const METRICS_TOKEN = randomBytes(24).toString('base64url');
const NEVER_SHOWN = [SMTP_PASS, DB_PASS, SECRET, FALLBACK, METRICS_TOKEN];

let smtp: SmtpCapture;
const dirs: string[] = [];

/** A database `sesame migrate` made once; each configuration gets a copy in a directory of its own. */
let migrated: string;

/** A migrated SQLite database in a directory of its own, and a production environment around it. */
async function productionEnv(extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const { dataDir, env } = isolatedSesameEnv('sesame-doctor-', {
    NODE_ENV: 'production',
    PORT: String(await freePort()),
    SESAME_SECRET: SECRET,
    SESAME_SECRET_FALLBACKS: FALLBACK,
    SESAME_PUBLIC_URL: 'https://sesame.example.com',
    SESAME_SMTP_URL: `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:${smtp.port}`,
    SESAME_MAIL_FROM: 'Example <no-reply@example.com>',
    SESAME_ALLOWED_REDIRECT_URIS: 'https://app.example.com/auth/*',
    SESAME_METRICS_TOKEN: METRICS_TOKEN,
  });
  dirs.push(dataDir);
  copyFileSync(migrated, join(dataDir, 'sesame.db'));
  return { ...env, ...extra };
}

function expectNothingSecret(run: Run): void {
  for (const secret of NEVER_SHOWN) expect(run.stdout + run.stderr).not.toContain(secret);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(async () => {
  await buildServerPackage();
  smtp = await startSmtpCapture({ auth: { user: SMTP_USER, pass: SMTP_PASS } });
  const { dataDir, env } = isolatedSesameEnv('sesame-doctor-template-');
  dirs.push(dataDir);
  expect((await sesame(['migrate'], env)).code).toBe(0);
  migrated = join(dataDir, 'sesame.db');
  // The copies are made from the main file alone: everything must be checkpointed into it.
  expect(existsSync(`${migrated}-wal`) ? statSync(`${migrated}-wal`).size : 0).toBe(0);
});

afterAll(async () => {
  await smtp.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('sesame doctor', () => {
  it('passes a good production configuration, logs in to SMTP and sends nothing', async () => {
    const env = await productionEnv();
    const client = await sesame(['clients', 'create', '--name', 'web', '--redirect-uri', 'https://app.example.com/auth/verify'], env);
    expect(client.code).toBe(0);
    const text = await sesame(['doctor'], env);
    expect(text.code, text.stdout).toBe(0);
    expectNothingSecret(text);
    const lines = text.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('Nothing failed (0 warnings).');
    expect(lines.filter((line) => /^(warn|fail) /.test(line))).toEqual([]);
    expect(text.stdout).toMatch(/^ok +smtp +smtp:\/\/127\.0\.0\.1:\d+ answered, logged in$/m);
    expect(text.stdout).toMatch(/^ok +migrations +schema version \d+, up to date$/m);
    expect(text.stdout).toContain('SESAME_SECRET_FALLBACKS holds 1 older secret');
    expect(text.stdout).toContain('1 rule(s) in the policy and 1 active client(s) with 1 of their own are well-formed');

    const json = await sesame(['doctor', '--json'], env);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as DoctorJson;
    expect(report).toMatchObject({ ok: true, failed: 0, warnings: 0 });
    expect(new Set(report.checks.map((c) => c.check))).toEqual(
      new Set(['config', 'secret', 'database', 'migrations', 'smtp', 'public-url', 'redirects']),
    );
    expectNothingSecret(json);
    expect(smtp.dataStarted()).toBe(0);
  });

  const BROKEN: readonly {
    readonly name: string;
    readonly env: () => Promise<NodeJS.ProcessEnv>;
    readonly check: string;
    readonly says: RegExp;
  }[] = [
    {
      name: 'PostgreSQL port with nothing listening',
      env: async () => productionEnv({ SESAME_DATABASE_URL: `postgres://sesame:${DB_PASS}@127.0.0.1:${await freePort()}/sesame` }),
      check: 'database',
      says: /cannot reach PostgreSQL postgres:\/\/sesame:\*\*\*@127\.0\.0\.1:\d+\/sesame: .*ECONNREFUSED/,
    },
    {
      name: 'SMTP port closed',
      env: async () => productionEnv({ SESAME_SMTP_URL: `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:${await freePort()}` }),
      check: 'smtp',
      says: /ECONNREFUSED/,
    },
    {
      name: 'SMTP wrong password',
      env: () => productionEnv({ SESAME_SMTP_URL: `smtp://${SMTP_USER}:wrong-${SMTP_PASS}@127.0.0.1:${smtp.port}` }),
      check: 'smtp',
      says: /smtp:\/\/127\.0\.0\.1:\d+: 535 Invalid username or password/,
    },
    {
      name: 'production without SESAME_SECRET',
      env: () => productionEnv({ SESAME_SECRET: '' }),
      check: 'secret',
      says: /SESAME_SECRET is not set: `sesame start` refuses to run in production/,
    },
    {
      name: 'public URL that is not http(s)',
      env: () => productionEnv({ SESAME_PUBLIC_URL: 'ftp://sesame.example.com' }),
      check: 'config',
      says: /SESAME_PUBLIC_URL must be an absolute http\(s\) URL/,
    },
    {
      name: 'public URL with a query',
      env: () => productionEnv({ SESAME_PUBLIC_URL: 'https://sesame.example.com/?tenant=a' }),
      check: 'config',
      says: /SESAME_PUBLIC_URL must not have a query/,
    },
    {
      name: 'database migrated by a newer Sesame',
      env: async () => {
        const env = await productionEnv();
        await querySqlite(
          join(env.SESAME_DATA_DIR!, 'sesame.db'),
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'newer', 1)",
        );
        return env;
      },
      check: 'migrations',
      says: /the database is newer than this Sesame \(version 999 > \d+\)/,
    },
    {
      name: 'a client with an http redirect rule in production',
      env: async () => {
        const env = await productionEnv();
        const made = await sesame(['clients', 'create', '--name', 'legacy', '--redirect-uri', 'http://app.example.com/verify'], env);
        expect(made.code).toBe(0);
        return env;
      },
      check: 'redirects',
      says: /client "legacy" \([^)]+\): the rule http:\/\/app\.example\.com\/verify is http in production/,
    },
  ];

  it.each(BROKEN)('fails on $name', async ({ env, check, says }) => {
    const run = await sesame(['doctor'], await env());
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expectNothingSecret(run);
    const failing = run.stdout.split('\n').filter((line) => line.startsWith('fail'));
    expect(
      failing.some((line) => line.split(/ {2,}/)[1] === check && says.test(line)),
      run.stdout,
    ).toBe(true);
    expect(run.stdout).toMatch(/\d+ checks? failed \(\d+ warnings?\): Sesame will not work as configured\.\n$/);
  });

  it('warns, without failing, on a database that does not exist yet', async () => {
    const { dataDir, env } = isolatedSesameEnv('sesame-doctor-', { PORT: String(await freePort()) });
    dirs.push(dataDir);
    const run = await sesame(['doctor', '--json'], env);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as DoctorJson;
    expect(report.checks).toContainEqual(expect.objectContaining({ check: 'migrations', status: 'warn' }));
    expect(report.checks.find((c) => c.check === 'smtp')?.message).toContain('dev inbox');
    expect(existsSync(join(dataDir, 'sesame.db'))).toBe(false);
  });
});

describe('sesame doctor on PostgreSQL', () => {
  let cluster: PostgresCluster | undefined;
  afterAll(async () => cluster?.stop());

  it('reaches a migrated database and never shows its password', async () => {
    cluster = await startPostgresCluster();
    // Trust authentication ignores the password: it is there to be kept out of the output.
    const url = (await cluster.createDatabase('sesame_doctor')).replace('postgres@', `postgres:${DB_PASS}@`);
    const env = await productionEnv({ SESAME_DATABASE_URL: url });
    expect((await sesame(['migrate'], env)).code).toBe(0);
    const run = await sesame(['doctor'], env);
    expect(run.code, run.stdout).toBe(0);
    expectNothingSecret(run);
    expect(run.stdout).toMatch(/^ok +database +PostgreSQL postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/sesame_doctor is reachable$/m);
    expect(run.stdout).toMatch(/^ok +migrations +schema version \d+, up to date$/m);
  });
});
