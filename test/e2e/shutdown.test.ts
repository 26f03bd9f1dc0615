// Clean stop, always: whatever state the servers are in when the CLI is told to stop (a handshake
// that never answers, a process that ignores SIGTERM, a frozen server mid-teardown), no process
// it started is left behind once it has exited.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { FAST_HEALTH, killAllClis, startCli, waitUntil } from '../support/cli.js';
import { descendantPids, describePids, isAlive, waitForExit, waitForState } from '../support/processes.js';

/** The supervisor's own teardown (stdin, 500 ms, SIGTERM, 2 s, SIGKILL) plus scheduling. */
const TEARDOWN_GRACE_MS = 4_000;
const SHUTDOWN_BUDGET_MS = 10_000;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-shutdown-'));
});
afterAll(async () => {
  killAllClis();
  await rm(dir, { recursive: true, force: true });
});

interface View {
  id: string;
  state: string;
  process?: { pid: number | null };
}

async function actors(url: string): Promise<View[]> {
  const response = await fetch(`${url}/actors`, { signal: AbortSignal.timeout(5_000) });
  return ((await response.json()) as { actors: View[] }).actors;
}

describe.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('mcp-supervisor stopped by %s', (signal) => {
  it('leaves no process behind: servers connecting, ignoring SIGTERM, or frozen mid-teardown', async () => {
    const configPath = join(dir, `${signal}.json`);
    await writeFile(
      configPath,
      JSON.stringify({
        supervisor: { health: { ...FAST_HEALTH, connectTimeoutMs: 60_000 } },
        mcpServers: {
          // Never answers the handshake: stays `connecting` until the stop.
          hang: { command: 'sleep', args: ['999'] },
          // Never answers either, and ignores SIGTERM and a closed stdin: only SIGKILL ends it.
          stubborn: { command: process.execPath, args: ['-e', "process.on('SIGTERM', () => {}); process.stdin.resume(); setInterval(() => {}, 1000)"] },
          // Healthy, then frozen (SIGSTOP): probes miss, and the stop finds it degraded or in its zombie teardown.
          frozen: { command: process.execPath, args: [fixtureServerPath, 'stdio'] },
        },
      }),
    );
    const cli = await startCli(['-c', configPath, '-p', '0']);
    const views = await waitUntil(
      async () => {
        const list = await actors(cli.url);
        const byId = Object.fromEntries(list.map((view) => [view.id, view]));
        const started = byId.hang?.process?.pid && byId.stubborn?.process?.pid && byId.frozen?.state === 'healthy';
        return started ? byId : undefined;
      },
      15_000,
      () => `servers never started; stderr:\n${cli.stderr()}`,
    );
    const frozenPid = views.frozen?.process?.pid;
    expect(frozenPid).toBeTypeOf('number');
    process.kill(frozenPid as number, 'SIGSTOP');
    expect(await waitForState(frozenPid as number, 'T', 2_000)).toBe(true);
    await waitUntil(
      async () => ((await actors(cli.url)).find((view) => view.id === 'frozen')?.state === 'healthy' ? undefined : true),
      5_000,
      () => 'the frozen server never left healthy',
    );
    // Everything the CLI started: the servers, any process they started, the watchdog helper.
    const started = descendantPids(cli.child.pid);
    expect(started.length, describePids(started)).toBeGreaterThanOrEqual(4);
    const sent = Date.now();
    cli.child.kill(signal);
    const exit = await cli.exited;
    expect(exit, cli.stderr()).toEqual({ code: 0, signal: null });
    expect(Date.now() - sent).toBeLessThan(SHUTDOWN_BUDGET_MS);
    for (const pid of started) expect(await waitForExit(pid, TEARDOWN_GRACE_MS), `still running:\n${describePids([pid])}`).toBe(true);
    expect(started.filter(isAlive)).toEqual([]);
    expect(cli.stdout()).not.toMatch(/forced exit/);
  });
});
