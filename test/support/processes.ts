// Linux /proc helpers for leak checks in integration tests.
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** Executable name as the kernel reports it (at most 15 chars). */
  comm: string;
  /** State letter: R running, S sleeping, D disk sleep, T stopped, t traced, Z zombie, X dead, I idle. */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
}

/** Parses /proc/<pid>/stat; undefined when the process does not exist (or vanished mid-read). */
export function readProcStat(pid: number): ProcStat | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp session ..." where comm may itself contain spaces and ')'.
  const open = raw.indexOf('(');
  const close = raw.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const fields = raw.slice(close + 2).split(' ');
  const [state, ppid, pgrp, session] = fields;
  if (state === undefined || ppid === undefined || pgrp === undefined || session === undefined) return undefined;
  return {
    pid: Number(raw.slice(0, open).trim()),
    comm: raw.slice(open + 1, close),
    state,
    ppid: Number(ppid),
    pgrp: Number(pgrp),
    session: Number(session),
  };
}

/** The state letter from /proc/<pid>/stat (e.g. 'T' when SIGSTOPped), or undefined if gone. */
export function processState(pid: number): string | undefined {
  return readProcStat(pid)?.state;
}

/** False once the process is gone (ESRCH) or only a zombie ('Z'/'X') is left. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: exists but belongs to someone else; fall through to /proc.
  }
  const state = processState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

function allProcStats(): ProcStat[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const stats: ProcStat[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry)); // undefined if it vanished meanwhile
    if (stat) stats.push(stat);
  }
  return stats;
}

/**
 * All processes below rootPid (children, grandchildren, ...), zombies included, by walking
 * the ppid links of /proc/<pid>/stat. Orphans that got reparented (to init or a subreaper)
 * are no longer descendants: use processGroupMembers() to find those.
 */
export function descendantPids(rootPid: number = process.pid): number[] {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of allProcStats()) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const result: number[] = [];
  const queue = [rootPid];
  const seen = new Set<number>(queue);
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      if (seen.has(child)) continue;
      seen.add(child);
      result.push(child);
      queue.push(child);
    }
  }
  return result.sort((a, b) => a - b);
}

/** Live (non-zombie) processes whose process group id is pgid. */
export function processGroupMembers(pgid: number): number[] {
  return allProcStats()
    .filter((s) => s.pgrp === pgid && s.state !== 'Z' && s.state !== 'X')
    .map((s) => s.pid)
    .sort((a, b) => a - b);
}

/** Polls every 20 ms until the process is no longer alive; false if still alive after timeoutMs. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(pid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Polls every 20 ms until processState(pid) satisfies `want` (a state letter or predicate).
 * Signals such as SIGSTOP are delivered asynchronously, so the state lags process.kill().
 */
export async function waitForState(
  pid: number,
  want: string | ((state: string | undefined) => boolean),
  timeoutMs: number,
): Promise<boolean> {
  const matches = typeof want === 'string' ? (s: string | undefined) => s === want : want;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (matches(processState(pid))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Polls every 20 ms until descendantPids(rootPid) is empty; returns what is left (empty on success). */
export async function waitForNoDescendants(timeoutMs: number, rootPid: number = process.pid, except: ReadonlySet<number> = new Set()): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = descendantPids(rootPid).filter((pid) => !except.has(pid));
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Human-readable description of pids for assertion messages. */
export function describePids(pids: readonly number[]): string {
  return pids
    .map((pid) => {
      const stat = readProcStat(pid);
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        // vanished
      }
      return stat ? `${pid} [${stat.state}] ppid=${stat.ppid} pgrp=${stat.pgrp} ${cmd || stat.comm}` : `${pid} (gone)`;
    })
    .join('\n');
}
