/**
 * Graceful shutdown on the real listening server: a request whose body is still arriving when
 * close() starts is answered; new connections are refused; the worker and store stop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, startSesame } from '../src/index.js';

const dataDir = mkdtempSync(join(tmpdir(), 'sesame-shutdown-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('graceful shutdown', () => {
  it('finishes the in-flight request, then refuses new connections', async () => {
    const config = loadConfig({ PORT: '0', SESAME_DATA_DIR: dataDir, SESAME_LOG_LEVEL: 'silent' });
    const running = await startSesame(config);
    expect(running.port).toBeGreaterThan(0);
    expect((await fetch(`${running.url}/readyz`)).status).toBe(200);

    const body = JSON.stringify({ grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' });
    const socket = connect(running.port, '127.0.0.1');
    await new Promise<void>((done) => socket.once('connect', done));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    const ended = new Promise<void>((done) => socket.once('close', () => done()));
    socket.write(
      `POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 100));

    const closing = running.close();
    await new Promise((r) => setTimeout(r, 100));
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
    socket.write(body.slice(10));
    await closing;
    await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
    expect(answer).toContain('invalid_client');
  });
});
