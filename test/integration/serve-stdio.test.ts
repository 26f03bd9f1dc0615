// `mcp-supervisor serve-stdio`: the whole fleet as one MCP server on stdin/stdout, run as the real
// CLI (src through tsx, so no build is needed) under real stdio clients: the SDK v2 client in both
// eras and the v1 client. stdout must carry the protocol and nothing else; stdin's end stops it
// and every server process with it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as V2Client } from '@modelcontextprotocol/client';
import { StdioClientTransport as V2StdioTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v2ServerPath } from '../../fixtures/v2-http.js';
import { FAST_HEALTH, spawnWatched } from '../support/cli.js';
import { descendantPids, describePids, isAlive, waitForNoDescendants } from '../support/processes.js';
import { waitUntil } from '../support/wait.js';

const cli = fileURLToPath(new URL('../../src/service/cli.ts', import.meta.url));
const promptsOnlyServer = fileURLToPath(new URL('../fixtures/prompts-only-server.mjs', import.meta.url));
const annotatedServer = fileURLToPath(new URL('../fixtures/annotated-server.mjs', import.meta.url));

let dir: string;
let configPath: string;
const command = () => ({ command: process.execPath, args: ['--import', 'tsx', cli, 'serve-stdio', '--config', configPath] });
const textOf = (result: unknown): string => ((result as { content: unknown }).content as Array<{ text?: string }>).map((block) => block.text ?? '').join('');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-serve-stdio-'));
  configPath = join(dir, 'mcp.json');
  await writeFile(
    configPath,
    JSON.stringify({
      supervisor: { health: FAST_HEALTH },
      mcpServers: {
        v2: { command: process.execPath, args: [v2ServerPath, 'stdio', 'dual'] },
        notes: { command: process.execPath, args: [annotatedServer] },
        // No tools at all: nothing may ask it for some (the SDK client would print to stdout).
        greeter: { command: process.execPath, args: [promptsOnlyServer] },
      },
    }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  const leftovers = await waitForNoDescendants(10_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

describe('mcp-supervisor serve-stdio', () => {
  it.each([
    ['v2 client, 2025 era', false],
    ['v2 client, auto (2026-07-28)', true],
  ] as const)('%s: lists every server, calls through, hears list changes', async (_label, modern) => {
    const changes: string[][] = [];
    const client = new V2Client(
      { name: 'serve-stdio-test', version: '1.0.0' },
      {
        ...(modern ? { versionNegotiation: { mode: 'auto' as const } } : {}),
        listChanged: { tools: { debounceMs: 0, onChanged: (_error, tools) => void (tools && changes.push(tools.map((tool) => tool.name))) } },
      },
    );
    await client.connect(new V2StdioTransport({ ...command(), stderr: 'pipe' }));
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe(modern ? '2026-07-28' : '2025-11-25');
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toEqual(expect.arrayContaining(['v2__echo', 'v2__add', 'notes__echo', 'notes__slow_read']));
      expect(textOf(await client.callTool({ name: 'v2__echo', arguments: { message: 'over stdio' } }))).toBe('over stdio');
      expect(textOf(await client.callTool({ name: 'notes__echo', arguments: { message: 'notes' } }))).toBe('notes');
      // The server's own list_changed, relisted by the catalog, reaches the stdio client.
      await client.callTool({ name: 'notes__add_tool', arguments: { name: 'late_tool' } });
      await waitUntil(() => changes.some((names) => names.includes('notes__late_tool')), 10_000, () => `never told: ${JSON.stringify(changes)}`);
    } finally {
      await client.close();
    }
  }, 40_000);

  it('v1 client: lists and calls through', async () => {
    const client = new V1Client({ name: 'serve-stdio-test-v1', version: '1.0.0' });
    await client.connect(new V1StdioTransport({ ...command(), stderr: 'pipe' }));
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toEqual(expect.arrayContaining(['v2__echo', 'notes__echo']));
      expect(textOf(await client.callTool({ name: 'v2__add', arguments: { a: 40, b: 2 } }))).toBe('42');
    } finally {
      await client.close();
    }
  }, 40_000);

  it('writes nothing but protocol on stdout, and stops every server when stdin ends', async () => {
    const { command: node, args } = command();
    const run = spawnWatched(node, args);
    const { child } = run;
    const exited = run.exited.then(({ code }) => code);
    try {
      const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
      send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
      const answered = (id: number) => run.stdout().split('\n').some((line) => line.includes(`"id":${id}`));
      await waitUntil(() => answered(1), 30_000, () => `no initialize answer; stderr:\n${run.stderr()}`, exited);
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'v2__echo', arguments: { message: 'raw' } } });
      await waitUntil(() => answered(2) && answered(3), 15_000, () => `no answers; stdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`, exited);
      const servers = descendantPids(child.pid);
      expect(servers.length).toBeGreaterThanOrEqual(2);
      child.stdin.end();
      expect(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 15_000))])).toBe(0);
      await waitUntil(() => servers.every((pid) => !isAlive(pid)), 5_000, () => `left running: ${describePids(servers.filter(isAlive))}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const lines = run.stdout().split('\n').filter((line) => line !== '');
    for (const line of lines) expect(JSON.parse(line), line).toMatchObject({ jsonrpc: '2.0' });
    expect(lines.some((line) => line.includes('"text":"raw"'))).toBe(true);
  }, 60_000);
});
