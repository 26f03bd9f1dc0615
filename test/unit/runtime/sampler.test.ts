import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { clockTicks, pageBytes, parseProcStat, parseProcStatm, sampleProcess, summarize } from '../../../src/runtime/process/sampler.js';
import type { ProcStatFields, ProcessSample } from '../../../src/runtime/process/sampler.js';
import { waitForExit } from '../../support/processes.js';

// Real lines, fields 1..52: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
// cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss ...
const CAT = '16949 (cat) R 16945 16945 16370 0 -1 4194304 102 0 0 0 7 3 0 0 20 0 1 0 526634 3133440 380 18446744073709551615 94405349548032 94405349567913 140725656097888 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 94405349583920 94405349585536 94405915594752 140725656099359 140725656099379 140725656099379 140725656100843 0\n';
const WEIRD = '4242 (a) b (c)) d) S 1 4240 4240 0 -1 4194560 5000 0 0 0 1234 567 9 9 20 0 11 0 998877 1000000000 25600 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n';

describe('parseProcStat', () => {
  it('reads the fields it needs from a plain line', () => {
    expect(parseProcStat(CAT)).toEqual({
      pid: 16949,
      comm: 'cat',
      state: 'R',
      ppid: 16945,
      pgrp: 16945,
      session: 16370,
      utimeTicks: 7,
      stimeTicks: 3,
      startTicks: 526634,
      rssPages: 380,
    });
  });

  it('counts fields from the last ")" so a comm with spaces and parentheses does not shift them', () => {
    expect(parseProcStat(WEIRD)).toEqual({
      pid: 4242,
      comm: 'a) b (c)) d',
      state: 'S',
      ppid: 1,
      pgrp: 4240,
      session: 4240,
      utimeTicks: 1234,
      stimeTicks: 567,
      startTicks: 998877,
      rssPages: 25600,
    });
  });

  it('refuses what is not a stat line', () => {
    expect(parseProcStat('')).toBeUndefined();
    expect(parseProcStat('no parentheses at all')).toBeUndefined();
    expect(parseProcStat('12 (short) S 1 2 3')).toBeUndefined();
    expect(parseProcStat('x (comm) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 1 1')).toBeUndefined();
  });
});

describe('parseProcStatm', () => {
  it('reads size and resident pages', () => {
    expect(parseProcStatm('275432 12870 5120 1 0 30000 0\n')).toEqual({ sizePages: 275432, residentPages: 12870 });
    expect(parseProcStatm('')).toBeUndefined();
  });
});

describe('summarize', () => {
  const leader = parseProcStat(CAT)!;
  const options = { clockTicks: 100, pageSize: 4096, cores: 4 };
  const stat = (changes: Partial<ProcStatFields>): ProcStatFields => ({ ...leader, ...changes });

  it('is CPU seconds per wall second since the previous sample of the same process', () => {
    const first = summarize(leader.pid, stat({ utimeTicks: 100, stimeTicks: 50 }), [stat({ utimeTicks: 100, stimeTicks: 50 })], undefined, 10_000, {
      ...options,
      uptimeSeconds: 5266.34 + 10,
    });
    expect(first).toMatchObject({ pid: leader.pid, cpuSeconds: 1.5, rssBytes: 380 * 4096, at: 10_000, processes: 1 });
    expect(first.cpuRatio).toBeCloseTo(0.15); // 1.5 s in its 10 s of life
    const second = summarize(leader.pid, stat({ utimeTicks: 150, stimeTicks: 75 }), [stat({ utimeTicks: 150, stimeTicks: 75 })], first, 12_000, options);
    expect(second.cpuRatio).toBeCloseTo(0.375); // 0.75 s over 2 s
  });

  it('sums a group, never goes below 0 when a member leaves, and never above the cores', () => {
    const a = stat({ utimeTicks: 400, stimeTicks: 0, rssPages: 1000 });
    const b = stat({ pid: 2, utimeTicks: 600, stimeTicks: 0, rssPages: 3000 });
    const both = summarize(leader.pid, a, [a, b], undefined, 1_000, { ...options, uptimeSeconds: 5266.34 + 100 });
    expect(both).toMatchObject({ cpuSeconds: 10, rssBytes: 4000 * 4096, processes: 2 });
    const afterLeaving = summarize(leader.pid, stat({ utimeTicks: 410 }), [stat({ utimeTicks: 410 })], both, 2_000, options);
    expect(afterLeaving.cpuRatio).toBe(0);
    const runaway = summarize(leader.pid, stat({ utimeTicks: 100_000 }), [stat({ utimeTicks: 100_000 })], afterLeaving, 3_000, options);
    expect(runaway.cpuRatio).toBe(4);
  });

  it('does not take a reused pid for the same process', () => {
    const previous: ProcessSample = { pid: leader.pid, cpuRatio: 0, rssBytes: 0, at: 0, cpuSeconds: 1_000, startTicks: 1, processes: 1 };
    const sample = summarize(leader.pid, leader, [leader], previous, 1_000, { ...options, uptimeSeconds: 5266.34 + 1 });
    expect(sample.cpuRatio).toBeCloseTo(0.1); // 0.1 s in its 1 s of life, not a delta against another process
  });
});

