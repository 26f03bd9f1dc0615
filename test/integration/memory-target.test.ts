import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { disposeAll, waitForEntry, waitForState, watchConnection } from '../support/connections.js';

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
});
