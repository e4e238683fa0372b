/**
 * The `sesame` command line. Human text by default; with `--json`, exactly one JSON object on
 * stdout (and nothing else there) so scripts can parse it. Exit codes: 0 ok, 1 failure, 2 usage;
 * `migrate --status` adds 3 (migrations pending) and 4 (database newer than this build).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { normalizeEmail, sendInputSchema } from '@sesame/core';
import { BACKUP_USAGE, backupCommand, restoreCommand } from './cli/backup.js';
import { CLIENTS_USAGE, clientsCommand } from './cli/clients.js';
import { DOCTOR_USAGE, doctorCommand } from './cli/doctor.js';
import { MIGRATE_USAGE, migrateCommand } from './cli/migrate.js';
import { CLI_ACTOR, UsageError, withStore } from './cli/support.js';
import { TEMPLATES_USAGE, templatesCommand } from './cli/templates.js';
import { authenticateClient, createClient } from './auth/api-clients.js';
import { ConfigError, environmentHelp, loadConfig, type Config } from './config.js';
import { startSesame, type RunningSesame } from './server.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT); `start` waits on it. */
  readonly stopSignal?: Promise<string>;
}

export const USAGE = `Usage: sesame <command> [options]

Commands:
  start                              migrate the database, then serve the API (and deliver email)
  dev                                start, plus a development client whose id and secret are printed
                                     (what \`npm start\` runs; refused when NODE_ENV=production)
${MIGRATE_USAGE}${CLIENTS_USAGE}  admins add EMAIL [--json]          allow EMAIL to sign in to the admin dashboard
  admins remove EMAIL [--json]       take EMAIL off the admins; their dashboard sessions end at once
${TEMPLATES_USAGE}${BACKUP_USAGE}${DOCTOR_USAGE}  --help                             this text

Environment (validated at start):
`;

export function helpText(): string {
  return `${USAGE}${environmentHelp()}\n`;
}

