import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerTarget } from '../../src/core/target.js';
import { ConnectionLostError } from '../../src/core/errors.js';
import type { ManagedConnection } from '../../src/fleet/connection.js';
import { disposeAll, waitForEntry, waitForState, watchConnection } from '../support/connections.js';
import type { Watched } from '../support/connections.js';
import { fixtureServerPath, startHttpFixture } from '../../fixtures/http-fixture.js';
import type { HttpFixture } from '../../fixtures/http-fixture.js';
import { descendantPids, describePids, isAlive, waitForExit, waitForNoDescendants, waitForState as waitForProcessState } from '../support/processes.js';
import { waitUntil } from '../support/wait.js';

/** One way of reaching the fixture server, with the faults that transport can suffer. */
interface Harness {
  readonly kind: 'stdio' | 'sse' | 'streamable-http';
  target(): ServerTarget;
  start(): Promise<void>;
  /** The server process dies (stdio) or the HTTP server stops listening. */
  kill(connection: ManagedConnection): Promise<void>;
  /** Brings a killed server back (stdio: the actor respawns it itself). */
  revive(): Promise<void>;
  /** The server stops answering but keeps its process and sockets. */
  freeze(connection: ManagedConnection): Promise<void>;
  thaw(): Promise<void>;
  setLatency(connection: ManagedConnection, ms: number): Promise<void>;
  /** Forgets every session, as a restarted HTTP server does. */
  dropSessions?(): Promise<void>;
  dispose(): Promise<void>;
}

function stdioHarness(): Harness {
  const pidOf = (connection: ManagedConnection): number => {
    const pid = connection.snapshot.context.session?.pid;
    if (pid === undefined) throw new Error('no stdio child running');
    return pid;
  };
  return {
    kind: 'stdio',
    target: () => ({ type: 'stdio', command: process.execPath, args: [fixtureServerPath, 'stdio'] }),
    start: async () => undefined,
    kill: async (connection) => {
      process.kill(pidOf(connection), 'SIGKILL');
    },
    revive: async () => undefined,
    freeze: async (connection) => {
      const pid = pidOf(connection);
      process.kill(pid, 'SIGSTOP');
      await waitForProcessState(pid, 'T', 2_000);
    },
    // The zombie teardown kills the stopped process; the next attempt spawns a fresh one.
    thaw: async () => undefined,
    setLatency: async (connection, ms) => {
      await connection.callTool('set_latency', { ms });
    },
    dispose: async () => undefined,
  };
}

function httpHarness(kind: 'sse' | 'streamable-http'): Harness {
  let fixture: HttpFixture | undefined;
  let port = 0;
  const current = (): HttpFixture => {
    if (!fixture) throw new Error('HTTP fixture not running');
    return fixture;
  };
  return {
    kind,
    target: () => ({ type: kind, url: kind === 'sse' ? current().sseUrl : current().mcpUrl }),
    start: async () => {
      fixture = await startHttpFixture({ port });
      port = fixture.port;
    },
    kill: async () => {
      await current().stop();
      fixture = undefined;
    },
    revive: async () => {
      fixture = await startHttpFixture({ port });
    },
    freeze: async () => {
      await current().control('freeze');
    },
    thaw: async () => {
      await current().control('thaw');
    },
    setLatency: async (_connection, ms) => {
      await current().control('latency', { ms });
    },
    dropSessions: async () => {
      await current().control('drop-sessions');
    },
    dispose: async () => {
      await fixture?.stop();
      fixture = undefined;
      port = 0;
    },
  };
}

const harnesses = [stdioHarness, () => httpHarness('sse'), () => httpHarness('streamable-http')];

