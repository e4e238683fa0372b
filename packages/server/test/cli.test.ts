/** The CLI's commands in process (`main(argv, io)`), on a real SQLite file in a temp dir. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openStore } from '@sesame/storage';
import { afterAll, describe, expect, it } from 'vitest';
import { cliMain } from '../src/index.js';

const dataDir = mkdtempSync(join(tmpdir(), 'sesame-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function sesameWithEnv(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await cliMain(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

function sesame(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return sesameWithEnv({ SESAME_DATA_DIR: dataDir }, ...argv);
}

describe('sesame CLI', () => {
  it('--help lists commands and variables; unknown commands are usage errors', async () => {
    const help = await sesame('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('clients create --name N');
    expect(help.stdout).toContain('SESAME_SMTP_URL');
    const bogus = await sesame('bogus');
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain('Unknown command');
    expect((await sesame('--nope')).code).toBe(2);
  });

  it('migrates, creates (one JSON object with --json), lists and revokes clients, adds admins', async () => {
    expect(await sesame('migrate', '--json')).toMatchObject({ code: 0, stdout: '{"migrated":true}\n' });
    const created = await sesame(
      'clients',
      'create',
      '--name',
      'shop',
      '--redirect-uri',
      'https://shop.example.com/auth/*',
      '--redirect-uri',
      'https://shop.example.com/cb',
      '--json',
    );
    expect(created.code).toBe(0);
    expect(created.stdout.trim().split('\n')).toHaveLength(1);
    const client = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    expect(client.client_id).toMatch(/^skc_/);
    expect(client.client_secret.length).toBeGreaterThanOrEqual(43);

    const human = await sesame('clients', 'create', '--name', 'other');
    expect(human.stdout).toMatch(/client_secret: \S{43}/);

    const listed = JSON.parse((await sesame('clients', 'list', '--json')).stdout) as {
      clients: { client_id: string; redirect_uris: string[]; revoked_at: string | null }[];
    };
    const shop = listed.clients.find((c) => c.client_id === client.client_id)!;
    expect(shop.redirect_uris).toEqual(['https://shop.example.com/auth/*', 'https://shop.example.com/cb']);
    expect(JSON.stringify(listed)).not.toContain(client.client_secret);

    expect((await sesame('clients', 'revoke', client.client_id)).code).toBe(0);
    expect(await sesame('clients', 'revoke', client.client_id, '--json')).toMatchObject({ code: 1 });
    expect((await sesame('clients', 'list')).stdout).toMatch(new RegExp(`${client.client_id}\\s+shop\\s+revoked`));

    expect(await sesame('admins', 'add', 'Ada@Example.com', '--json')).toMatchObject({
      code: 0,
      stdout: '{"email":"Ada@Example.com","admin":true}\n',
    });
    expect((await sesame('admins', 'add', 'not-an-email')).code).toBe(2);
    expect((await sesame('clients', 'create', '--name', 'x', '--redirect-uri', 'ftp://nope')).code).toBe(1);
  });

  it('rotates a secret (printed once; --json exactly client_id and client_secret), sets send limits, removes admins; each change audited with actor cli', async () => {
    const created = JSON.parse((await sesame('clients', 'create', '--name', 'limited', '--sends-per-minute', '250', '--json')).stdout) as {
      client_id: string;
      client_secret: string;
    };
    const rotated = await sesame('clients', 'rotate', created.client_id, '--json');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout.trim().split('\n')).toHaveLength(1);
    const printed = JSON.parse(rotated.stdout) as Record<string, string>;
    expect(Object.keys(printed)).toEqual(['client_id', 'client_secret']);
    expect(printed.client_id).toBe(created.client_id);
    expect(printed.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(printed.client_secret).not.toBe(created.client_secret);
    const human = await sesame('clients', 'rotate', created.client_id);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/client_secret: [A-Za-z0-9_-]{43}\n/);
    expect(human.stdout).toContain('shown only this once');

    const listed = () =>
      sesame('clients', 'list', '--json').then((r) =>
        (
          JSON.parse(r.stdout) as { clients: { client_id: string; sends_per_minute: number | null; secret_version: number }[] }
        ).clients.find((c) => c.client_id === created.client_id)!,
      );
    expect(await listed()).toMatchObject({ sends_per_minute: 250, secret_version: 3 });
    expect(await sesame('clients', 'set-limit', created.client_id, '40', '--json')).toMatchObject({
      code: 0,
      stdout: `{"client_id":"${created.client_id}","sends_per_minute":40}\n`,
    });
    expect((await listed()).sends_per_minute).toBe(40);
    expect((await sesame('clients', 'set-limit', created.client_id, 'default')).code).toBe(0);
    expect((await listed()).sends_per_minute).toBeNull();
    for (const bad of ['0', '-1', '1.5', '1e3', 'ten', '1000001', '']) {
      expect((await sesame('clients', 'set-limit', created.client_id, bad)).code, bad).toBe(2);
      expect((await sesame('clients', 'create', '--name', 'bad-limit', '--sends-per-minute', bad)).code, bad).toBe(2);
    }
    expect((await sesame('clients', 'set-limit', 'skc_nope', '10')).code).toBe(1);
    expect((await sesame('clients', 'rotate', 'skc_nope', '--json')).code).toBe(1);
    expect((await sesame('clients', 'rotate')).code).toBe(2);

    expect((await sesame('clients', 'revoke', created.client_id)).code).toBe(0);
    expect((await sesame('clients', 'rotate', created.client_id)).code).toBe(1);
    expect((await sesame('clients', 'set-limit', created.client_id, '10')).code).toBe(1);

    expect((await sesame('admins', 'add', 'gone@example.com')).code).toBe(0);
    expect(await sesame('admins', 'remove', 'Gone@Example.com', '--json')).toMatchObject({
      code: 0,
      stdout: '{"email":"Gone@Example.com","removed":true}\n',
    });
    expect((await sesame('admins', 'remove', 'gone@example.com')).code).toBe(1);
    expect((await sesame('admins', 'remove', 'not-an-email')).code).toBe(2);

    const store = openStore(`file:${join(dataDir, 'sesame.db')}`);
    try {
      expect(await store.findAdmin('gone@example.com')).toBeNull();
      const entries = (await store.listAudit({ limit: 100 })).filter((e) => (e.after ?? '').includes(created.client_id));
      expect(entries.map((e) => e.action).reverse()).toEqual([
        'client.create',
        'client.rotate',
        'client.rotate',
        'client.send_limit',
        'client.send_limit',
        'client.revoke',
      ]);
      expect(entries.every((e) => e.actor === 'cli')).toBe(true);
      const text = JSON.stringify(entries);
      for (const secret of [created.client_secret, printed.client_secret]) expect(text).not.toContain(secret);
    } finally {
      await store.close();
    }
  });

  it('refuses to start in production without a secret or without an SMTP relay, and reports bad configuration', async () => {
    const production = await sesameWithEnv({ NODE_ENV: 'production', SESAME_DATA_DIR: dataDir }, 'start');
    expect(production.code).toBe(1);
    expect(production.stderr).toContain('SESAME_SECRET is required');
    // With a secret but no relay: every sign-in email would stay undelivered.
    const secret = 'a-production-secret-of-at-least-32-characters';
    const unmailed = await sesameWithEnv({ NODE_ENV: 'production', SESAME_DATA_DIR: dataDir, SESAME_SECRET: secret }, 'start');
    expect(unmailed.code).toBe(1);
    expect(unmailed.stderr).toContain('SESAME_SMTP_URL is required when NODE_ENV=production');
    expect(unmailed.stderr).not.toContain(secret);
    const bad = await sesameWithEnv({ PORT: '99999', SESAME_DATA_DIR: dataDir }, 'start');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('PORT must be at most 65535');
  });
});

describe('the sesame launcher', () => {
  it('runs with the server V8 flags of bin/node-flags.mjs, and its shebang works when executed directly', async () => {
    const root = join(import.meta.dirname, '../../..');
    const { SERVER_NODE_FLAGS } = (await import(pathToFileURL(join(root, 'bin/node-flags.mjs')).href)) as {
      SERVER_NODE_FLAGS: readonly string[];
    };
    // The root launcher and the package's own (what `npx sesame` runs from an install).
    for (const launcher of ['bin/sesame.js', 'packages/server/bin/sesame.js']) {
      const shebang = readFileSync(join(root, launcher), 'utf8').split('\n', 1)[0];
      expect(shebang).toBe(`#!/usr/bin/env -S node ${SERVER_NODE_FLAGS.join(' ')}`);
    }
    // Executed as a program (as npx and node_modules/.bin run it), not through `node bin/sesame.js`.
    const help = execFileSync(join(root, 'bin/sesame.js'), ['--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(help).toMatch(/^Usage: sesame <command>/);
  });
});
