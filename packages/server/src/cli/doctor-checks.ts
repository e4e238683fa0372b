/**
 * The checks of `sesame doctor` that reach out: the database (reachable, writable, migrated),
 * SMTP (connects and logs in, sends nothing) and the redirect rules kept in the database.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { formatRedirectRule, redirectRuleProblem, type RedirectRule, type Store } from '@sesame/core';
import { createSmtpTransport, describeSmtpUrl, devInboxStartupMessage, parseMailFrom } from '@sesame/email';
import { isPostgresUrl, LATEST_VERSION, openStore, sqliteFilename } from '@sesame/storage';
import type { Config } from '../config.js';
import { isLoopbackAddress } from '../http/host-check.js';
import { createPolicySource, seededDefaultPolicy } from '../passwordless/policy-source.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  readonly check: string;
  readonly status: CheckStatus;
  readonly message: string;
}

export const ok = (check: string, message: string): Check => ({ check, status: 'ok', message });
export const warn = (check: string, message: string): Check => ({ check, status: 'warn', message });
export const fail = (check: string, message: string): Check => ({ check, status: 'fail', message });

/** Bound on each network check, so an unanswering host reads as a failure, not a hang. */
const NETWORK_TIMEOUT_MS = 10_000;

/** The database and SMTP passwords (as written and decoded), which no line may show. */
export function secretsOfUrls(config: Config): string[] {
  const found: string[] = [];
  for (const raw of [config.databaseUrl, config.smtpUrl ?? '']) {
    try {
      const url = new URL(raw);
      for (const part of [url.password, url.searchParams.get('password') ?? '']) {
        found.push(part);
        try {
          found.push(decodeURIComponent(part));
        } catch {
          // Kept as written.
        }
      }
    } catch {
      // Not a URL (a SQLite path): nothing secret in it.
    }
  }
  return found;
}

/** A PostgreSQL URL as it may be shown: the password replaced, no query (it may carry one too). */
function shownPostgresUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password !== '') url.password = '***';
    url.search = '';
    return url.href;
  } catch {
    return 'the PostgreSQL URL';
  }
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${NETWORK_TIMEOUT_MS / 1000} s`)), NETWORK_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function nearestExisting(path: string): string {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export interface DatabaseChecks {
  readonly checks: Check[];
  /** Open and migrated to this build's version: the redirect rules are read from it. The caller closes it. */
  readonly store: Store | undefined;
  /** No database yet, so no API clients either. */
  readonly fresh?: boolean;
}

export async function checkDatabase(config: Config): Promise<DatabaseChecks> {
  const checks: Check[] = [];
  const postgres = isPostgresUrl(config.databaseUrl);
  let where: string;
  if (postgres) {
    where = `PostgreSQL ${shownPostgresUrl(config.databaseUrl)}`;
  } else {
    const file = resolve(sqliteFilename(config.databaseUrl));
    where = `SQLite ${file}`;
    // Never create the file here: opening a store would.
    if (!existsSync(file)) {
      const dir = nearestExisting(dirname(file));
      if (!writable(dir))
        return { checks: [fail('database', `${where} does not exist and ${dir} is not writable by this user`)], store: undefined };
      checks.push(ok('database', `${where} does not exist yet; \`sesame start\` creates it (${dir} is writable)`));
      checks.push(
        warn(
          'migrations',
          `a new database: all ${LATEST_VERSION} migrations are pending; \`sesame start\` or \`sesame migrate\` applies them`,
        ),
      );
      return { checks, store: undefined, fresh: true };
    }
    // The -wal and -shm files beside the database are created at open: the folder must be writable too.
    for (const path of [file, dirname(file)]) {
      if (!writable(path))
        return { checks: [fail('database', `${path} is not writable by this user: SQLite cannot write there`)], store: undefined };
    }
  }
  let store: Store | undefined;
  try {
    store = openStore(config.databaseUrl);
    const status = await withTimeout(store.migrationStatus(), where);
    checks.push(ok('database', `${where} is reachable${postgres ? '' : ' and writable'}`));
    if (status.databaseNewer) {
      checks.push(
        fail(
          'migrations',
          `the database is newer than this Sesame (version ${status.databaseVersion} > ${status.latestVersion}): run the newer Sesame, or restore a backup taken before the upgrade`,
        ),
      );
    } else if (status.pending.length > 0) {
      const versions = status.pending.map((step) => step.version).join(', ');
      checks.push(
        warn(
          'migrations',
          `${status.pending.length} migration(s) pending (${versions}); \`sesame start\` applies them, or run \`sesame migrate\` first`,
        ),
      );
    } else {
      checks.push(ok('migrations', `schema version ${status.databaseVersion}, up to date`));
      return { checks, store };
    }
  } catch (error) {
    checks.push(fail('database', `cannot reach ${where}: ${messageOf(error)}`));
  }
  await store?.close().catch(() => undefined);
  return { checks, store: undefined };
}

