/**
 * CPU time and memory of processes, from /proc (Linux), for the bench scripts: what each side
 * of a run spent, and how busy the whole machine was (so other load shows up as "other").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const CLK_TCK = 100;

/** CPU ms (user + system) of a process and of its reaped children, and its parent; null once gone. */
export function processCpu(pid: number): { readonly ppid: number; readonly selfMs: number; readonly childrenMs: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is in parentheses and may hold spaces: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): field n is fields[n - 3].
  const num = (n: number) => Number(fields[n - 3]);
  return { ppid: num(4), selfMs: ((num(14) + num(15)) * 1000) / CLK_TCK, childrenMs: ((num(16) + num(17)) * 1000) / CLK_TCK };
}

/** A kB field of /proc/<pid>/status in MiB, or NaN once the process is gone. */
function statusMiB(pid: number, field: 'VmRSS' | 'RssAnon'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in MiB (VmRSS), or NaN once gone. */
export function processRssMiB(pid: number): number {
  return statusMiB(pid, 'VmRSS');
}

/** Anonymous resident memory of a process in MiB (RssAnon: heaps, not code or mapped files), NaN once gone. */
export function processAnonMiB(pid: number): number {
  return statusMiB(pid, 'RssAnon');
}

export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** CPU ms the whole machine spent busy (all cores) since boot. */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user! + nice! + system! + irq! + softirq! + steal!) * 1000) / CLK_TCK;
}

/** CPU ms of this process (all threads). */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** The 1, 5 and 15 minute load averages, as the reports print them. */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** The line a bench opens with: cores and load, so a report says how busy the machine was. */
export function machineLine(): string {
  return `machine: ${cpus().length} cores, load average ${loadAverage()}`;
}
