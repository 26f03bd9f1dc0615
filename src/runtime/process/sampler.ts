import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * CPU and memory of server processes, from Linux's /proc (elsewhere every sample is undefined).
 * Parsing is pure and separate from reading, so it is tested on fixed strings.
 */

/** The fields of /proc/<pid>/stat this module uses. Times are in clock ticks, sizes in pages. */
export interface ProcStatFields {
  pid: number;
  /** The executable name (at most 15 chars); may itself contain spaces and parentheses. */
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** User and system CPU time of the process itself (its reaped children not included). */
  utimeTicks: number;
  stimeTicks: number;
  /** Start time since boot: with the pid, identifies a process across samples (pids get reused). */
  startTicks: number;
  rssPages: number;
}

/**
 * Parses one /proc/<pid>/stat line; undefined if it is not one. The second field is `(comm)` and
 * comm may contain anything, ' ' and ')' included, so the fields are counted from the last ')'.
 */
export function parseProcStat(raw: string): ProcStatFields | undefined {
  const open = raw.indexOf('(');
  const close = raw.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(raw.slice(0, open).trim());
  // After ") ": field 3 (state) is index 0, so field n is index n - 3.
  const fields = raw.slice(close + 2).trim().split(/\s+/);
  const field = (n: number): number => Number(fields[n - 3]);
  const state = fields[0];
  if (!Number.isInteger(pid) || pid <= 0 || state === undefined || fields.length < 22) return undefined;
  const parsed: ProcStatFields = {
    pid,
    comm: raw.slice(open + 1, close),
    state,
    ppid: field(4),
    pgrp: field(5),
    session: field(6),
    utimeTicks: field(14),
    stimeTicks: field(15),
    startTicks: field(22),
    rssPages: field(24),
  };
  const numbers = [parsed.ppid, parsed.pgrp, parsed.session, parsed.utimeTicks, parsed.stimeTicks, parsed.startTicks, parsed.rssPages];
  return numbers.every(Number.isFinite) ? parsed : undefined;
}

/** Parses /proc/<pid>/statm (sizes in pages): `size resident shared text lib data dt`. */
export function parseProcStatm(raw: string): { sizePages: number; residentPages: number } | undefined {
  const [size, resident] = raw.trim().split(/\s+/).map(Number);
  if (size === undefined || resident === undefined || !Number.isFinite(size) || !Number.isFinite(resident)) return undefined;
  return { sizePages: size, residentPages: resident };
}

export interface ProcessSample {
  /** The pid sampled (with `group`: the group id, i.e. the leader's pid). */
  pid: number;
  /**
   * CPU seconds per wall-clock second since `previous` (0 to the number of cores); without a
   * previous sample of the same process, the average since it started.
   */
  cpuRatio: number;
  rssBytes: number;
  /** When sampled (ms since the epoch). */
  at: number;
  /** CPU seconds used so far (by the group's current members, with `group`): the next delta's base. */
  cpuSeconds: number;
  /** The leader's start time in clock ticks since boot: tells a reused pid from the same process. */
  startTicks: number;
  /** How many processes were summed (1 without `group`). */
  processes: number;
}

export interface SampleOptions {
  /**
   * Sum over every process whose process group is `pid` (the real server may be a grandchild of
   * an `npx` or shell wrapper leading the group). Costs a scan of /proc.
   */
  group?: boolean;
  /** Default: `getconf CLK_TCK`, read once, else 100. */
  clockTicks?: number;
  /** Default: `getconf PAGESIZE`, read once, else 4096. */
  pageSize?: number;
}

/**
 * One sample of `pid` (or of its whole process group), or undefined when it is gone (or this is
 * not Linux). Pass the previous sample of the same pid to get the CPU ratio over the interval.
 */
export function sampleProcess(pid: number, previous?: ProcessSample, now = Date.now(), options: SampleOptions = {}): ProcessSample | undefined {
  const leader = readStat(pid);
  if (!leader || leader.state === 'Z' || leader.state === 'X') return undefined;
  const members = options.group ? groupMembers(pid, leader) : [leader];
  return summarize(pid, leader, members, previous, now, options);
}

/**
 * The arithmetic of `sampleProcess`, on stats already read: `leader` is the process `pid`,
 * `members` those summed (the leader among them). Pure; exported for tests.
 */
export function summarize(
  pid: number,
  leader: ProcStatFields,
  members: readonly ProcStatFields[],
  previous: ProcessSample | undefined,
  now: number,
  options: Pick<SampleOptions, 'clockTicks' | 'pageSize'> & { uptimeSeconds?: number; cores?: number } = {},
): ProcessSample {
  const ticks = options.clockTicks ?? clockTicks();
  const pageSize = options.pageSize ?? pageBytes();
  const cores = options.cores ?? availableParallelism();
  let cpuTicks = 0;
  let rssPages = 0;
  for (const member of members) {
    cpuTicks += member.utimeTicks + member.stimeTicks;
    rssPages += member.rssPages;
  }
  const cpuSeconds = cpuTicks / ticks;
  let cpuRatio = 0;
  if (previous && previous.pid === pid && previous.startTicks === leader.startTicks && now > previous.at) {
    // A group member that ended takes its CPU time with it: the sum can shrink, never below 0.
    cpuRatio = Math.max(0, cpuSeconds - previous.cpuSeconds) / ((now - previous.at) / 1_000);
  } else {
    const uptime = options.uptimeSeconds ?? readUptime();
    const lifetime = uptime === undefined ? 0 : uptime - leader.startTicks / ticks;
    if (lifetime > 0) cpuRatio = cpuSeconds / lifetime;
  }
  return {
    pid,
    cpuRatio: Math.min(cores, cpuRatio),
    rssBytes: rssPages * pageSize,
    at: now,
    cpuSeconds,
    startTicks: leader.startTicks,
    processes: members.length,
  };
}

/** The live (non-zombie) processes of group `pgid`, from a scan of /proc. */
function groupMembers(pgid: number, leader?: ProcStatFields): ProcStatFields[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return leader ? [leader] : [];
  }
  const members: ProcStatFields[] = [];
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const pid = Number(entry);
    const stat = pid === leader?.pid ? leader : readStat(pid);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') members.push(stat);
  }
  return members;
}

/** /proc/<pid>/stat parsed; undefined when there is no such process (or no /proc). */
function readStat(pid: number): ProcStatFields | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function readUptime(): number | undefined {
  try {
    const seconds = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Number.isFinite(seconds) ? seconds : undefined;
  } catch {
    return undefined;
  }
}

let clockTicksValue: number | undefined;
let pageSizeValue: number | undefined;

/** Clock ticks per second (USER_HZ): asked of `getconf` once; 100 if that fails. */
export function clockTicks(): number {
  clockTicksValue ??= getconf('CLK_TCK') ?? 100;
  return clockTicksValue;
}

/** Bytes per page (4 KiB on x86-64, often 16 or 64 KiB on arm64): asked of `getconf` once; 4096 if that fails. */
export function pageBytes(): number {
  pageSizeValue ??= getconf('PAGESIZE') ?? 4_096;
  return pageSizeValue;
}

function getconf(name: string): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
