// Both protocol eras against real servers: SDK v2 servers that speak only MCP 2026-07-28
// (modern-only) or both eras (dual), and 2025-era servers (our v1 fixture, server-everything,
// legacy SSE), over stdio and Streamable HTTP. Everything but the negotiation is era-blind:
// the same faults give the same states.
import { createRequire } from 'node:module';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ServerTarget } from '../../src/core/target.js';
import type { ProtocolEra } from '../../src/core/session.js';
import type { ManagedConnection } from '../../src/fleet/connection.js';
import { createSupervisor } from '../../src/fleet/supervisor.js';
import { createApp } from '../../src/http/app.js';
import { fixtureServerPath, startHttpFixture } from '../../fixtures/http-fixture.js';
import type { HttpFixture } from '../../fixtures/http-fixture.js';
import { startV2HttpFixture, v2ServerPath } from '../../fixtures/v2-http.js';
import type { V2HttpFixture } from '../../fixtures/v2-http.js';
import { disposeAll, waitForEntry, waitForState, watchConnection } from '../support/connections.js';
import type { Watched } from '../support/connections.js';
import { describePids, waitForNoDescendants, waitForState as waitForProcessState } from '../support/processes.js';
import { waitUntil } from '../support/wait.js';

const everythingEntry = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

/** One kind of server, with the faults its transport can suffer. */
interface Kind {
  name: string;
  era: ProtocolEra;
  start(): Promise<void>;
  target(): ServerTarget;
  /** The server stops answering (discover / ping included) but its process and sockets stay. */
  freeze(connection: ManagedConnection): Promise<void>;
  thaw(): Promise<void>;
  /** The server dies (stdio) or stops listening (HTTP). */
  kill(connection: ManagedConnection): Promise<void>;
  /** HTTP: the server comes back on the same port. stdio: the actor respawns it itself. */
  revive(): Promise<void>;
  dispose(): Promise<void>;
}

const pidOf = (connection: ManagedConnection): number => {
  const pid = connection.snapshot.context.session?.pid;
  if (pid === undefined) throw new Error('no stdio child running');
  return pid;
};

function stdio(name: string, era: ProtocolEra, args: string[]): Kind {
  return {
    name,
    era,
    start: async () => undefined,
    target: () => ({ type: 'stdio', command: process.execPath, args }),
    freeze: async (connection) => {
      const pid = pidOf(connection);
      process.kill(pid, 'SIGSTOP');
      await waitForProcessState(pid, 'T', 2_000);
    },
    // The zombie teardown kills the stopped process; the next attempt spawns a fresh one.
    thaw: async () => undefined,
    kill: async (connection) => {
      process.kill(pidOf(connection), 'SIGKILL');
    },
    revive: async () => undefined,
    dispose: async () => undefined,
  };
}

function v2Http(era: 'modern' | 'dual'): Kind {
  let fixture: V2HttpFixture | undefined;
  const running = (): V2HttpFixture => {
    if (!fixture) throw new Error('not started');
    return fixture;
  };
  return {
    name: `v2 ${era} over Streamable HTTP`,
    era: 'modern',
    start: async () => {
      fixture = await startV2HttpFixture({ era });
    },
    target: () => ({ type: 'streamable-http', url: running().mcpUrl }),
    freeze: () => running().freeze(),
    thaw: () => running().thaw(),
    kill: () => running().stop(),
    revive: () => running().restart(),
    dispose: async () => {
      await fixture?.stop();
      fixture = undefined;
    },
  };
}

function v1Http(type: 'streamable-http' | 'sse'): Kind {
  let fixture: HttpFixture | undefined;
  const running = (): HttpFixture => {
    if (!fixture) throw new Error('not started');
    return fixture;
  };
  return {
    name: `2025-era fixture over ${type === 'sse' ? 'legacy SSE' : 'Streamable HTTP'}`,
    era: 'legacy',
    start: async () => {
      fixture = await startHttpFixture();
    },
    target: () => ({ type, url: type === 'sse' ? running().sseUrl : running().mcpUrl }),
    freeze: async () => {
      await running().control('freeze');
    },
    thaw: async () => {
      await running().control('thaw');
    },
    kill: () => running().stop(),
    revive: () => running().restart(),
    dispose: async () => {
      await fixture?.stop();
      fixture = undefined;
    },
  };
}

