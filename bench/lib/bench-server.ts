/**
 * The bench server (bench/sesame/server.mjs: the real Sesame on SQLite with a capturing
 * transport and a mailbox sidecar on PORT + 1) as a child process, and the plain node:http
 * calls the benches make to it. node:http with a keep-alive agent, not fetch: on two shared
 * cores undici's per-request CPU would be taken from the server being measured. For the same
 * reason the server's output goes to a file, not a pipe into this process: its access log is a
 * line per request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePortPair } from '@sesame/testkit';
import { SERVER_NODE_FLAGS } from '../../bin/node-flags.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVER = resolve(ROOT, 'bench/sesame/server.mjs');

export interface BenchServer {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly base: URL;
  /** The mailbox sidecar: GET /mailbox/otp|link?max=N, GET /stats. */
  readonly sidecar: string;
  /** A Bearer access token of a client it created. */
  readonly token: string;
  readonly agent: http.Agent;
  /** Where its stdout and stderr go. */
  readonly logFile: string;
  /** The temp directory made for that file (removed on stop), or null when the caller named one. */
  readonly ownLogDir: string | null;
}

export interface StartBenchServerOptions {
  /** Added to the environment (NODE_ENV=production and PORT are set). */
  readonly env?: Record<string, string>;
  readonly maxSockets: number;
  /** Node options for the server, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /** Directory of the log file, kept after stop (default: a temp directory removed on stop). */
  readonly logDir?: string;
  readonly readyTimeoutMs?: number;
  /** The server's port (the sidecar takes the next one); default: a free pair. */
  readonly port?: number;
  /** The agent's socket timeout: idle keep-alive sockets close after it (default: none). */
  readonly agentTimeoutMs?: number;
}

/** Starts server.mjs and resolves once its READY line is in its log file. */
export async function startBenchServer(options: StartBenchServerOptions): Promise<BenchServer> {
  const port = options.port ?? (await freePortPair());
  const logDir = options.logDir ?? mkdtempSync(join(tmpdir(), 'sesame-bench-'));
  const ownLogDir = options.logDir === undefined ? logDir : null;
  const logFile = join(logDir, `server-${port}.log`);
  const fd = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    // The V8 flags `sesame start` runs with, then any the caller adds (e.g. --cpu-prof).
    child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...(options.nodeArgs ?? []), SERVER, String(port)], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', PORT: String(port), ...options.env },
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const head = readFileSync(logFile, 'utf8').slice(0, 64_000);
    const line = /^READY (\{.*\})$/m.exec(head)?.[1];
    if (line !== undefined) {
      const ready = JSON.parse(line) as { url: string; sidecar: string; token: string };
      return {
        child,
        pid: child.pid!,
        base: new URL(ready.url.replace('localhost', '127.0.0.1')),
        sidecar: ready.sidecar,
        token: ready.token,
        agent: new http.Agent({ keepAlive: true, maxSockets: options.maxSockets, timeout: options.agentTimeoutMs }),
        logFile,
        ownLogDir,
      };
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`bench server exited early (${child.exitCode ?? child.signalCode}):\n${head.slice(-4_000)}`);
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`bench server: no READY line within ${timeoutMs / 1000} s:\n${head.slice(-4_000)}`);
    }
    await sleep(50);
  }
}

/** The end of a server's output, for an error report. */
export function logTail(server: BenchServer): string {
  try {
    return readFileSync(server.logFile, 'utf8').slice(-4_000);
  } catch {
    return '';
  }
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
  if (server.ownLogDir !== null) rmSync(server.ownLogDir, { recursive: true, force: true });
}

export function getText(url: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((done, fail) => {
    const request = http.get(url, { timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => done(body));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: timed out`)));
    request.on('error', fail);
  });
}

export async function getJson<T>(url: string, timeoutMs = 60_000): Promise<T> {
  return JSON.parse(await getText(url, timeoutMs)) as T;
}

/** POSTs a JSON body with the server's token over its keep-alive agent: the status and the body text. */
export function postJson(server: BenchServer, path: string, body: unknown, timeoutMs?: number): Promise<{ status: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((done, fail) => {
    const request = http.request(
      {
        agent: server.agent,
        host: server.base.hostname,
        port: server.base.port,
        method: 'POST',
        path,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          authorization: `Bearer ${server.token}`,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => done({ status: response.statusCode ?? 0, body: text }));
        response.on('error', fail);
      },
    );
    if (timeoutMs !== undefined) request.setTimeout(timeoutMs, () => request.destroy(new Error('timeout')));
    request.on('error', fail);
    request.end(payload);
  });
}
