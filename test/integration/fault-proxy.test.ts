import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionSettings } from '../../src/core/settings.js';
import { startFaultProxy } from '../../src/testing/index.js';
import type { FaultProxy } from '../../src/testing/index.js';
import { disposeAll, waitForEntry, waitForState, watchConnection } from '../support/connections.js';
import type { Watched } from '../support/connections.js';
import { startHttpFixture } from '../../fixtures/http-fixture.js';
import type { HttpFixture } from '../../fixtures/http-fixture.js';
import { describePids, waitForNoDescendants } from '../support/processes.js';

// Real connection actors, real SDK HTTP transports, the real fixture server: only the network
// between them is faulty.

const kinds = [
  { kind: 'streamable-http', path: '/mcp' },
  { kind: 'sse', path: '/sse' },
] as const;

afterAll(async () => {
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

describe.each(kinds)('connection over $kind through the fault proxy', ({ kind, path }) => {
  let fixture: HttpFixture | undefined;
  let proxy: FaultProxy | undefined;

  beforeAll(async () => {
    fixture = await startHttpFixture();
  });

  afterAll(async () => {
    await fixture?.stop();
    fixture = undefined;
  });

  beforeEach(async () => {
    if (!fixture) throw new Error('fixture not running');
    proxy = await startFaultProxy({ upstream: { port: fixture.port } });
  });

  afterEach(async () => {
    await disposeAll();
    await proxy?.close();
    proxy = undefined;
  });

  const current = (): FaultProxy => {
    if (!proxy) throw new Error('proxy not running');
    return proxy;
  };

  function connect(id: string, settings: Partial<ConnectionSettings> = {}): Watched {
    return watchConnection({ id: `${id}-${kind}`, target: { type: kind, url: current().url(path) }, settings });
  }

  it('sends every request through the proxy, the POSTs of the relative SSE endpoint included', async () => {
    const { connection } = connect('through', { healthyIntervalMs: 60_000, stableIntervalMs: 60_000 });
    await waitForState(connection, 'healthy');
    expect(current().connections).toBeGreaterThan(0);
    // Delay only what goes client → server: for SSE the answer comes back on the GET stream,
    // so only a POST to /messages routed through the proxy can make the call slower.
    current().setToxics([{ type: 'latency', latencyMs: 250, direction: 'upstream' }]);
    const started = performance.now();
    const result = await connection.callTool('echo', { message: 'via proxy' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(result.content).toEqual([{ type: 'text', text: 'via proxy' }]);
  });

  it('blackhole: degraded, then zombie, then reconnecting; healthy again after clear()', async () => {
    const watched = connect('blackhole', { connectTimeoutMs: 1_500 });
    const { connection, states } = watched;
    await waitForState(connection, 'healthy');
    current().setToxics([{ type: 'blackhole' }]);
    await waitForState(connection, 'zombie');
    await waitForState(connection, 'reconnecting');
    // The sockets are still open: nothing but the probes' deadlines gave the zombie away.
    current().clear();
    await waitForEntry(watched, 'healthy', 1, 15_000);
    const afterHealthy = states.slice(states.indexOf('healthy') + 1);
    expect(afterHealthy.slice(0, 3)).toEqual(['degraded', 'zombie', 'reconnecting']);
    expect(states).not.toContain('failed');
    expect(states.at(-1)).toBe('healthy');
    const zombie = watched.changes.find((change) => change.to === 'zombie');
    expect(zombie).toBeDefined();
    const echoed = await connection.callTool('echo', { message: 'alive again' });
    expect(echoed.content).toEqual([{ type: 'text', text: 'alive again' }]);
  });

  it('latency above degradedLatencyMs: degraded, and healthy again after clear()', async () => {
    const watched = connect('latency', { pingTimeoutMs: 1_500, degradedLatencyMs: 150 });
    const { connection, states } = watched;
    await waitForState(connection, 'healthy');
    current().setToxics([{ type: 'latency', latencyMs: 300 }]);
    await waitForState(connection, 'degraded');
    current().clear();
    await waitForEntry(watched, 'healthy', 1);
    expect(states).toEqual(['connecting', 'healthy', 'degraded', 'healthy']);
    const slow = connection.snapshot.context.samples.toArray().filter((sample) => sample.ok && sample.latencyMs >= 300);
    expect(slow.length).toBeGreaterThan(0);
  });

  it('reset: reconnecting at once from the transport error, not a probe; healthy after clear()', async () => {
    // A minute between probes: only the RST itself can explain a quick transition.
    const watched = connect('reset', { healthyIntervalMs: 60_000, stableIntervalMs: 60_000 });
    const { connection, states } = watched;
    await waitForState(connection, 'healthy');
    expect(connection.snapshot.context.samples.toArray().filter((sample) => sample.source === 'probe')).toEqual([]);
    current().setToxics([{ type: 'reset' }]);
    await waitForState(connection, 'reconnecting', 3_000);
    expect(connection.snapshot.context.samples.toArray().filter((sample) => sample.source === 'probe')).toEqual([]);
    const lastError = connection.snapshot.context.lastError;
    expect(lastError?.kind).toBe('closed');
    // The broken stream alone is ambiguous to the session; its check-ping on a fresh connection is
    // reset on arrival too, and that says closed.
    expect(lastError?.message).toMatch(/ECONNRESET/);
    current().clear();
    await waitForEntry(watched, 'healthy', 1, 15_000);
    expect(states.slice(0, 3)).toEqual(['connecting', 'healthy', 'reconnecting']);
    expect(states).not.toContain('failed');
    expect(states).not.toContain('zombie');
  });
});
