/**
 * `sesame doctor`: checks the configuration, the database, SMTP, the public URL and the redirect
 * rules without serving or sending anything, and says in words what is wrong. One line per check
 * (ok / warn / fail); exit 0 when nothing failed, 1 otherwise. No secret, database password or
 * SMTP password is ever printed: every line is scrubbed of them before it is written.
 */
import type { CliIo } from '../cli.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { isLoopbackAddress } from '../http/host-check.js';
import { checkDatabase, checkRedirectRules, checkSmtp, fail, ok, secretsOfUrls, warn, type Check } from './doctor-checks.js';
import { UsageError } from './support.js';

export const DOCTOR_USAGE = `  doctor [--json]                    check the configuration, database, SMTP (connects and logs in,
                                     sends nothing), public URL and redirect rules; exit 1 on a failure
`;

export async function doctorCommand(io: CliIo, args: readonly string[], json: boolean): Promise<number> {
  if (args.length > 0) throw new UsageError('Usage: sesame doctor [--json]');
  const checks: Check[] = [];
  let secrets: string[] = [];
  let config: Config | undefined;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The problems name variables and never quote values (config.ts); the rest needs a valid configuration.
    for (const problem of error.problems) checks.push(fail('config', problem));
    checks.push(warn('config', 'the database, SMTP, public URL and redirect rules were not checked: fix the configuration first'));
  }
  if (config !== undefined) {
    secrets = [config.secret ?? '', ...config.secretFallbacks, config.metricsToken ?? '', ...secretsOfUrls(config)];
    checks.push(...checkConfig(config));
    const database = await checkDatabase(config);
    checks.push(...database.checks);
    try {
      checks.push(...(await checkSmtp(config)));
      checks.push(...checkPublicUrl(config, io.env.SESAME_PUBLIC_URL));
      checks.push(...(await checkRedirectRules(config, database)));
    } finally {
      await database.store?.close();
    }
  }
  const shown = checks.map((c) => ({ ...c, message: scrub(c.message, secrets) }));
  const failed = shown.filter((c) => c.status === 'fail').length;
  const warnings = shown.filter((c) => c.status === 'warn').length;
  if (json) {
    io.stdout(`${JSON.stringify({ ok: failed === 0, failed, warnings, checks: shown })}\n`);
  } else {
    const width = Math.max(...shown.map((c) => c.check.length));
    const lines = shown.map((c) => `${c.status.padEnd(4)}  ${c.check.padEnd(width)}  ${c.message}`);
    lines.push('', summary(failed, warnings));
    io.stdout(`${lines.join('\n')}\n`);
  }
  return failed === 0 ? 0 : 1;
}

function summary(failed: number, warnings: number): string {
  const w = `${warnings} warning${warnings === 1 ? '' : 's'}`;
  return failed === 0
    ? `Nothing failed (${w}).`
    : `${failed} check${failed === 1 ? '' : 's'} failed (${w}): Sesame will not work as configured.`;
}

/** Replaces every occurrence of a secret (4 characters or longer) with `***`. */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***');
  return out;
}

function checkConfig(config: Config): Check[] {
  const mode = config.production ? 'NODE_ENV=production' : 'development (NODE_ENV is not production)';
  const checks = [ok('config', `${mode}; every variable is valid`)];
  if (config.secret === undefined) {
    checks.push(
      config.production
        ? fail(
            'secret',
            'SESAME_SECRET is not set: `sesame start` refuses to run in production without it (e.g. `openssl rand -base64 48`)',
          )
        : ok('secret', `SESAME_SECRET is not set: development generates one and keeps it in ${config.dataDir}`),
    );
  } else {
    checks.push(ok('secret', 'SESAME_SECRET is set (at least 32 characters)'));
  }
  const fallbacks = config.secretFallbacks.length;
  if (fallbacks > 0) {
    checks.push(
      ok(
        'secret',
        `SESAME_SECRET_FALLBACKS holds ${fallbacks} older secret${fallbacks === 1 ? '' : 's'}, still accepted for what ${fallbacks === 1 ? 'it' : 'they'} made; remove ${fallbacks === 1 ? 'it' : 'them'} once those tokens and sign-ins have expired`,
      ),
    );
  }
  if (config.production && config.metricsToken === undefined) {
    checks.push(warn('config', 'GET /metrics is public: set SESAME_METRICS_TOKEN, or keep /metrics off the public network at the proxy'));
  }
  return checks;
}

/**
 * SESAME_PUBLIC_URL is where admin sign-in links point (`<url>/admin/verify`) and decides
 * whether the admin cookies are Secure. The configuration already refused what it cannot mean
 * (credentials, a query, a fragment); what is risky warns here.
 */
function checkPublicUrl(config: Config, given: string | undefined): Check[] {
  const name = 'public-url';
  if (given === undefined || given === '') {
    const derived = `SESAME_PUBLIC_URL is not set: links and printed URLs use ${config.publicUrl} (from HOST and PORT)`;
    return [config.production ? warn(name, `${derived}; set it to the address users reach`) : ok(name, derived)];
  }
  const url = new URL(config.publicUrl);
  const checks: Check[] = [];
  if (url.pathname !== '/') {
    checks.push(
      warn(
        name,
        `SESAME_PUBLIC_URL has the path ${url.pathname}: Sesame serves at /, so the reverse proxy must strip ${url.pathname} before passing requests on`,
      ),
    );
  }
  if (url.protocol === 'http:' && config.production) {
    const local = isLoopbackAddress(url.hostname) ? ' (a loopback address: reachable from this host only)' : '';
    checks.push(
      warn(
        name,
        `${url.origin} is http in production${local}: admin cookies are not Secure and links travel unencrypted; put TLS in front and use https://`,
      ),
    );
  }
  if (checks.length === 0) checks.push(ok(name, `${config.publicUrl} (admin links: ${config.publicUrl}/admin/verify)`));
  return checks;
}
