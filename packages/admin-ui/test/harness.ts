/**
 * The real parts the dashboard's browser test drives, all on 127.0.0.1 with free ports:
 * `sesame start` children with `sesame` CLI calls against their database; the SMTP capture
 * (which can greylist an address once) and the process plumbing come from @sesame/testkit.
 * Every process is stopped by its PID; every wait is bounded.
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, isolatedSesameEnv, runSesameCli, startSesameProcess, type SesameProcess } from '@sesame/testkit';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

export const GREYLIST_REPLY = 'Greylisted by the e2e SMTP server, try again later';

// ---------------------------------------------------------------------------------------------
// Sesame

export interface Sesame extends SesameProcess {
  readonly dataDir: string;
  /** Runs `sesame …` against this instance's database; resolves to stdout. */
  cli(args: string[]): Promise<string>;
}

export async function startSesame(options: { smtpUrl?: string; redirectUri: string }): Promise<Sesame> {
  if (!existsSync(join(PACKAGE_DIR, 'dist', 'index.html'))) {
    throw new Error('packages/admin-ui is not built: run `npm run build` at the repository root first.');
  }
  const port = await freePort();
  const { dataDir, env } = isolatedSesameEnv('sesame-admin-e2e-', {
    SESAME_PUBLIC_URL: `http://127.0.0.1:${port}`,
    SESAME_ALLOWED_REDIRECT_URIS: options.redirectUri,
    ...(options.smtpUrl !== undefined ? { SESAME_SMTP_URL: options.smtpUrl } : {}),
  });
  const sesame = await startSesameProcess({ env, port, keepOutputChars: 20_000 });
  return Object.assign(sesame, { dataDir, cli: (args: string[]) => runSesameCli(args, { env }) });
}

/** Stops the instance (by PID) and removes its data directory. */
export async function stopSesame(sesame: Sesame | undefined): Promise<void> {
  if (!sesame) return;
  await sesame.stop();
  rmSync(sesame.dataDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// REST API (as an app's server calls it)

export async function send(
  base: string,
  token: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}/api/v1/passwordless/email/send`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
