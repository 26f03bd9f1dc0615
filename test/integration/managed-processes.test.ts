import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { parseConfig } from '../../src/config/load.js';
import { createMetrics } from '../../src/observe/metrics.js';
import { connectionStateOf } from '../../src/machines/connection.machine.js';
import type { ConnectionState } from '../../src/core/states.js';
import { Supervisor } from '../../src/fleet/supervisor.js';
import type { FleetEvent } from '../../src/fleet/events.js';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { describePids, isAlive, processGroupMembers, waitForExit, waitForNoDescendants, waitForState as waitForProcessState } from '../support/processes.js';
import { freePort } from '../support/ports.js';

const HEALTH = {
  healthyIntervalMs: 300,
  stableIntervalMs: 600,
  degradedIntervalMs: 200,
  pingTimeoutMs: 500,
  initialBackoffMs: 20,
  maxBackoffMs: 200,
  connectTimeoutMs: 10_000,
};

const running: Supervisor[] = [];

function supervise(mcpServers: Record<string, unknown>): { supervisor: Supervisor; events: FleetEvent[] } {
  const supervisor = new Supervisor(parseConfig({ supervisor: { health: HEALTH }, mcpServers }));
  const events: FleetEvent[] = [];
  supervisor.subscribe((event) => void events.push(event));
  running.push(supervisor);
  return { supervisor, events };
}

async function reach(supervisor: Supervisor, id: string, state: ConnectionState, timeoutMs = 15_000): Promise<void> {
  await waitFor(supervisor.connection(id), (snapshot) => connectionStateOf(snapshot) === state, { timeout: timeoutMs });
}

function pidOf(supervisor: Supervisor, id: string): number {
  const pid = supervisor.view(id).process?.pid;
  if (pid === null || pid === undefined) throw new Error(`no process for ${id}`);
  return pid;
}


async function launchedHttp(kind: 'streamable-http' | 'sse'): Promise<Record<string, unknown>> {
  const port = await freePort();
  return {
    type: kind,
    command: process.execPath,
    args: [fixtureServerPath, 'http', '--port', String(port)],
    url: `http://127.0.0.1:${port}/${kind === 'sse' ? 'sse' : 'mcp'}`,
  };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((supervisor) => supervisor.stop()));
});

