/**
 * `sesame backup` and `sesame restore` against a real `sesame start` child: an online copy taken
 * under a write load opens cleanly and keeps every sign-in verified before it; restore refuses a
 * live database and works once the server has stopped.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  buildServerPackage,
  createApiClientWithCli,
  fetchAccessToken,
  isolatedSesameEnv,
  killStartedProcesses,
  runSesameCli,
  startSesameProcess,
  startSmtpCapture,
  type SmtpCapture,
} from '@sesame/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let smtp: SmtpCapture;
const dirs: string[] = [];

beforeAll(async () => {
  await buildServerPackage();
  smtp = await startSmtpCapture();
});

afterAll(async () => {
  await killStartedProcesses();
  await smtp.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function readDatabase(file: string): { integrity: unknown; statuses: Map<string, string>; count: number } {
  const db = new Database(file, { readonly: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    const rows = db.prepare('SELECT id, status FROM auth_requests').all() as { id: string; status: string }[];
    return { integrity, statuses: new Map(rows.map((r) => [r.id, r.status])), count: rows.length };
  } finally {
    db.close();
  }
}

async function cliFailure(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    await runSesameCli(args, { env });
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    expect(failed.code).not.toBe(0);
    return failed.stderr ?? '';
  }
  throw new Error(`sesame ${args.join(' ')} succeeded but should have been refused`);
}

describe('sesame backup and restore', () => {
  it('copies a serving database under load and restores only a stopped one', { timeout: 60_000 }, async () => {
    const limits = { SESAME_CLIENT_SENDS_PER_MINUTE: '1000000', SESAME_SENDS_PER_MINUTE: '10000000' };
    const mail = { SESAME_SMTP_URL: smtp.url, SESAME_MAIL_FROM: 'Acme <no-reply@acme.test>', ...limits };
    const original = isolatedSesameEnv('sesame-backup-', mail);
    dirs.push(original.dataDir);
    const client = await createApiClientWithCli({ env: original.env, name: 'backup-load', redirectUri: 'https://app.example.com/auth/*' });
    const sesame = await startSesameProcess({ env: original.env, readyTimeoutMs: 20_000 });
    const token = await fetchAccessToken(sesame.url, client);
    const api = (action: string, body: unknown): Promise<Response> =>
      fetch(`${sesame.url}/api/v1/passwordless/email/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const send = async (email: string): Promise<string> => {
      const res = await api('send', { email, magiclink_auth_uri: 'https://app.example.com/auth/verify' });
      if (res.status !== 200) throw new Error(`send: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { auth_request_id: string }).auth_request_id;
    };

    // Sign-ins completed before the backup: each must be verified in the copy.
    const verifiedIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const email = `verified-${i}@example.test`;
      const id = await send(email);
      const code = (await smtp.waitForMail(email, 1, 10_000)).code;
      const res = await api('verify', { code, auth_request_id: id });
      expect(res.status).toBe(200);
      verifiedIds.push(id);
    }

    // A bounded write load: at most 400 sends or 6 s, four at a time.
    let sent = 0;
    let sentAfterBackup = 0;
    let backupDone = false;
    const loadEnds = Date.now() + 6_000;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; sent < 400 && Date.now() < loadEnds; i++) {
        await send(`load-${w}-${i}@example.test`);
        sent++;
        if (backupDone) sentAfterBackup++;
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(worker));
    while (sent < 40) await new Promise((r) => setTimeout(r, 20));

    const backupFile = join(original.dataDir, 'backup.db');
    const out = await runSesameCli(['backup', backupFile, '--json'], { env: original.env });
    backupDone = true;
    const report = JSON.parse(out.trim()) as { bytes: number; durationMs: number; integrity: string };
    expect(report.integrity).toBe('ok');
    expect(report.bytes).toBeGreaterThan(0);
    await load;
    // The copy was taken while the server was still accepting writes.
    expect(sentAfterBackup).toBeGreaterThan(0);
    expect(readdirSync(original.dataDir).filter((f) => f.includes('.partial') || f.startsWith('backup.db-'))).toEqual([]);
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);

    expect(await cliFailure(['backup', backupFile], original.env)).toMatch(/already exists; pass --force/);
    const underLoad = join(original.dataDir, 'under-load.db');
    copyFileSync(backupFile, underLoad);
    expect(await runSesameCli(['backup', backupFile, '--force'], { env: original.env })).toMatch(/integrity_check ok/);
    expect(readDatabase(backupFile).count).toBeGreaterThan(readDatabase(underLoad).count);

    // Restore over the live database is refused and leaves it alone.
    const liveDb = join(original.dataDir, 'sesame.db');
    expect(await cliFailure(['restore', backupFile], original.env)).toMatch(/in use \(is Sesame running\?\)/);
    expect(readdirSync(original.dataDir).filter((f) => f.includes('before-restore'))).toEqual([]);
    await send('after-refused-restore@example.test');

    // The copy serves in a data directory of its own.
    const copy = isolatedSesameEnv('sesame-backup-copy-', { ...mail, SESAME_SECRET: original.env.SESAME_SECRET });
    dirs.push(copy.dataDir);
    copyFileSync(underLoad, join(copy.dataDir, 'sesame.db'));
    const fromCopy = await startSesameProcess({ env: copy.env, readyTimeoutMs: 20_000 });
    expect((await fetch(`${fromCopy.url}/readyz`)).status).toBe(200);
    expect(await fromCopy.stop(20_000)).toBe(0);
    const copied = readDatabase(join(copy.dataDir, 'sesame.db'));
    expect(copied.integrity).toBe('ok');
    for (const id of verifiedIds) expect(copied.statuses.get(id)).toBe('verified');
    expect(copied.count).toBeGreaterThan(verifiedIds.length);

    expect(await sesame.stop(20_000)).toBe(0);
    const liveCount = readDatabase(liveDb).count;
    const restored = await runSesameCli(['restore', backupFile], { env: original.env });
    expect(restored).toMatch(/kept as .*before-restore-/);
    // The stale WAL of the replaced file would otherwise be replayed over the restored one.
    expect(existsSync(`${liveDb}-wal`)).toBe(false);
    const kept = readdirSync(original.dataDir).filter((f) => f.startsWith('sesame.db.before-restore-'));
    expect(kept).toHaveLength(1);
    expect(readDatabase(join(original.dataDir, kept[0]!)).count).toBe(liveCount);
    const after = readDatabase(liveDb);
    expect(after.integrity).toBe('ok');
    expect(after.count).toBe(readDatabase(backupFile).count);
    expect(after.count).toBeLessThan(liveCount);

    const postgres = { ...original.env, SESAME_DATABASE_URL: 'postgres://sesame@127.0.0.1:1/sesame' };
    expect(await cliFailure(['backup', join(original.dataDir, 'pg.db')], postgres)).toMatch(
      /SQLite databases only; for PostgreSQL use pg_dump/,
    );

    // Not a Sesame database: refused with a message, no stack trace.
    const stray = mkdtempSync(join(tmpdir(), 'sesame-backup-stray-'));
    dirs.push(stray);
    const plain = new Database(join(stray, 'plain.db'));
    plain.exec('CREATE TABLE t (x)');
    plain.close();
    const refused = await cliFailure(['restore', join(stray, 'plain.db')], original.env);
    expect(refused).toMatch(/not a Sesame database/);
    expect(refused).not.toMatch(/\n\s+at /);
  });
});
