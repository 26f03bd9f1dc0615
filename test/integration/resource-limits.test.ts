/**
 * Resource limits with real processes (issue 15, point 4): the allocating fixture server uses
 * memory or CPU on command, the sampler reads /proc every 200 ms, and a group over a limit for
 * `forSeconds` is restarted through the reconnect path; a steady leak is reported before the
 * limit is hit. Linux only (/proc).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { parseConfig } from '../../src/config/load.js';
import { ConnectionLostError } from '../../src/core/errors.js';
import { connectionStateOf } from '../../src/machines/connection.machine.js';
import type { ConnectionState } from '../../src/core/states.js';
import { Supervisor } from '../../src/fleet/supervisor.js';
import type { CreateSupervisorOptions } from '../../src/fleet/supervisor.js';
import type { FleetEvent } from '../../src/fleet/events.js';
import { createMetrics } from '../../src/observe/metrics.js';
import { createApp } from '../../src/http/app.js';
import { describePids, waitForExit, waitForNoDescendants } from '../support/processes.js';
import { until } from '../support/wait.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/allocating-server.mjs', import.meta.url));
const MiB = 1_048_576;
const HEALTH = { healthyIntervalMs: 500, stableIntervalMs: 1_000, degradedIntervalMs: 300, pingTimeoutMs: 2_000, initialBackoffMs: 20, maxBackoffMs: 200, connectTimeoutMs: 15_000 };

const running: Supervisor[] = [];

function supervise(mcpServers: Record<string, unknown>, options: CreateSupervisorOptions = {}): { supervisor: Supervisor; events: FleetEvent[] } {
  const supervisor = new Supervisor(parseConfig({ supervisor: { health: HEALTH }, mcpServers }, {}), { processSampleIntervalMs: 200, ...options });
  const events: FleetEvent[] = [];
  supervisor.subscribe((event) => void events.push(event));
  running.push(supervisor);
  return { supervisor, events };
}

function server(limits?: Record<string, number>): Record<string, unknown> {
  return { command: process.execPath, args: [FIXTURE], ...(limits ? { limits } : {}) };
}

async function reach(supervisor: Supervisor, id: string, state: ConnectionState, timeoutMs = 20_000): Promise<void> {
  await waitFor(supervisor.connection(id), (snapshot) => connectionStateOf(snapshot) === state, { timeout: timeoutMs });
}

function pidOf(supervisor: Supervisor, id: string): number {
  const pid = supervisor.view(id).process?.pid;
  if (pid === null || pid === undefined) throw new Error(`no process for ${id}`);
  return pid;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((supervisor) => supervisor.stop()));
});

afterAll(async () => {
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

describe.runIf(process.platform === 'linux')('resource limits', () => {
  it('a group over maxMemoryBytes for forSeconds is restarted through reconnecting, the reason recorded and counted', async () => {
    const { supervisor, events } = supervise({ hog: server({ maxMemoryBytes: 200 * MiB, forSeconds: 1 }) });
    await reach(supervisor, 'hog', 'healthy');
    const first = pidOf(supervisor, 'hog');
    expect(supervisor.view('hog').process).toMatchObject({ limits: { maxMemoryBytes: 200 * MiB, forSeconds: 1 }, resourceRestarts: { memory: 0, cpu: 0 } });

    // The server answers once all 300 MiB are filled; on a slow host the last 100 MiB can take
    // longer than the 1 s over the limit, and the restart then ends the call. Either way the call
    // settles: with its answer, or with the typed error of a call its connection lost.
    const allocating = supervisor.callTool('hog', 'allocate', { mebibytes: 300 }).then(
      () => 'answered' as const,
      (error: unknown) => error,
    );
    // Over the limit, and counting down, before the restart.
    await until(() => (supervisor.view('hog').process?.overLimit ?? []).some((over) => over.resource === 'memory'), 'the view shows the memory over its limit', 5_000);
    await until(() => events.some((event) => event.type === 'resource.exceeded'), 'a resource.exceeded event', 10_000);
    await until(() => supervisor.view('hog').process?.pid !== first, 'a new process', 10_000);
    await reach(supervisor, 'hog', 'healthy');

    const view = supervisor.view('hog');
    expect(view.process?.pid).not.toBe(first);
    expect(view.lastError).toMatchObject({ kind: 'resource', message: expect.stringMatching(/^memory \d+(\.\d+)? MiB over limit 200 MiB for 1 s$/) });
    expect(view.process).toMatchObject({ restarts: 1, resourceRestarts: { memory: 1, cpu: 0 } });
    expect(await waitForExit(first, 5_000)).toBe(true);
    const outcome = await allocating;
    if (outcome !== 'answered') expect(outcome).toBeInstanceOf(ConnectionLostError);

    // The event names the limit and the value, then the transition through reconnecting carries the reason.
    const exceeded = events.find((event) => event.type === 'resource.exceeded');
    expect(exceeded).toMatchObject({ id: 'hog', pid: first, resource: 'memory', limit: 200 * MiB, forSeconds: 1, measured: expect.any(Number) });
    expect(exceeded?.type === 'resource.exceeded' && exceeded.measured).toBeGreaterThan(200 * MiB);
    const after = events.slice(events.indexOf(exceeded!));
    // From either serving state: a probe that lands while the server allocates can be slow and degrade it first.
    expect(after.find((event) => event.type === 'state.changed')).toMatchObject({
      to: 'reconnecting',
      from: expect.stringMatching(/^(healthy|degraded)$/),
      reason: view.lastError?.message,
    });

    const metrics = createMetrics(supervisor, { defaultMetrics: false });
    try {
      const text = await metrics.render();
      expect(text).toMatch(/^mcp_resource_restarts_total\{server="hog",resource="memory"\} 1$/m);
      expect(text).toMatch(/^mcp_resource_restarts_total\{server="hog",resource="cpu"\} 0$/m);
      expect(text).toMatch(new RegExp(`^mcp_process_memory_limit_bytes\\{server="hog"\\} ${200 * MiB}$`, 'm'));
      expect(text).not.toMatch(/^mcp_process_cpu_limit_ratio\{/m);
    } finally {
      metrics.close();
    }
  });

  it('a steady leak is reported on the actor, with an event and metrics, before the limit is hit', async () => {
    const { supervisor, events } = supervise(
      { leaky: server({ maxMemoryBytes: 2_048 * MiB, forSeconds: 1 }), idle: server() },
      { memoryTrend: { windowSamples: 40, minSamples: 10 } },
    );
    await reach(supervisor, 'leaky', 'healthy');
    await reach(supervisor, 'idle', 'healthy');
    await supervisor.callTool('leaky', 'leak', { mebibytesPerSecond: 20 });

    await until(() => supervisor.view('leaky').process?.memoryTrend != null, 'a memory trend on the leaking server', 15_000);
    const facts = supervisor.view('leaky').process;
    expect(facts?.rssBytes).toBeLessThan(2_048 * MiB);
    expect(facts?.memoryTrend?.bytesPerSecond).toBeGreaterThan(5 * MiB);
    expect(facts?.memoryTrend?.bytesPerSecond).toBeLessThan(60 * MiB);
    expect(facts?.memoryTrend?.projectedLimitInSeconds).toBeGreaterThan(0);
    expect(facts?.memoryTrend?.r2).toBeGreaterThanOrEqual(0.8);
    expect(facts?.resourceRestarts).toEqual({ memory: 0, cpu: 0 });
    expect(supervisor.view('leaky').state).toBe('healthy');
    // The idle server, sampled as long, shows no trend (and has no limits to show).
    const idle = supervisor.view('idle').process;
    expect(idle?.memoryTrend).toBeNull();
    expect(idle?.memoryGrowthBytesPerSecond).toEqual(expect.any(Number));
    expect(idle).not.toHaveProperty('limits');
    await until(() => events.some((event) => event.type === 'leak.suspected'), 'a leak.suspected event', 2_000);
    expect(events.filter((event) => event.type === 'leak.suspected')).toEqual([
      expect.objectContaining({ id: 'leaky', pid: pidOf(supervisor, 'leaky'), bytesPerSecond: expect.any(Number) }),
    ]);

    // Over HTTP: on the actor, and in the list.
    const app = createApp({ supervisor });
    const detail = (await (await app.request('/actors/leaky')).json()) as { process?: { memoryTrend?: unknown; limits?: unknown } };
    expect(detail.process).toMatchObject({ memoryTrend: { bytesPerSecond: expect.any(Number), projectedLimitInSeconds: expect.any(Number) }, limits: { maxMemoryBytes: 2_048 * MiB, forSeconds: 1 } });
    const { actors } = (await (await app.request('/actors')).json()) as { actors: Array<{ id: string; process?: { memoryTrend?: unknown } }> };
    expect(actors.find((actor) => actor.id === 'leaky')?.process?.memoryTrend).toMatchObject({ bytesPerSecond: expect.any(Number) });
    expect(actors.find((actor) => actor.id === 'idle')?.process?.memoryTrend).toBeNull();

    const metrics = createMetrics(supervisor, { defaultMetrics: false });
    try {
      const text = await metrics.render();
      expect(text).toMatch(/^mcp_process_memory_leak_suspected\{server="leaky"\} 1$/m);
      expect(text).toMatch(/^mcp_process_memory_leak_suspected\{server="idle"\} 0$/m);
      const growth = /^mcp_process_memory_growth_bytes_per_second\{server="leaky"\} (\S+)$/m.exec(text);
      expect(Number(growth?.[1])).toBeGreaterThan(5 * MiB);
    } finally {
      metrics.close();
    }
    await supervisor.callTool('leaky', 'free');
  });

  it('a group over maxCpuRatio for forSeconds is restarted for CPU', async () => {
    const { supervisor, events } = supervise({ burner: server({ maxCpuRatio: 0.3, forSeconds: 1 }) });
    await reach(supervisor, 'burner', 'healthy');
    const first = pidOf(supervisor, 'burner');
    // A worker thread burns one core; the server itself keeps answering probes.
    await supervisor.callTool('burner', 'burn', { seconds: 30 });
    await until(() => events.some((event) => event.type === 'resource.exceeded'), 'a resource.exceeded event for CPU', 15_000);
    await until(() => supervisor.view('burner').process?.pid !== first, 'a new process', 10_000);
    await reach(supervisor, 'burner', 'healthy');
    const view = supervisor.view('burner');
    expect(view.lastError).toMatchObject({ kind: 'resource', message: expect.stringMatching(/^cpu \d+(\.\d+)? over limit 0\.3 for 1 s$/) });
    expect(view.process?.resourceRestarts).toEqual({ memory: 0, cpu: 1 });
    expect(events.find((event) => event.type === 'resource.exceeded')).toMatchObject({ resource: 'cpu', limit: 0.3, pid: first });
    // The burning worker went with its process.
    expect(await waitForExit(first, 5_000)).toBe(true);
  });
});
