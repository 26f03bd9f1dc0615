import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resolveSettings } from '../../src/core/settings.js';
import { Supervisor } from '../../src/fleet/supervisor.js';
import type { ServerDefinition } from '../../src/config/load.js';
import { disposeAll, waitForEntry, waitForState, watchConnection } from '../support/connections.js';
import { until } from '../support/wait.js';

function echoServer(servers: McpServer[]): () => McpServer {
  return () => {
    const server = new McpServer({ name: 'in-process', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({
      content: [{ type: 'text', text: message }],
    }));
    servers.push(server);
    return server;
  };
}

describe('in-process servers over InMemoryTransport', () => {
  afterEach(async () => {
    await disposeAll();
  });

  it('connects, probes and calls a tool', async () => {
    const servers: McpServer[] = [];
    const watched = watchConnection({ id: 'memory', target: { type: 'memory', createServer: echoServer(servers) } });
    await waitForState(watched.connection, 'healthy');
    const result = await watched.connection.callTool('echo', { message: 'in process' });
    expect(result.content).toEqual([{ type: 'text', text: 'in process' }]);
  });

  it('a server that closes its side is noticed at once, and a fresh server serves the next attempt', async () => {
    const servers: McpServer[] = [];
    const watched = watchConnection({
      id: 'memory-closed',
      target: { type: 'memory', createServer: echoServer(servers) },
      settings: { healthyIntervalMs: 60_000, stableIntervalMs: 60_000 },
    });
    await waitForState(watched.connection, 'healthy');
    await servers[0]?.close();
    await waitForEntry(watched, 'healthy', 1);
    expect(watched.states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
    expect(servers).toHaveLength(2);
  });

  it('disposing closes the in-process server too', async () => {
    const servers: McpServer[] = [];
    const watched = watchConnection({ id: 'memory-dispose', target: { type: 'memory', createServer: echoServer(servers) } });
    await waitForState(watched.connection, 'healthy');
    await watched.connection.dispose();
    expect(servers[0]?.isConnected()).toBe(false);
  });

  it('a factory that never settles does not hold up dispose: the attempt is abandoned', async () => {
    const watched = watchConnection({ id: 'memory-stuck', target: { type: 'memory', createServer: () => new Promise<never>(() => {}) }, settings: { connectTimeoutMs: 60_000 } });
    await waitForState(watched.connection, 'connecting');
    // Bounded: before, dispose waited out the attempt (the stop budget, 15 s).
    const disposed = await Promise.race([
      watched.connection.dispose().then(() => 'disposed'),
      new Promise<string>((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5_000).unref()),
    ]);
    expect(disposed).toBe('disposed');
  });

  it('a fleet of them starting lets the event loop turn: timers and I/O are served between connects', async () => {
    const count = 1_000;
    const settings = resolveSettings({ healthyIntervalMs: 60_000, stableIntervalMs: 60_000 });
    const servers: ServerDefinition[] = Array.from({ length: count }, (_, index) => ({
      id: `m${index}`,
      target: { type: 'memory', createServer: () => new McpServer({ name: `m${index}`, version: '1.0.0' }) },
      priority: 0,
      dependsOn: [],
      required: true,
      disabled: false,
      settings,
    }));
    // Counts turns of the loop until every connection is up: each callback queues the next.
    let turns = 0;
    let counting = true;
    const countTurn = (): void => {
      turns += 1;
      if (counting) setImmediate(countTurn);
    };
    const supervisor = new Supervisor({ maxConcurrentReconnects: 64, servers });
    try {
      setImmediate(countTurn);
      await until(() => supervisor.summaries().every((summary) => summary.state === 'healthy'), `all ${count} healthy`, 60_000, 20);
      counting = false;
      // Held in one chain of promise callbacks, the loop did not turn until the last connect was
      // done (0 turns counted here). Sliced, it turns every 50 ms plus the handshakes under way:
      // 16 times on a slow host; 3 leaves room for a host several times faster.
      expect(turns).toBeGreaterThanOrEqual(3);
    } finally {
      counting = false;
      await supervisor.stop();
    }
  });
});