const KINDS: Array<() => Kind> = [
  () => stdio('v2 modern-only over stdio', 'modern', [v2ServerPath, 'stdio', 'modern']),
  () => stdio('v2 dual-era over stdio', 'modern', [v2ServerPath, 'stdio', 'dual']),
  () => stdio('2025-era fixture over stdio', 'legacy', [fixtureServerPath, 'stdio']),
  () => v2Http('modern'),
  () => v2Http('dual'),
  () => v1Http('streamable-http'),
  () => v1Http('sse'),
];

afterAll(async () => {
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

describe.each(KINDS.map((make) => [make().name, make] as const))('%s', (_name, make) => {
  let kind: Kind;
  let watched: Watched;

  afterEach(async () => {
    await disposeAll();
    await kind.dispose();
  });

  async function connect(settings = {}): Promise<Watched> {
    kind = make();
    await kind.start();
    watched = watchConnection({ id: kind.name.replace(/[^a-z0-9]+/gi, '-'), target: kind.target(), settings });
    await waitForState(watched.connection, 'healthy');
    return watched;
  }

  it('connects, negotiates its era, and probes it by era', async () => {
    const { connection, states } = await connect();
    expect(states).toEqual(['connecting', 'healthy']);
    expect(connection.snapshot.context.era).toBe(kind.era);
    expect(connection.snapshot.context.probeKind).toBe(kind.era === 'modern' ? 'server/discover' : 'ping');
    const result = await connection.callTool('echo', { message: 'hi' });
    expect(JSON.stringify(result.content)).toContain('hi');
  });

  it('freezes: degraded → zombie → reconnecting → healthy again once it answers', async () => {
    const { connection, states } = await connect({ connectTimeoutMs: 3_000 });
    await kind.freeze(connection);
    await waitForState(connection, 'zombie');
    await waitForState(connection, 'reconnecting');
    await kind.thaw();
    await waitForEntry(watched, 'healthy', 1, 15_000);
    const path = states.slice(states.indexOf('degraded'));
    expect(path.slice(0, 3)).toEqual(['degraded', 'zombie', 'reconnecting']);
    expect(connection.snapshot.context.lastError?.kind).toBe('zombie');
    expect(connection.snapshot.context.era).toBe(kind.era);
    expect(states).not.toContain('failed');
  });

  it('killed: reconnecting at once; back (HTTP: restarted on the same port) → healthy, never failed', async () => {
    const { connection, states } = await connect();
    const killedAt = Date.now();
    await kind.kill(connection);
    await waitForState(connection, 'reconnecting', 5_000);
    await kind.revive();
    await waitForEntry(watched, 'healthy', 1, 15_000);
    expect(states.slice(0, 3)).toEqual(['connecting', 'healthy', 'reconnecting']);
    const lost = watched.changes.find((change) => change.to === 'reconnecting');
    // Hard evidence (exit, refused connection, broken stream) or at most one missed probe.
    expect((lost?.at ?? 0) - killedAt).toBeLessThan(2_000);
    expect(states).not.toContain('failed');
    expect(connection.snapshot.context.era).toBe(kind.era);
  });
});

describe('era in the fleet and the API', () => {
  it('a modern and a legacy server side by side: era in /actors, tool calls through POST /actors/:id/tools/:name', async () => {
    const supervisor = createSupervisor({
      mcpServers: {
        modern: { command: process.execPath, args: [v2ServerPath, 'stdio', 'modern'] },
        legacy: { command: process.execPath, args: [fixtureServerPath, 'stdio'] },
        everything: { command: process.execPath, args: [everythingEntry, 'stdio'] },
        pinned: { command: process.execPath, args: [v2ServerPath, 'stdio', 'dual'], era: 'legacy' },
      },
    });
    try {
      await Promise.all(['modern', 'legacy', 'everything', 'pinned'].map((id) => supervisor.ready(id, 15_000)));
      const app = createApp({ supervisor });
      const { actors } = (await (await app.request('/actors')).json()) as { actors: Array<{ id: string; era: string | null }> };
      expect(Object.fromEntries(actors.map((actor) => [actor.id, actor.era]))).toEqual({ modern: 'modern', legacy: 'legacy', everything: 'legacy', pinned: 'legacy' });
      for (const id of ['modern', 'legacy', 'everything']) {
        const response = await app.request(`/actors/${id}/tools/echo`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message: `via ${id}` }),
        });
        expect(response.status, await response.clone().text()).toBe(200);
        expect(await response.text()).toContain(`via ${id}`);
      }
      const metrics = await (await app.request('/metrics')).text();
      expect(metrics).toMatch(/mcp_connection_info\{server="modern",transport="stdio",era="modern",required="true"\} 1/);
      expect(metrics).toMatch(/mcp_connection_info\{server="legacy",transport="stdio",era="legacy",required="true"\} 1/);
    } finally {
      await supervisor.stop();
    }
  });

  it('a modern-only server pinned to legacy fails for good with the reason, after one attempt', async () => {
    const watchedModern = watchConnection({ id: 'modern-pinned-legacy', target: { type: 'stdio', command: process.execPath, args: [v2ServerPath, 'stdio', 'modern'], era: 'legacy' } });
    await waitForState(watchedModern.connection, 'failed');
    expect(watchedModern.states).toEqual(['connecting', 'failed']);
    expect(watchedModern.connection.snapshot.context.lastError?.kind).toBe('permanent');
  });

  it('a 2025-era server pinned to modern fails for good: it does not offer the pinned era', async () => {
    const watchedLegacy = watchConnection({ id: 'legacy-pinned-modern', target: { type: 'stdio', command: process.execPath, args: [fixtureServerPath, 'stdio'], era: 'modern' } });
    await waitForState(watchedLegacy.connection, 'failed');
    expect(watchedLegacy.states).toEqual(['connecting', 'failed']);
    expect(watchedLegacy.connection.snapshot.context.lastError?.kind).toBe('permanent');
  });

  it('a modern HTTP server that goes away is noticed from its broken listen stream, without waiting for a probe; a restart on the same port is "gone, then back"', async () => {
    const http = await startV2HttpFixture({ era: 'modern', env: { FIXTURE_LOG_CALLS: '1' } });
    try {
      // Probes a minute apart: only the subscriptions/listen stream can tell.
      const watched = watchConnection({
        id: 'modern-http-listen',
        target: { type: 'streamable-http', url: http.mcpUrl },
        settings: { healthyIntervalMs: 60_000, stableIntervalMs: 60_000 },
      });
      await waitForState(watched.connection, 'healthy');
      // The listen stream is opened right after connecting: wait until the server has it open.
      await waitUntil(() => (http.stderr().includes('listen') ? true : undefined), 5_000, () => `the server never saw a listen request; stderr:\n${http.stderr()}`);
      const stoppedAt = Date.now();
      await http.stop();
      await waitForState(watched.connection, 'reconnecting', 5_000);
      const lost = watched.changes.find((change) => change.to === 'reconnecting');
      expect((lost?.at ?? 0) - stoppedAt).toBeLessThan(2_000);
      await http.restart();
      await waitForEntry(watched, 'healthy', 1, 15_000);
      expect(watched.states).not.toContain('failed');
      expect(watched.connection.snapshot.context.era).toBe('modern');
    } finally {
      await disposeAll();
      await http.stop();
    }
  });

  it('probes a healthy modern server for 10 s without one failed probe (stdio and Streamable HTTP)', async () => {
    const http = await startV2HttpFixture({ era: 'modern' });
    try {
      const settings = { healthyIntervalMs: 100, stableIntervalMs: 100 };
      const overStdio = watchConnection({ id: 'modern-stdio-10s', target: { type: 'stdio', command: process.execPath, args: [v2ServerPath, 'stdio', 'modern'] }, settings });
      const overHttp = watchConnection({ id: 'modern-http-10s', target: { type: 'streamable-http', url: http.mcpUrl }, settings });
      await Promise.all([waitForState(overStdio.connection, 'healthy'), waitForState(overHttp.connection, 'healthy')]);
      const outcomes: string[] = [];
      const subscriptions = [overStdio, overHttp].map((watched) =>
        watched.connection.actor.on('probe.completed', (event) => outcomes.push(`${event.kind}:${event.outcome}`)),
      );
      const start = Date.now();
      // The 10 s being measured. A timer may fire a millisecond early against the wall clock, so
      // wait out whatever is left rather than trust one timer.
      while (Date.now() - start < 10_000) await new Promise((resolve) => setTimeout(resolve, 10_000 - (Date.now() - start)));
      for (const subscription of subscriptions) subscription.unsubscribe();
      expect(Date.now() - start).toBeGreaterThanOrEqual(10_000);
      expect(outcomes.length).toBeGreaterThan(100);
      expect(outcomes.filter((outcome) => outcome !== 'server/discover:fast' && outcome !== 'server/discover:slow')).toEqual([]);
      expect(overStdio.states).toEqual(['connecting', 'healthy']);
      expect(overHttp.states).toEqual(['connecting', 'healthy']);
    } finally {
      await disposeAll();
      await http.stop();
    }
  }, 30_000);
});
