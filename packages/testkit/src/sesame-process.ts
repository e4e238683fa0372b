/**
 * `sesame start` (or `sesame dev`) as a child process through the root launcher, on a port of
 * 127.0.0.1, ready once its banner is printed (the store is migrated and the port is listening).
 */
import { freePort } from './ports.js';
import { startProcess, waitForOutput, type RunningProcess } from './processes.js';
import { REPO_ROOT, SESAME_BIN } from './repo.js';

export interface SesameProcessOptions {
  /** The process's whole environment; PORT is set here. */
  readonly env: NodeJS.ProcessEnv;
  /** Working directory (a relative data directory lives there); default the repository root. */
  readonly cwd?: string;
  /** Listen on this port; default a free one. */
  readonly port?: number;
  readonly command?: 'start' | 'dev';
  /** Node flags before the launcher, e.g. bin/node-flags.mjs's SERVER_NODE_FLAGS. */
  readonly nodeFlags?: readonly string[];
  /**
   * The program and its first arguments instead of the root launcher, e.g. `installedSesame(dir)`.
   * Not `npx`: npm exec does not pass SIGTERM on, so the stop by PID would leave the server running.
   */
  readonly launcher?: readonly [string, ...string[]];
  /** Output that says it is ready; default the banner's first line. */
  readonly readyText?: string;
  /** Bound of the wait for `readyText`; default 30 s. */
  readonly readyTimeoutMs?: number;
  /** Keep only the last this many characters of its output; default all. */
  readonly keepOutputChars?: number;
}

export interface SesameProcess extends RunningProcess {
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
}

/** Starts the process and resolves once it is ready; kills it (by PID) and rejects if it is not in time. */
export async function startSesameProcess(options: SesameProcessOptions): Promise<SesameProcess> {
  const port = options.port ?? (await freePort());
  const command = options.command ?? 'start';
  const [program, ...programArgs] = options.launcher ?? [process.execPath, ...(options.nodeFlags ?? []), SESAME_BIN];
  const proc = startProcess(program, [...programArgs, command], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...options.env, PORT: String(port) },
    ...(options.keepOutputChars === undefined ? {} : { keepOutputChars: options.keepOutputChars }),
  });
  try {
    await waitForOutput(proc, options.readyText ?? 'Sesame is listening', options.readyTimeoutMs ?? 30_000, `sesame ${command}`);
  } catch (error) {
    await proc.kill();
    throw error;
  }
  return Object.assign(proc, { port, url: `http://127.0.0.1:${port}` });
}