export async function checkSmtp(config: Config): Promise<Check[]> {
  try {
    parseMailFrom(config.mailFrom);
  } catch (error) {
    return [fail('smtp', `SESAME_MAIL_FROM: ${messageOf(error)}`)];
  }
  if (config.smtpUrl === undefined) {
    if (config.production) {
      return [
        fail(
          'smtp',
          'SESAME_SMTP_URL is not set: `sesame start` refuses to run in production without a relay (no sign-in email would be delivered)',
        ),
      ];
    }
    const served = isLoopbackAddress(config.host)
      ? ok('smtp', devInboxStartupMessage(config.publicUrl))
      : warn('smtp', 'SESAME_SMTP_URL is not set and HOST is not a loopback address: emails are kept but the dev inbox is not served');
    return [served];
  }
  const server = describeSmtpUrl(config.smtpUrl);
  const transport = createSmtpTransport({
    url: config.smtpUrl,
    from: config.mailFrom,
    maxConnections: 1,
    connectionTimeoutMs: NETWORK_TIMEOUT_MS / 2,
    greetingTimeoutMs: NETWORK_TIMEOUT_MS / 2,
    socketTimeoutMs: NETWORK_TIMEOUT_MS,
  });
  try {
    // Connects, greets, negotiates TLS and logs in when the URL carries credentials; sends nothing.
    const result = await withTimeout(transport.verify(), `the SMTP server ${server}`);
    const login = new URL(config.smtpUrl).username === '' ? ' (no login configured)' : ', logged in';
    return [result.ok ? ok('smtp', `${server} answered${login}`) : fail('smtp', `${server}: ${result.detail}`)];
  } catch (error) {
    return [fail('smtp', `${server}: ${messageOf(error)}`)];
  } finally {
    await transport.close();
  }
}

/**
 * The policy's rules (saved, else the default with SESAME_ALLOWED_REDIRECT_URIS) and each
 * active client's, judged by core's own rule check plus what production needs.
 */
export async function checkRedirectRules(config: Config, database: DatabaseChecks): Promise<Check[]> {
  const { store } = database;
  const name = 'redirects';
  const sources: { readonly label: string; readonly rules: readonly RedirectRule[] }[] = [];
  let clientsNote = '';
  try {
    const options = { production: config.production, seedRedirectUris: config.allowedRedirectUris };
    // Without a ready database the policy in force is the default one a first start would use.
    const policy =
      store === undefined ? seededDefaultPolicy(options.production, options.seedRedirectUris) : await createPolicySource(store, options)();
    sources.push({ label: 'policy', rules: policy.allowedRedirectUris });
  } catch (error) {
    return [fail(name, `the saved policy does not load: ${messageOf(error)}`)];
  }
  if (store === undefined) {
    if (database.fresh !== true) clientsNote = '; API clients not checked (the database is not ready)';
  } else {
    for (const client of await store.listApiClients()) {
      if (client.revokedAt === null) sources.push({ label: `client "${client.name}" (${client.id})`, rules: client.redirectUris });
    }
  }
  const checks = sources.flatMap(({ label, rules }) => rules.flatMap((rule) => judgeRule(label, rule, config.production)));
  const count = sources.reduce((sum, source) => sum + source.rules.length, 0);
  const policyRules = sources[0]?.rules.length ?? 0;
  if (count === 0 && config.production) {
    checks.push(
      warn(name, 'no redirect URI is allowed anywhere: magic links cannot be sent (add SESAME_ALLOWED_REDIRECT_URIS or a client rule)'),
    );
  }
  if (checks.length === 0) {
    const clients = store === undefined ? '' : ` and ${sources.length - 1} active client(s) with ${count - policyRules} of their own`;
    checks.push(ok(name, `${policyRules} rule(s) in the policy${clients} are well-formed${clientsNote}`));
  } else if (clientsNote !== '') {
    checks.push(warn(name, clientsNote.slice(2)));
  }
  return checks;
}

function judgeRule(source: string, rule: RedirectRule, production: boolean): Check[] {
  const shown = formatRedirectRule(rule);
  const problem = redirectRuleProblem(rule);
  if (problem !== null) return [fail('redirects', `${source}: the rule ${shown} is not accepted by this Sesame (${problem})`)];
  // Accepted above: an absolute http(s) URL in canonical form.
  const url = new URL(rule.uri);
  const checks: Check[] = [];
  if (production && url.protocol === 'http:') {
    checks.push(
      isLoopbackAddress(url.hostname)
        ? warn('redirects', `${source}: the rule ${shown} is http on a loopback address in production: no user's link can reach it`)
        : fail(
            'redirects',
            `${source}: the rule ${shown} is http in production: the emailed link token would travel unencrypted; use https://`,
          ),
    );
  }
  // Development's default rule is the whole of http://localhost:3000/: broad only matters in production.
  if (production && rule.match === 'prefix' && url.pathname === '/') {
    checks.push(
      warn(
        'redirects',
        `${source}: the rule ${shown} admits every path of ${url.origin}: narrow it to the folder of the verify route (e.g. ${url.origin}/auth/*)`,
      ),
    );
  }
  return checks;
}