const children = new Set<ChildProcess>();
afterEach(async () => {
  for (const child of children) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
    await waitForExit(child.pid!, 2_000);
  }
  children.clear();
});

/** Starts `node -e code` in its own group and resolves once it printed its first line. */
async function node(code: string): Promise<{ child: ChildProcess; firstLine: string }> {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.add(child);
  const firstLine = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('\n')) resolve(output.split('\n')[0]!);
    });
    child.once('exit', () => reject(new Error('exited before printing')));
  });
  return { child, firstLine };
}

const SPIN = "console.log('spinning'); const end = Date.now() + 10000; while (Date.now() < end) {}";
/** The interval a CPU ratio is measured over: the thing measured, not a wait for something. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(process.platform === 'linux')('sampleProcess on this machine', () => {
  it('knows the clock ticks and page size', () => {
    expect(clockTicks()).toBeGreaterThan(0);
    expect(pageBytes() % 4096).toBe(0);
  });

  it('measures a spinning process at well above 0.3 CPU', async () => {
    const { child } = await node(SPIN);
    const first = sampleProcess(child.pid!, undefined, Date.now());
    expect(first).toBeDefined();
    await sleep(300);
    const second = sampleProcess(child.pid!, first, Date.now())!;
    expect(second.cpuRatio).toBeGreaterThan(0.3);
    expect(second.cpuSeconds).toBeGreaterThan(first!.cpuSeconds);
    expect(second.rssBytes).toBeGreaterThan(1_000_000);
  });

  it('measures this process at more than 10 MB resident', () => {
    const sample = sampleProcess(process.pid)!;
    expect(sample.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(sample.cpuRatio).toBeGreaterThan(0); // the average since it started, without a previous sample
    expect(sample.processes).toBe(1);
  });

  it('sums the whole group: an idle wrapper whose child spins is busy as a group', async () => {
    const wrapper = `const { spawn } = require('node:child_process');
      const child = spawn(process.execPath, ['-e', ${JSON.stringify(SPIN)}], { stdio: ['ignore', 'pipe', 'inherit'] });
      child.stdout.once('data', () => console.log(child.pid));
      setInterval(() => {}, 1000);`;
    const { child, firstLine } = await node(wrapper);
    const spinner = Number(firstLine);
    const pgid = child.pid!;
    const first = sampleProcess(pgid, undefined, Date.now(), { group: true })!;
    const alone = sampleProcess(pgid, undefined, Date.now());
    await sleep(300);
    const group = sampleProcess(pgid, first, Date.now(), { group: true })!;
    const leaderOnly = sampleProcess(pgid, alone, Date.now())!;
    expect(group.processes).toBe(2);
    expect(group.cpuRatio).toBeGreaterThan(0.3);
    expect(leaderOnly.cpuRatio).toBeLessThan(0.2);
    expect(group.rssBytes).toBeGreaterThan(leaderOnly.rssBytes);
    expect(sampleProcess(spinner)?.pid).toBe(spinner);
  });

  it('is undefined for a process that is gone', async () => {
    const { child } = await node("console.log('bye')");
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
    expect(sampleProcess(child.pid!)).toBeUndefined();
  });
});
