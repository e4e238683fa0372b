/**
 * Bench servers started through here are remembered until they exit, so that a hard time limit
 * or a signal can end every one this run left behind, by PID.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBenchServer, type BenchServer, type StartBenchServerOptions } from './bench-server.js';

const running = new Set<ChildProcess>();

export async function startTrackedServer(options: StartBenchServerOptions): Promise<BenchServer> {
  const server = await startBenchServer(options);
  running.add(server.child);
  server.child.once('exit', () => running.delete(server.child));
  return server;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Signals every tracked server still running. */
export function signalTracked(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const child of running) {
    if (alive(child) && child.pid !== undefined) {
      try {
        process.kill(child.pid, signal);
      } catch {
        // already gone
      }
    }
  }
}

/** SIGTERM (server.mjs then removes its data directory), SIGKILL what is left after `graceMs`. */
export async function stopTracked(graceMs: number): Promise<void> {
  signalTracked('SIGTERM');
  const deadline = performance.now() + graceMs;
  while ([...running].some(alive) && performance.now() < deadline) await sleep(50);
  signalTracked('SIGKILL');
}
