/**
 * The bench server (bench/peers-target/server.mjs: the real Sesame on SQLite with a capturing
 * transport and a mailbox sidecar on PORT + 1) as a child process, and the plain node:http
 * calls the benches make to it. node:http with a keep-alive agent, not fetch: on two shared
 * cores undici's per-request CPU would be taken from the server being measured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { resolve } from 'node:path';
import { freePort } from '@sesame/testkit';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVER = resolve(ROOT, 'bench/peers-target/server.mjs');
const OUTPUT_KEPT = 8_000;

export interface BenchServer {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly base: URL;
  /** The mailbox sidecar: GET /mailbox/otp|link?max=N, GET /stats. */
  readonly sidecar: string;
  /** A Bearer access token of a client it created. */
  readonly token: string;
  readonly agent: http.Agent;
  /** The last lines it printed (for error messages). */
  output(): string;
}

/** Starts server.mjs with `env` added (NODE_ENV=production, a free PORT); resolves on its READY line. */
export async function startBenchServer(options: { env?: Record<string, string>; maxSockets: number; readyTimeoutMs?: number }): Promise<BenchServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER, String(port)], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', PORT: String(port), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-OUTPUT_KEPT));
  child.stderr.on('data', keep);
  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  const ready = await new Promise<{ url: string; sidecar: string; token: string }>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`bench server: no READY within ${timeoutMs / 1000} s\n${output}`)), timeoutMs);
    const onData = (d: Buffer) => {
      keep(d);
      const line = /^READY (.*)$/m.exec(output)?.[1];
      if (line === undefined) return;
      clearTimeout(timer);
      // From here on its log lines are only kept, never searched.
      child.stdout.off('data', onData);
      child.stdout.on('data', keep);
      done(JSON.parse(line) as { url: string; sidecar: string; token: string });
    };
    child.stdout.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`bench server exited early (${code ?? signal})\n${output}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    base: new URL(ready.url),
    sidecar: ready.sidecar,
    token: ready.token,
    agent: new http.Agent({ keepAlive: true, maxSockets: options.maxSockets }),
    output: () => output,
  };
}

/** SIGTERM to a child this process started, SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      done();
    });
    child.kill('SIGTERM');
  });
}

export async function stopBenchServer(server: BenchServer, graceMs?: number): Promise<void> {
  server.agent.destroy();
  await stopChild(server.child, graceMs);
}

export function getJson<T>(url: string, timeoutMs = 60_000): Promise<T> {
  return new Promise((done, fail) => {
    const request = http.get(url, { timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        try {
          done(JSON.parse(body) as T);
        } catch (error) {
          fail(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: timed out`)));
    request.on('error', fail);
  });
}

/** POSTs a JSON body with the server's token over its keep-alive agent: the status and the body text. */
export function postJson(server: BenchServer, path: string, body: unknown): Promise<{ status: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((done, fail) => {
    const request = http.request(
      {
        agent: server.agent,
        host: server.base.hostname,
        port: server.base.port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: `Bearer ${server.token}` },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => done({ status: response.statusCode ?? 0, body: text }));
        response.on('error', fail);
      },
    );
    request.on('error', fail);
    request.end(payload);
  });
}
