import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { disposeAll, waitForState, watchConnection } from '../support/connections.js';
import { describePids, waitForExit, waitForNoDescendants } from '../support/processes.js';
import { freePort } from '../support/ports.js';

// The reference server from the MCP project, as a real peer next to our own fixture.
const everythingEntry = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const bindLoopback = new URL('../fixtures/bind-loopback.mjs', import.meta.url).href;

afterAll(async () => {
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

describe('@modelcontextprotocol/server-everything', () => {
  let httpServer: ChildProcess | undefined;

  afterEach(async () => {
    await disposeAll();
    if (httpServer?.pid !== undefined && httpServer.exitCode === null) {
      httpServer.kill('SIGTERM');
      expect(await waitForExit(httpServer.pid, 5_000)).toBe(true);
    }
    httpServer = undefined;
  });

  it('connects over stdio and echoes', async () => {
    const { connection, states } = watchConnection({
      id: 'everything-stdio',
      target: { type: 'stdio', command: process.execPath, args: [everythingEntry, 'stdio'] },
      settings: { connectTimeoutMs: 15_000 },
    });
    await waitForState(connection, 'healthy', 15_000);
    const result = await connection.callTool('echo', { message: 'hello everything' });
    expect(result.content).toEqual([{ type: 'text', text: 'Echo: hello everything' }]);
    expect(states).toEqual(['connecting', 'healthy']);
    const tools = await connection.listTools();
    expect(tools.map((tool) => tool.name)).toContain('echo');
  });

  it('connects over Streamable HTTP and echoes', async () => {
    const port = await freePort();
    httpServer = spawn(process.execPath, ['--import', bindLoopback, everythingEntry, 'streamableHttp'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // It only logs "listening" on stderr; the actor's own retries cover the start-up race.
    const { connection } = watchConnection({
      id: 'everything-http',
      target: { type: 'streamable-http', url: `http://127.0.0.1:${port}/mcp` },
      settings: { connectTimeoutMs: 15_000, initialBackoffMs: 100, maxBackoffMs: 200 },
    });
    await waitForState(connection, 'healthy', 20_000);
    const result = await connection.callTool('echo', { message: 'over http' });
    expect(result.content).toEqual([{ type: 'text', text: 'Echo: over http' }]);
  });
});

