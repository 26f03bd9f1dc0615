// The watchdog ends every server process group when the supervisor is SIGKILLed, and nothing
// when it is closed. The "supervisor" is test/fixtures/hard-death.ts in its own process.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startWatchdog } from '../../src/runtime/process/watchdog.js';
import type { Watchdog } from '../../src/runtime/process/watchdog.js';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { describePids, isAlive, readProcStat, waitForExit, waitForNoDescendants } from '../support/processes.js';
import { waitUntil } from '../support/wait.js';

const script = fileURLToPath(new URL('../fixtures/hard-death.ts', import.meta.url));

interface Pids {
  watchdog: number;
  server?: number;
  grandchild?: number;
  stubborn?: number;
  forgotten?: number;
}

/** Groups to SIGKILL after each test, whatever happened: nothing may outlive the test file. */
const groups = new Set<number>();
const children = new Set<ChildProcess>();
const watchdogs = new Set<Watchdog>();

afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  await Promise.all([...watchdogs].map((watchdog) => watchdog.close()));
  watchdogs.clear();
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  groups.clear();
});

afterAll(async () => {
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

/** Runs hard-death.ts and resolves with the pids it prints, once it printed them. */
async function supervisorStandIn(mode: 'watch' | 'close' | 'idle'): Promise<{ child: ChildProcess; pids: Pids; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, fixtureServerPath, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  // The one line of pids, once it is complete.
  const pidsLine = (): Pids | undefined => {
    const line = stdout.split('\n').find((candidate, index, lines) => candidate.startsWith('{') && index < lines.length - 1);
    return line === undefined ? undefined : (JSON.parse(line) as Pids);
  };
  const pids = await waitUntil(pidsLine, 20_000, () => `no pids printed; stderr: ${stderr}`, exitOf(child));
  for (const pid of [pids.watchdog, pids.server, pids.stubborn, pids.forgotten]) if (pid !== undefined) groups.add(pid);
  return { child, pids, stderr: () => stderr };
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Only for measuring that nothing happens for a while, never to wait for something. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('watchdog', () => {
  it('ends every watched group, grandchildren and SIGTERM-ignorers included, when the supervisor is SIGKILLed', async () => {
    const { child, pids } = await supervisorStandIn('watch');
    const { watchdog, server, grandchild, stubborn, forgotten } = pids as Required<Pids>;
    for (const pid of [watchdog, server, grandchild, stubborn, forgotten]) expect(isAlive(pid), describePids([pid])).toBe(true);
    // The watchdog leads its own session, outside the supervisor's group: Ctrl-C cannot reach it.
    expect(readProcStat(watchdog)).toMatchObject({ pgrp: watchdog, session: watchdog });
    expect(readProcStat(grandchild)?.pgrp).toBe(server);

    const killedAt = Date.now();
    child.kill('SIGKILL');
    await exitOf(child);

    // SIGTERM goes out at once (the pipe closes with the process); the grandchild (default
    // SIGTERM action) goes right away, the stubborn one at the 2 s SIGKILL.
    expect(await waitForExit(grandchild, 1_500), describePids([grandchild])).toBe(true);
    const grandchildGoneMs = Date.now() - killedAt;
    expect(await waitForExit(server, 1_500), describePids([server])).toBe(true);
    expect(await waitForExit(stubborn, 4_000), describePids([stubborn])).toBe(true);
    const stubbornGoneMs = Date.now() - killedAt;
    expect(await waitForExit(watchdog, 2_000), describePids([watchdog])).toBe(true);
    const watchdogGoneMs = Date.now() - killedAt;
    expect(stubbornGoneMs).toBeGreaterThanOrEqual(1_900);

    // A group it was told to forget is left alone.
    expect(isAlive(forgotten), describePids([forgotten])).toBe(true);
    console.info(`after SIGKILL: grandchild gone in ${grandchildGoneMs} ms, stubborn in ${stubbornGoneMs} ms, watchdog in ${watchdogGoneMs} ms`);
  });

  it('kills nothing once closed, and is gone itself', async () => {
    const { child, pids } = await supervisorStandIn('close');
    const { watchdog, grandchild, stubborn } = pids as Required<Pids>;
    expect(await waitForExit(watchdog, 2_000), describePids([watchdog])).toBe(true);

    child.kill('SIGKILL');
    await exitOf(child);
    // What is measured: nothing ends these groups for longer than the watchdog's grace period and
    // parent poll together would take (there is no event for "nothing happened" to wait on).
    await sleep(3_000);
    expect(isAlive(grandchild), 'the grandchild of a closed watchdog').toBe(true);
    expect(isAlive(stubborn), 'the SIGTERM-ignoring server of a closed watchdog').toBe(true);
  });

  it('does not keep the process alive: one that merely started a watchdog exits by itself, and then so does the watchdog', async () => {
    const { child, pids } = await supervisorStandIn('idle');
    const exit = await waitUntil(
      () => (child.exitCode !== null || child.signalCode !== null ? { code: child.exitCode, signal: child.signalCode } : undefined),
      10_000,
      () => 'the process that only started a watchdog did not exit by itself',
    );
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await waitForExit(pids.watchdog, 2_000), describePids([pids.watchdog])).toBe(true);
  });

  it('in process: close() leaves a watched group running and the helper gone; watch after close is a no-op', async () => {
    const watchdog = await startWatchdog();
    watchdogs.add(watchdog);
    const group = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
    const pgid = group.pid!;
    groups.add(pgid);
    watchdog.watch(pgid);
    expect([...watchdog.watched]).toEqual([pgid]);

    await watchdog.close();
    expect(watchdog.alive).toBe(false);
    expect(await watchdog.exited).toEqual({ code: 0, signal: null });
    expect(isAlive(watchdog.pid)).toBe(false);
    watchdog.watch(pgid);
    expect(watchdog.watched.size).toBe(0);
    // What is measured: the group outlives the closed watchdog for a while (nothing to wait on).
    await sleep(300);
    expect(isAlive(pgid)).toBe(true);
    process.kill(-pgid, 'SIGKILL');
    expect(await waitForExit(pgid, 2_000)).toBe(true);
  });

  it('fails to start, without leaving anything, when the helper cannot run', async () => {
    await expect(startWatchdog({ helperPath: '/nonexistent/watchdog-process.mjs', readyTimeoutMs: 5_000 })).rejects.toThrow(/exited before it was ready/);
  });
});