const DEV_CLIENT_FILE = 'dev-client.json';

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
        status: { type: 'boolean' },
        force: { type: 'boolean' },
        name: { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        'sends-per-minute': { type: 'string' },
      },
    });
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n\n${helpText()}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const json = values.json === true;
  const [command, sub, ...rest] = positionals;
  if (values.help === true || command === undefined || command === 'help') {
    io.stdout(helpText());
    return command === undefined && values.help !== true ? 2 : 0;
  }

  try {
    // Before loadConfig: the doctor reports a bad configuration in its own lines.
    if (command === 'doctor') return await doctorCommand(io, positionals.slice(1), json);
    const config = loadConfig(io.env);
    switch (command) {
      case 'start':
        return await runStart(config, io, false);
      case 'dev':
        if (config.production) throw new UsageError('`sesame dev` is for development; use `sesame start` with NODE_ENV=production.');
        return await runStart(config, io, true);
      case 'migrate':
        return await migrateCommand(config, io, values.status === true, json);
      case 'clients':
        return await clientsCommand(config, io, sub, rest, {
          name: values.name,
          redirectUris: values['redirect-uri'] ?? [],
          sendsPerMinute: values['sends-per-minute'],
          json,
        });
      case 'admins':
        if ((sub !== 'add' && sub !== 'remove') || rest.length !== 1)
          throw new UsageError('Usage: sesame admins add|remove EMAIL [--json]');
        return sub === 'add' ? await adminsAdd(config, io, rest[0]!, json) : await adminsRemove(config, io, rest[0]!, json);
      case 'templates':
        return await templatesCommand(config, io, sub, rest, json);
      case 'backup':
        return await backupCommand(config, io, positionals.slice(1), { force: values.force === true, json });
      case 'restore':
        return restoreCommand(config, io, positionals.slice(1), json);
      default:
        throw new UsageError(`Unknown command: ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${error.message}\nRun \`sesame --help\` for all commands and variables.\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      io.stderr(`${error.message}\n`);
      return 1;
    }
    io.stderr(`sesame: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

function adminEmail(rawEmail: string): ReturnType<typeof normalizeEmail> {
  const checked = sendInputSchema.shape.email.safeParse(rawEmail);
  if (!checked.success) throw new UsageError(`Not a valid email address: ${rawEmail.slice(0, 320)}`);
  return normalizeEmail(checked.data);
}

async function adminsAdd(config: Config, io: CliIo, rawEmail: string, json: boolean): Promise<number> {
  const email = adminEmail(rawEmail);
  return withStore(config, async (store) => {
    await store.migrate();
    await store.addAdmin({ emailKey: email.key, email: email.address, createdAt: Date.now() });
    io.stdout(json ? `${JSON.stringify({ email: email.address, admin: true })}\n` : `${email.address} is an admin.\n`);
    return 0;
  });
}

/** Removes an admin and, in the same transaction, every session of theirs. */
async function adminsRemove(config: Config, io: CliIo, rawEmail: string, json: boolean): Promise<number> {
  const email = adminEmail(rawEmail);
  return withStore(config, async (store) => {
    await store.migrate();
    const removed = await store.removeAdmin(email.key);
    io.stdout(
      json
        ? `${JSON.stringify({ email: email.address, removed })}\n`
        : removed
          ? `${email.address} is no longer an admin; their sessions have ended.\n`
          : `No admin ${email.address}.\n`,
    );
    return removed ? 0 : 1;
  });
}

interface DevClient {
  readonly client_id: string;
  readonly client_secret: string;
}

/** Reuses the development client kept in the data dir while it still authenticates, else makes one. */
async function ensureDevClient(running: RunningSesame, config: Config): Promise<DevClient> {
  const file = join(config.dataDir, DEV_CLIENT_FILE);
  const key = running.sesame.clientSecretKey;
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevClient>;
    if (typeof saved.client_id === 'string' && typeof saved.client_secret === 'string') {
      const fallbackKeys = running.sesame.keys.fallbacks.map((keys) => keys.clientSecret);
      if (await authenticateClient(running.store, key, saved.client_id, saved.client_secret, fallbackKeys)) {
        return { client_id: saved.client_id, client_secret: saved.client_secret };
      }
    }
  } catch {
    // Missing or unreadable: make a new one below.
  }
  const now = Date.now();
  const client = await createClient(running.store, {
    key,
    name: 'development',
    redirectUris: ['http://localhost:3000/*', 'http://127.0.0.1:3000/*'],
    now,
    author: { actor: CLI_ACTOR, at: now },
  });
  const saved: DevClient = { client_id: client.record.id, client_secret: client.secret };
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return saved;
}

async function runStart(config: Config, io: CliIo, dev: boolean): Promise<number> {
  const running = await startSesame(config);
  const lines = [
    `Sesame is listening on ${running.url}`,
    `  API        ${running.url}/api/v1/passwordless/email/{send,verify,resend}`,
    `  Token      ${running.url}/oauth/token`,
    `  OpenAPI    ${running.url}/openapi.json`,
    `  Health     ${running.url}/healthz  ${running.url}/readyz  ${running.url}/metrics`,
    `  Dashboard  ${running.url}/admin  (sign in as an admin: \`sesame admins add EMAIL\`)`,
  ];
  if (running.devInbox) lines.push(`  Dev inbox  ${running.url}/dev/inbox  (no SESAME_SMTP_URL: emails stay on this host)`);
  if (dev) {
    const client = await ensureDevClient(running, config);
    lines.push(
      '',
      'Development client (kept in the data directory; use it in your app):',
      `  SCALEKIT_ENVIRONMENT_URL=${running.url}`,
      `  SCALEKIT_CLIENT_ID=${client.client_id}`,
      `  SCALEKIT_CLIENT_SECRET=${client.client_secret}`,
    );
  }
  // Human banner on stderr: stdout carries the JSON log lines.
  io.stderr(`${lines.join('\n')}\n`);
  const signal = await (io.stopSignal ?? new Promise<string>(() => undefined));
  io.stderr(`Received ${signal}, shutting down…\n`);
  await running.close();
  return 0;
}
