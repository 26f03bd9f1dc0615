// Shared pieces of the benchmarks: one result row shape, percentiles, timing helpers.
import { execFileSync } from 'node:child_process';

/** One measured number, printed as a table row and written to the JSON results. */
export interface Row {
  /** Which scenario, e.g. "detection: stdio SIGSTOP (fast profile)". */
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  /** What the number should be compared with: a goal, or the bound the settings allow. */
  bound?: string;
  note?: string;
}

/** A scenario runs by itself, bounded in count and time, and cleans up after itself. */
export interface Scenario {
  name: string;
  run(): Promise<Row[]>;
}

/** Where the p-th percentile of `count` sorted values sits: the nearest rank. */
export function percentileIndex(count: number, p: number): number {
  return Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1));
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[percentileIndex(sorted.length, p)] ?? Number.NaN;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

export const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** Polls `predicate` every `everyMs` until it holds or `timeoutMs` passes; resolves with the time it held. */
export async function until(predicate: () => boolean, timeoutMs: number, everyMs = 5): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (predicate()) return performance.now();
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** One child process of this process, as `ps` shows it. */
export interface ChildProcessInfo {
  pid: number;
  /** Its process group: a detached child leads its own (`pid === pgid`). */
  pgid: number;
  /** Its command line. */
  args: string;
}

/** The processes whose parent is this one (`ps --ppid`); none when it has no children. */
export function childProcesses(): ChildProcessInfo[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,pgid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8', timeout: 5_000 });
  } catch {
    return []; // ps exits 1 when there are no children.
  }
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 3)
    .map(([pid, pgid, ...args]) => ({ pid: Number(pid), pgid: Number(pgid), args: args.join(' ') }));
}

/** Whether a process with this pid exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