afterAll(async () => {
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

describe('launched HTTP servers (command + url)', () => {
  it.each(['streamable-http', 'sse'] as const)('starts the process, waits for the URL, connects over %s, and shows its facts and stdout', async (kind) => {
    const { supervisor } = supervise({ web: await launchedHttp(kind) });
    await reach(supervisor, 'web', 'healthy');
    const view = supervisor.view('web');
    expect(view.transport).toBe(kind);
    expect(view.process).toMatchObject({ pid: expect.any(Number), restarts: 0, lastExit: null, startedAt: expect.any(Number) });
    expect(isAlive(view.process?.pid ?? -1)).toBe(true);
    const result = await supervisor.callTool('web', 'echo', { message: 'launched' });
    expect(result.content).toEqual([{ type: 'text', text: 'launched' }]);
    // Its stdout (the fixture prints one JSON line when listening) is kept with the time and stream.
    expect(supervisor.logs('web')).toContainEqual(expect.objectContaining({ stream: 'stdout', text: expect.stringMatching(/"listening"/), at: expect.any(Number) }));
  });

  it('a dead server process is started again, not just the client', async () => {
    const { supervisor } = supervise({ web: await launchedHttp('streamable-http') });
    await reach(supervisor, 'web', 'healthy');
    const first = pidOf(supervisor, 'web');
    process.kill(first, 'SIGKILL');
    await reach(supervisor, 'web', 'reconnecting', 5_000);
    await reach(supervisor, 'web', 'healthy');
    const view = supervisor.view('web');
    expect(view.process?.pid).not.toBe(first);
    expect(view.process).toMatchObject({ restarts: 1, lastExit: { code: null, signal: 'SIGKILL' } });
    expect(isAlive(first)).toBe(false);
  });

  it('a zombie server process (SIGSTOP) is killed and started again', async () => {
    const { supervisor } = supervise({ web: await launchedHttp('streamable-http') });
    await reach(supervisor, 'web', 'healthy');
    const frozen = pidOf(supervisor, 'web');
    process.kill(frozen, 'SIGSTOP');
    await waitForProcessState(frozen, 'T', 2_000);
    await reach(supervisor, 'web', 'zombie');
    await reach(supervisor, 'web', 'healthy');
    expect(await waitForExit(frozen, 5_000)).toBe(true);
    expect(supervisor.view('web').process?.pid).not.toBe(frozen);
  });

  it('a launched process that never listens fails the attempt within connectTimeoutMs', async () => {
    const port = await freePort();
    const { supervisor } = supervise({
      mute: { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], url: `http://127.0.0.1:${port}/mcp`, health: { connectTimeoutMs: 500, maxAttempts: 1 } },
    });
    await reach(supervisor, 'mute', 'failed', 10_000);
    expect(supervisor.view('mute').lastError?.kind).toBe('exhausted');
    // The attempt's process is torn down as the attempt is abandoned.
    const started = supervisor.view('mute').process;
    expect(started?.restarts).toBe(0);
    if (started?.pid) expect(await waitForExit(started.pid, 5_000)).toBe(true);
    await waitFor(supervisor.actor, () => supervisor.view('mute').process?.pid === null, { timeout: 5_000 }).catch(() => undefined);
    expect(supervisor.view('mute').process).toMatchObject({ pid: null, lastExit: expect.objectContaining({ at: expect.any(Number) }) });
  });
});

describe('process facts', () => {
  it('samples CPU and resident memory of each server process group, and exports them as metrics', async () => {
    const { supervisor } = supervise({ one: { command: process.execPath, args: [fixtureServerPath, 'stdio'] } });
    await reach(supervisor, 'one', 'healthy');
    supervisor.sampleProcesses();
    const facts = supervisor.view('one').process;
    expect(facts).toMatchObject({ cpuRatio: expect.any(Number), rssBytes: expect.any(Number), uptimeMs: expect.any(Number) });
    expect(facts?.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(facts?.cpuRatio).toBeGreaterThanOrEqual(0);

    const metrics = createMetrics(supervisor, { defaultMetrics: false });
    try {
      const text = await metrics.render();
      expect(text).toMatch(/^mcp_process_resident_bytes\{server="one"\} \d+/m);
      expect(text).toMatch(/^mcp_process_cpu_ratio\{server="one"\} [\d.e-]+/m);
      expect(text).toMatch(/^mcp_process_restarts_total\{server="one"\} 0$/m);
    } finally {
      metrics.close();
    }
  });
});

describe('process trees', () => {
  it('a shell wrapper and the grandchild it forks are gone after restart, stop and shutdown', async () => {
    // `; exit` keeps sh from exec-ing node, so node is a grandchild of ours, as behind npx.
    const wrapper = { command: 'sh', args: ['-c', `"${process.execPath}" "${fixtureServerPath}" stdio; exit $?`], env: { FIXTURE_FORK_GRANDCHILD: '1' } };
    const { supervisor } = supervise({ wrapped: wrapper });
    await reach(supervisor, 'wrapped', 'healthy');
    const groupOf = (): number[] => processGroupMembers(pidOf(supervisor, 'wrapped'));
    const firstGroup = groupOf();
    expect(firstGroup.length).toBeGreaterThanOrEqual(3); // sh, node, the grandchild

    supervisor.restart('wrapped');
    await reach(supervisor, 'wrapped', 'reconnecting', 5_000);
    await reach(supervisor, 'wrapped', 'healthy');
    for (const pid of firstGroup) expect(await waitForExit(pid, 5_000), `pid ${pid} after restart`).toBe(true);

    const secondGroup = groupOf();
    supervisor.command('wrapped', 'stop');
    await reach(supervisor, 'wrapped', 'stopped');
    await waitFor(supervisor.connection('wrapped'), (snapshot) => snapshot.context.session === undefined, { timeout: 10_000 });
    for (const pid of secondGroup) expect(await waitForExit(pid, 5_000), `pid ${pid} after stop`).toBe(true);

    supervisor.command('wrapped', 'start');
    await reach(supervisor, 'wrapped', 'healthy');
    const thirdGroup = groupOf();
    await supervisor.stop();
    for (const pid of thirdGroup) expect(await waitForExit(pid, 5_000), `pid ${pid} after shutdown`).toBe(true);
  });
});

describe('restart policy', () => {
  it('"restart": "never" leaves the connection failed with the exit status', async () => {
    const { supervisor } = supervise({ once: { command: process.execPath, args: [fixtureServerPath, 'stdio'], restart: 'never' } });
    await reach(supervisor, 'once', 'healthy');
    await supervisor.callTool('once', 'exit', { code: 3 }).catch(() => undefined);
    await reach(supervisor, 'once', 'failed', 5_000);
    expect(supervisor.view('once').lastError).toMatchObject({ kind: 'permanent', message: expect.stringMatching(/exit code 3.*restart is "never"/) });
    expect(supervisor.view('once').process).toMatchObject({ pid: null, restarts: 0, lastExit: { code: 3, signal: null } });
  });

  it('a process that keeps dying within minUptimeMs is quarantined as flapping', async () => {
    const { supervisor, events } = supervise({ crashy: { command: process.execPath, args: ['-e', 'process.exit(1)'], minUptimeMs: 5_000 } });
    await waitFor(supervisor.actor, () => events.some((event) => event.type === 'quarantine.started'), { timeout: 20_000 }).catch(() => undefined);
    const quarantine = events.find((event) => event.type === 'quarantine.started');
    expect(quarantine).toMatchObject({ id: 'crashy', times: 1 });
    expect(supervisor.view('crashy').quarantinedUntil).toEqual(expect.any(Number));
    expect(supervisor.view('crashy').state).toBe('reconnecting');
    expect(supervisor.view('crashy').lastError?.message).toMatch(/exited after \d+ ms/);
  });
});
