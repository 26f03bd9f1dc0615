// Views are kept per connection snapshot (src/fleet/views.ts, ViewMemo): a fleet read again before
// a connection moves gets the same frozen view back, and anything that changes what a view says
// (the connection's snapshot, its priority, quarantine or place in the slot queue, process facts)
// gives a new one.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { connectionStateOf } from '../../../src/machines/connection.machine.js';
import type { ServerDefinition } from '../../../src/config/load.js';
import { resolveSettings } from '../../../src/core/settings.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import { ViewMemo } from '../../../src/fleet/views.js';
import type { ProcessView } from '../../../src/fleet/views.js';

const SETTINGS = resolveSettings({ healthyIntervalMs: 60_000, stableIntervalMs: 60_000 });

function server(id: string): ServerDefinition {
  return {
    id,
    target: { type: 'memory', createServer: () => new McpServer({ name: id, version: '1.0.0' }) },
    priority: 0,
    dependsOn: [],
    required: true,
    disabled: false,
    settings: SETTINGS,
  };
}

let supervisor: Supervisor | undefined;
afterEach(async () => {
  await supervisor?.stop();
  supervisor = undefined;
});

async function fleetOf(...ids: string[]): Promise<Supervisor> {
  supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: ids.map(server) });
  const fleet = supervisor;
  await Promise.all(ids.map((id) => fleet.ready(id, 5_000)));
  return fleet;
}

describe('views kept per snapshot', () => {
  it('hands back the same frozen views until a connection moves, then a new view of that one only', async () => {
    const fleet = await fleetOf('a', 'b');
    const [a, b] = fleet.views();
    expect(fleet.views()[0]).toBe(a);
    expect(fleet.view('b')).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a?.quality)).toBe(true);
    expect(Object.isFrozen(a?.quality.latencyMs)).toBe(true);

    await fleet.probe('a');
    const [probedA, sameB] = fleet.views();
    expect(probedA).not.toBe(a);
    expect(sameB).toBe(b);
    expect(probedA?.quality.latencyMs.p50).not.toBeNull();
    expect(a?.quality.latencyMs.p50).toBeNull();

    fleet.command('a', 'stop');
    await waitFor(fleet.connection('a'), (snapshot) => snapshot.status === 'done' || connectionStateOf(snapshot) === 'stopped', { timeout: 5_000 });
    expect(fleet.view('a').state).toBe('stopped');
  });

  it('builds a new view when the supervisor’s part changes: priority, quarantine, waiting for a slot', async () => {
    const fleet = await fleetOf('a');
    const snapshot = fleet.connection('a').getSnapshot();
    const context = fleet.snapshot.context;
    const memo = new ViewMemo();
    const now = Date.now();
    const first = memo.viewOf('a', snapshot, context, undefined, now);
    expect(memo.viewOf('a', snapshot, context, undefined, now)).toBe(first);

    const queued = memo.viewOf('a', snapshot, { ...context, queued: context.queued.add('a') }, undefined, now);
    expect(queued).not.toBe(first);
    expect(queued.waitingForSlot).toBe(true);

    const quarantined = memo.viewOf('a', snapshot, { ...context, quarantine: context.quarantine.set('a', { until: now + 1_000, times: 1 }) }, undefined, now);
    expect(quarantined.quarantinedUntil).toBe(now + 1_000);
    // The same quarantine once it has ended (read later) is no quarantine.
    expect(memo.viewOf('a', snapshot, { ...context, quarantine: context.quarantine.set('a', { until: now + 1_000, times: 1 }) }, undefined, now + 2_000).quarantinedUntil).toBeNull();

    const server = context.servers.a;
    if (!server) throw new Error('no server a');
    const raised = memo.viewOf('a', snapshot, { ...context, servers: { ...context.servers, a: { ...server, priority: 7 } } }, undefined, now);
    expect(raised.priority).toBe(7);

    // Process facts move with every sample: never kept, always the facts given.
    const facts = { pid: 1, startedAt: now, uptimeMs: 0, restarts: 0, lastExit: null, cpuRatio: null, rssBytes: null } as unknown as ProcessView;
    const withProcess = memo.viewOf('a', snapshot, context, facts, now);
    expect(withProcess.process).toBe(facts);
    expect(memo.viewOf('a', snapshot, context, facts, now)).not.toBe(withProcess);
    expect(Object.isFrozen(withProcess)).toBe(false);
  });
});
