/**
 * Child processes a test starts: output kept (optionally only its tail), a bounded wait for a
 * line that says it is ready, and a stop by PID (SIGTERM, then SIGKILL after a grace period).
 * Every process started here is remembered, so `killStartedProcesses` can end whatever is left;
 * nothing else is ever signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface StartProcessOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Keep only the last this many characters of each output (a chatty process); default all. */
  readonly keepOutputChars?: number;
}

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout and stderr so far, in arrival order. */
  readonly output: string;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Whether it is still running. */
  running(): boolean;
  /** SIGTERM by PID, SIGKILL if it is still running after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** Sends `signal` (default SIGKILL) by PID and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const started = new Set<RunningProcess>();

/** `process.kill`, quiet when the process has just exited on its own. */
function sendSignal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export function startProcess(command: string, args: readonly string[], options: StartProcessOptions): RunningProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) {
    child.on('error', () => undefined);
    throw new Error(`could not start ${command} ${args.join(' ')}`);
  }
  const pid = child.pid;
  const keep = options.keepOutputChars;
  // Unbounded unless asked: slicing on every chunk would copy the whole output each time.
  const tail = (text: string): string => (keep === undefined ? text : text.slice(-keep));
  const text = { output: '', stdout: '', stderr: '' };
  const append = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const piece = chunk.toString('utf8');
    text.output = tail(text.output + piece);
    text[stream] = tail(text[stream] + piece);
  };
  child.stdout.on('data', append('stdout'));
  child.stderr.on('data', append('stderr'));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const proc: RunningProcess = {
    child,
    pid,
    get output() {
      return text.output;
    },
    get stdout() {
      return text.stdout;
    },
    get stderr() {
      return text.stderr;
    },
    exited,
    running,
    async stop(graceMs = 5_000) {
      if (!running()) return child.exitCode;
      sendSignal(pid, 'SIGTERM');
      const timer = setTimeout(() => sendSignal(pid, 'SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill(sig = 'SIGKILL') {
      if (running()) sendSignal(pid, sig);
      await exited;
    },
  };
  started.add(proc);
  void exited.then(() => started.delete(proc));
  return proc;
}

/**
 * Waits (bounded) until the process's output contains `pattern`; resolves with the match. Rejects
 * with the output so far if the process exits first or `timeoutMs` passes.
 */
export function waitForOutput(proc: RunningProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray>;
export function waitForOutput(proc: RunningProcess, pattern: string, timeoutMs: number, what: string): Promise<string>;
export function waitForOutput(
  proc: RunningProcess,
  pattern: string | RegExp,
  timeoutMs: number,
  what: string,
): Promise<RegExpExecArray | string> {
  const find = (): RegExpExecArray | string | undefined =>
    typeof pattern === 'string' ? (proc.output.includes(pattern) ? pattern : undefined) : (pattern.exec(proc.output) ?? undefined);
  return new Promise((resolve, reject) => {
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      proc.child.stdout?.off('data', check);
      proc.child.stderr?.off('data', check);
      proc.child.off('close', onExit);
      if (error) reject(error);
    };
    const check = (): void => {
      const found = find();
      if (found === undefined) return;
      finish();
      resolve(found);
    };
    const onExit = (): void => {
      // 'close' comes after the last output: one more look, then the output says why it died.
      const found = find();
      if (found !== undefined) {
        finish();
        resolve(found);
      } else finish(new Error(`${what} exited early (${proc.child.exitCode ?? proc.child.signalCode}):\n${proc.output}`));
    };
    const timer = setTimeout(() => finish(new Error(`${what}: not ready within ${timeoutMs} ms:\n${proc.output}`)), timeoutMs);
    proc.child.stdout?.on('data', check);
    proc.child.stderr?.on('data', check);
    proc.child.once('close', onExit);
    if (!proc.running()) onExit();
    else check();
  });
}

/** SIGKILL (by PID) of every process started here that is still running; resolves once all exited. */
export async function killStartedProcesses(): Promise<void> {
  await Promise.all([...started].map((proc) => proc.kill('SIGKILL')));
}