afterAll(async () => {
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

describe.each(harnesses.map((make) => [make().kind, make] as const))('connection over %s', (kind, makeHarness) => {
  let harness: Harness;
  let watched: Watched;

  beforeEach(async () => {
    harness = makeHarness();
    await harness.start();
  });

  afterEach(async () => {
    await disposeAll();
    await harness.dispose();
  });

  function connect(settings = {}): Watched {
    watched = watchConnection({ id: `fixture-${kind}`, target: harness.target(), settings });
    return watched;
  }

  it('connects and becomes healthy', async () => {
    const { connection, states } = connect();
    await waitForState(connection, 'healthy');
    expect(states).toEqual(['connecting', 'healthy']);
    const result = await connection.callTool('echo', { message: `over ${kind}` });
    expect(result.content).toEqual([{ type: 'text', text: `over ${kind}` }]);
    // The answer is reported to the actor within 50 ms, as a sample.
    await waitUntil(() => connection.snapshot.context.samples.toArray().some((sample) => sample.source === 'call'), 5_000, () => 'the call as a quality sample');
    expect(connection.snapshot.context.quality.samples).toBeGreaterThan(0);
  });

  it('reports answers to the actor together, each one a sample', async () => {
    const { connection } = connect();
    await waitForState(connection, 'healthy');
    const callSamples = (): number => connection.snapshot.context.samples.toArray().filter((sample) => sample.source === 'call').length;
    const seen: number[] = [];
    const subscription = connection.actor.subscribe(() => seen.push(callSamples()));
    try {
      const calls = 20;
      await Promise.all(Array.from({ length: calls }, (_, index) => connection.callTool('echo', { message: `call ${index}` })));
      await waitUntil(() => callSamples() === calls, 5_000, () => `all ${calls} calls as samples (now ${callSamples()})`);
      // Answers within the same 50 ms are one event: far fewer transitions than calls.
      expect(new Set(seen.filter((count) => count > 0)).size).toBeLessThan(calls / 2);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('notices the server going away and is healthy again once it is back', async () => {
    const { connection, states } = connect();
    await waitForState(connection, 'healthy');
    await harness.kill(connection);
    await waitForState(connection, 'reconnecting');
    await harness.revive();
    await waitForEntry(watched, 'healthy', 1, 15_000);
    expect(states.slice(0, 3)).toEqual(['connecting', 'healthy', 'reconnecting']);
    expect(states).not.toContain('failed');
    expect(states.at(-1)).toBe('healthy');
  });

  it('goes degraded, then zombie, when the server freezes, and recovers after the thaw', async () => {
    const { connection, states } = connect({ connectTimeoutMs: 1_500 });
    await waitForState(connection, 'healthy');
    await harness.freeze(connection);
    await waitForState(connection, 'zombie');
    await waitForState(connection, 'reconnecting');
    await harness.thaw();
    await waitForEntry(watched, 'healthy', 1, 15_000);
    const path = states.slice(states.indexOf('degraded'));
    expect(path.slice(0, 3)).toEqual(['degraded', 'zombie', 'reconnecting']);
    expect(connection.snapshot.context.lastError?.kind).toBe('zombie');
    expect(states).not.toContain('failed');
  });

  it('leaves healthy within pingTimeoutMs of the first call that timed out on a hung server (calls are evidence)', async () => {
    // Probes are a minute apart, so only the timed-out call can bring the probe forward.
    const { connection } = connect({ healthyIntervalMs: 60_000, stableIntervalMs: 60_000, pingTimeoutMs: 500 });
    await waitForState(connection, 'healthy');
    await harness.freeze(connection);
    const outcome = await settleTime(connection.callTool('echo', { message: 'hung' }, { timeoutMs: 300 }));
    expect(outcome.error).toBeDefined();
    await waitForState(connection, 'degraded', 5_000);
    const degraded = watched.changes.find((change) => change.to === 'degraded');
    expect(degraded).toBeDefined();
    // One probe started with the failed call and missed: pingTimeoutMs (500) plus scheduling.
    expect((degraded?.at ?? 0) - outcome.at).toBeLessThan(500 + 300);
    await harness.thaw();
  });

  it('goes degraded under latency above degradedLatencyMs and healthy again once it drops', async () => {
    const { connection, states } = connect({ pingTimeoutMs: 1_500, degradedLatencyMs: 150 });
    await waitForState(connection, 'healthy');
    await harness.setLatency(connection, 400);
    await waitForState(connection, 'degraded');
    await harness.setLatency(connection, 0);
    await waitForEntry(watched, 'healthy', 1);
    expect(states).toEqual(['connecting', 'healthy', 'degraded', 'healthy']);
    const slow = connection.snapshot.context.samples.toArray().filter((sample) => sample.ok && sample.latencyMs >= 400);
    expect(slow.length).toBeGreaterThan(0);
  });

  if (kind !== 'stdio') {
    // stdio has no sessions to lose; its equivalent is the process exiting, tested above.
    it('re-initializes without backoff when the server drops every session, and never fails', async () => {
      const { connection, states } = connect({ initialBackoffMs: 60_000, maxBackoffMs: 60_000 });
      await waitForState(connection, 'healthy');
      const attemptsBefore = connection.snapshot.context.attempts;
      await harness.dropSessions?.();
      // A 60 s backoff would blow this bound: re-initializing must skip it.
      await waitForEntry(watched, 'healthy', 1, 8_000);
      expect(states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
      expect(connection.snapshot.context.lastError?.kind).toBe('session-expired');
      expect(connection.snapshot.context.attempts).toBe(attemptsBefore);
      const echoed = await connection.callTool('echo', { message: 'fresh session' });
      expect(echoed.content).toEqual([{ type: 'text', text: 'fresh session' }]);
    });
  }
});

describe('stdio specifics', () => {
  afterEach(async () => {
    await disposeAll();
  });

  const target = (): ServerTarget => ({ type: 'stdio', command: process.execPath, args: [fixtureServerPath, 'stdio'] });

  it('notices a killed server from its exit, without waiting for a probe', async () => {
    // A minute between probes: only the child's exit can explain a quick transition.
    const watched = watchConnection({ id: 'killed', target: target(), settings: { healthyIntervalMs: 60_000, stableIntervalMs: 60_000 } });
    await waitForState(watched.connection, 'healthy');
    const pid = watched.connection.snapshot.context.session?.pid ?? -1;
    process.kill(pid, 'SIGKILL');
    await waitForState(watched.connection, 'reconnecting', 2_000);
    expect(watched.connection.snapshot.context.samples.toArray().filter((sample) => sample.source === 'probe')).toEqual([]);
    expect(watched.connection.snapshot.context.lastError?.message).toMatch(/SIGKILL/);
    await waitForEntry(watched, 'healthy', 1);
    const newPid = watched.connection.snapshot.context.session?.pid;
    expect(newPid).toBeDefined();
    expect(newPid).not.toBe(pid);
    expect(isAlive(pid)).toBe(false);
  });

  it('a command that does not exist fails at once with the reason', async () => {
    const watched = watchConnection({ id: 'missing', target: { type: 'stdio', command: 'mcp-supervisor-no-such-command' } });
    await waitForState(watched.connection, 'failed');
    expect(watched.states).toEqual(['connecting', 'failed']);
    expect(watched.connection.snapshot.context.lastError).toMatchObject({ kind: 'permanent', message: expect.stringMatching(/command not found/) });
  });

  it('kills the whole process group on teardown, grandchildren included', async () => {
    const watched = watchConnection({
      id: 'wrapper',
      target: { ...target(), env: { FIXTURE_FORK_GRANDCHILD: '1' } } as ServerTarget,
    });
    await waitForState(watched.connection, 'healthy');
    const grandchild = await waitForGrandchild(watched.connection);
    expect(isAlive(grandchild)).toBe(true);
    await watched.connection.dispose();
    await waitForExit(grandchild, 5_000);
    expect(isAlive(grandchild)).toBe(false);
  });

  it('rejects a call in flight with ConnectionLostError within 100 ms when the process exits', async () => {
    const watched = watchConnection({ id: 'inflight-exit', target: target(), settings: { pingTimeoutMs: 10_000, healthyIntervalMs: 60_000, stableIntervalMs: 60_000 } });
    await waitForState(watched.connection, 'healthy');
    await watched.connection.callTool('set_latency', { ms: 30_000 });
    const call = watched.connection.callTool('echo', { message: 'never answered' });
    const settled = settleTime(call);
    process.kill(watched.connection.snapshot.context.session?.pid ?? -1, 'SIGKILL');
    const outcome = await settled;
    expect(outcome.error).toBeInstanceOf(ConnectionLostError);
    const left = watched.changes.find((change) => change.to === 'reconnecting');
    expect(left).toBeDefined();
    expect(outcome.at - (left?.at ?? 0)).toBeLessThan(100);
  });

  it('rejects a call in flight with ConnectionLostError within 100 ms when the connection turns zombie', async () => {
    const watched = watchConnection({ id: 'inflight-zombie', target: target() });
    await waitForState(watched.connection, 'healthy');
    const pid = watched.connection.snapshot.context.session?.pid ?? -1;
    process.kill(pid, 'SIGSTOP');
    await waitForProcessState(pid, 'T', 2_000);
    const call = watched.connection.callTool('echo', { message: 'frozen' });
    const outcome = await settleTime(call);
    expect(outcome.error).toBeInstanceOf(ConnectionLostError);
    expect((outcome.error as ConnectionLostError).state).toBe('zombie');
    const zombie = watched.changes.find((change) => change.to === 'zombie');
    expect(zombie).toBeDefined();
    expect(outcome.at - (zombie?.at ?? 0)).toBeLessThan(100);
    await waitForEntry(watched, 'healthy', 1);
    expect(isAlive(pid)).toBe(false);
  });
});

async function settleTime(promise: Promise<unknown>): Promise<{ error: unknown; at: number }> {
  try {
    await promise;
    return { error: undefined, at: Date.now() };
  } catch (error) {
    return { error, at: Date.now() };
  }
}

async function waitForGrandchild(connection: ManagedConnection): Promise<number> {
  const line = await waitUntil(
    () => connection.stderr.tail().find((entry) => entry.text.startsWith('grandchild ')),
    5_000,
    () => `no grandchild reported; descendants: ${describePids(descendantPids())}`,
  );
  return Number(line.text.split(' ')[1]);
}

