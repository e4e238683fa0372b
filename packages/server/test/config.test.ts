import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, VARIABLES, helpText, loadConfig, resolveSecret } from '../src/index.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      production: false,
      host: '127.0.0.1',
      port: 8080,
      publicUrl: 'http://127.0.0.1:8080',
      databaseUrl: 'file:./.sesame/sesame.db',
      logLevel: 'info',
      smtpUrl: undefined,
      allowedRedirectUris: [],
    });
  });

  it('reports every bad value at once, by name', () => {
    let caught: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        SESAME_LOG_LEVEL: 'loud',
        SESAME_SECRET: 'short',
        SESAME_ALLOWED_REDIRECT_URIS: 'ftp://x',
        SESAME_SMTP_URL: 'mail.example.com',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as ConfigError).message;
    for (const name of ['PORT', 'SESAME_LOG_LEVEL', 'SESAME_SECRET', 'SESAME_ALLOWED_REDIRECT_URIS', 'SESAME_SMTP_URL'])
      expect(message).toContain(name);
    expect(message).not.toContain('short');
  });

  it('refuses a SESAME_PUBLIC_URL that links could not be built on, and keeps a usable one as given', () => {
    const refused = [
      'ftp://sesame.example.com',
      'sesame.example.com',
      'https://user:pass@sesame.example.com',
      'https://user@sesame.example.com',
      'https://sesame.example.com/?tenant=a',
      'https://sesame.example.com?',
      'https://sesame.example.com/#top',
      'https://sesame.example.com#',
      'https://sesame.example.com\\@evil.example',
      'https://sesame.example.com /x',
      ' https://sesame.example.com',
      'https://sesame.example.com/\n',
      'https://sesame.example.com/\t',
      'https://sesame.example.com/\u0000',
      'https://sesame.example.com/\u007f',
      'https://sesame.example.com/\u200b',
      'https://sesame\u202e.example.com',
    ];
    for (const value of refused) expect(() => loadConfig({ SESAME_PUBLIC_URL: value }), JSON.stringify(value)).toThrow(/SESAME_PUBLIC_URL/);
    for (const [value, kept] of [
      ['https://sesame.example.com', 'https://sesame.example.com'],
      ['https://sesame.example.com/', 'https://sesame.example.com'],
      ['https://example.com/sesame/', 'https://example.com/sesame'],
      ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
      ['https://[2001:db8::1]:8443', 'https://[2001:db8::1]:8443'],
    ]) {
      expect(loadConfig({ SESAME_PUBLIC_URL: value }).publicUrl).toBe(kept);
    }
  });

  it('validates SESAME_SMTP_CONNECTIONS (default 5, 1 to 100)', () => {
    expect(loadConfig({}).smtpConnections).toBe(5);
    expect(loadConfig({ SESAME_SMTP_CONNECTIONS: '16' }).smtpConnections).toBe(16);
    for (const bad of ['0', '101', 'many', '2.5'])
      expect(() => loadConfig({ SESAME_SMTP_CONNECTIONS: bad })).toThrow(/SESAME_SMTP_CONNECTIONS/);
  });

  it('validates SESAME_OUTBOX_LEASE_MS (default 120 s, 1 s to 1 h)', () => {
    expect(loadConfig({}).outboxLeaseMs).toBe(120_000);
    expect(loadConfig({ SESAME_OUTBOX_LEASE_MS: '3000' }).outboxLeaseMs).toBe(3000);
    for (const bad of ['999', '3600001', '2s']) expect(() => loadConfig({ SESAME_OUTBOX_LEASE_MS: bad })).toThrow(/SESAME_OUTBOX_LEASE_MS/);
    expect(VARIABLES.find((v) => v.name === 'SESAME_OUTBOX_LEASE_MS')?.default).toBe('120000');
  });

  it('validates SESAME_ALLOWED_HOSTS (host names without ports, or *) and SESAME_METRICS_TOKEN (16+ token characters)', () => {
    expect(loadConfig({}).allowedHosts).toBeUndefined();
    expect(loadConfig({ SESAME_ALLOWED_HOSTS: ' Sesame.Internal , 192.0.2.10,[2001:db8::1]' }).allowedHosts).toEqual([
      'sesame.internal',
      '192.0.2.10',
      '[2001:db8::1]',
    ]);
    expect(loadConfig({ SESAME_ALLOWED_HOSTS: '*' }).allowedHosts).toEqual(['*']);
    for (const bad of ['a.example:80', 'a.example,', 'a b', 'user@a.example', '[::1', 'a/b']) {
      expect(() => loadConfig({ SESAME_ALLOWED_HOSTS: bad }), bad).toThrow(/SESAME_ALLOWED_HOSTS/);
    }
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ SESAME_METRICS_TOKEN: 'abcdefghijklmnop' }).metricsToken).toBe('abcdefghijklmnop');
    for (const bad of ['short', 'sixteen chars ok', 'abcdefghijklmnop\u0000', 'abcdefghijklmnop,x']) {
      let caught: unknown;
      try {
        loadConfig({ SESAME_METRICS_TOKEN: bad });
      } catch (error) {
        caught = error;
      }
      expect(caught, bad).toBeInstanceOf(ConfigError);
      // The value itself is a secret: never echoed.
      expect((caught as ConfigError).message).toContain('SESAME_METRICS_TOKEN');
      expect((caught as ConfigError).message).not.toContain(bad);
    }
  });

  it('parses redirect rules (trailing * = prefix)', () => {
    const config = loadConfig({ SESAME_ALLOWED_REDIRECT_URIS: 'https://a.example.com/cb, https://b.example.com/auth/*' });
    expect(config.allowedRedirectUris).toEqual([
      { uri: 'https://a.example.com/cb', match: 'exact' },
      { uri: 'https://b.example.com/auth/', match: 'prefix' },
    ]);
  });

  it('--help lists every variable with its default', () => {
    const help = helpText();
    for (const variable of VARIABLES) expect(help).toContain(variable.name);
    expect(help).toContain('(default: 8080)');
    for (const command of ['start', 'migrate', 'clients create', 'clients list', 'clients revoke', 'admins add'])
      expect(help).toContain(command);
  });
});

describe('server secret', () => {
  it('is generated once in development, 0600, and reused', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'sesame-secret-')), 'data');
    const first = resolveSecret({ secret: undefined, production: false, dataDir });
    expect(first.source).toBe('generated');
    expect(first.bytes.length).toBeGreaterThanOrEqual(32);
    expect(statSync(join(dataDir, 'secret')).mode & 0o777).toBe(0o600);
    const second = resolveSecret({ secret: undefined, production: false, dataDir });
    expect(second.source).toBe('data-dir');
    expect(Buffer.from(second.bytes).toString()).toBe(readFileSync(join(dataDir, 'secret'), 'utf8').trim());
  });

  it('is required in production', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sesame-secret-'));
    expect(() => resolveSecret({ secret: undefined, production: true, dataDir })).toThrow(/SESAME_SECRET is required/);
    expect(resolveSecret({ secret: 'x'.repeat(40), production: true, dataDir }).source).toBe('environment');
  });
});
