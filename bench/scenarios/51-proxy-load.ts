// The proxy at speed: `POST /actors/:id/tools/echo` on a running service, driven by autocannon in
// a process of its own, next to a reference measured in the same run: a bare Hono app that
// forwards the same request to one plain SDK client (v2, stdio) on its own copy of the same
// server. Both answer the same JSON body; 1 and 16 requests in flight, a fixed duration each.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serve } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { startService } from '../../src/service/service.js';
import type { RunningService } from '../../src/service/service.js';
import { round } from '../harness.js';
import type { Row, Scenario } from '../harness.js';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('../../fixtures/fixture-server.mjs', import.meta.url));
const autocannon = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
const SERVER_ID = 'fx';
const DURATION_S = 10;
const IN_FLIGHT = [1, 16] as const;

interface Load {
  requestsPerSecond: number;
  /** Mean latency (ms, fractional: autocannon's percentiles are whole milliseconds). */
  mean: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
}

/** autocannon against one URL, in its own process (so it never shares the server's event loop). */
async function load(url: string, connections: number, durationS: number): Promise<Load> {
  const { stdout } = await run(
    process.execPath,
    [autocannon, '--json', '-c', String(connections), '-d', String(durationS), '-m', 'POST', '-H', 'content-type=application/json', '-b', JSON.stringify({ message: 'hi' }), url],
    { maxBuffer: 64 * 1024 * 1024, timeout: (durationS + 30) * 1_000 },
  );
  const result = JSON.parse(stdout) as {
    requests: { average: number; total: number };
    latency: { average: number; p50: number; p99: number };
    errors: number;
    non2xx: number;
  };
  return { requestsPerSecond: result.requests.average, mean: result.latency.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx, total: result.requests.total };
}

/** The reference: Hono → one SDK client → the server, nothing else. */
async function startReference(): Promise<{ url: string; close: () => Promise<void> }> {
  const client = new Client({ name: 'bench-reference', version: '0.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [fixture, 'stdio'], stderr: 'ignore' }));
  const app = new Hono();
  app.post('/tools/:name', async (c) => c.json(await client.callTool({ name: c.req.param('name'), arguments: await c.req.json<Record<string, unknown>>() })));
  const server = await new Promise<ServerType>((resolve) => {
    const listening = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(listening));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await client.close();
    },
  };
}

export const scenario: Scenario = {
  name: 'proxy under load: autocannon against POST /actors/:id/tools/echo and a bare Hono reference',
  async run(): Promise<Row[]> {
    const directory = await mkdtemp(join(tmpdir(), 'mcp-supervisor-bench-load-'));
    const configPath = join(directory, 'mcp.json');
    await writeFile(configPath, `${JSON.stringify({ mcpServers: { [SERVER_ID]: { command: process.execPath, args: [fixture, 'stdio'] } } }, null, 2)}\n`);
    let service: RunningService | undefined;
    let reference: { url: string; close: () => Promise<void> } | undefined;
    try {
      service = await startService({ configPath, port: 0 });
      await service.supervisor.ready(SERVER_ID, 20_000);
      reference = await startReference();
      const targets = [
        { label: 'bare Hono + SDK client (reference)', url: `${reference.url}/tools/echo` },
        { label: 'mcp-supervisor POST /actors/:id/tools/echo', url: `${service.url}/actors/${SERVER_ID}/tools/echo` },
      ];
      // Warm-up: connections, JIT, both sides.
      for (const target of targets) await load(target.url, 4, 2);

      const rows: Row[] = [];
      for (const inFlight of IN_FLIGHT) {
        const measured: Load[] = [];
        for (const target of targets) {
          const result = await load(target.url, inFlight, DURATION_S);
          measured.push(result);
          const scenario = `load, ${inFlight} in flight, ${DURATION_S} s: ${target.label}`;
          rows.push(
            { scenario, metric: 'throughput', value: round(result.requestsPerSecond, 0), unit: 'calls/s', note: `${result.total} calls, ${result.errors} errors, ${result.non2xx} non-2xx` },
            { scenario, metric: 'mean latency', value: round(result.mean, 2), unit: 'ms' },
            { scenario, metric: 'p50', value: result.p50, unit: 'ms', note: 'whole ms (autocannon)' },
            { scenario, metric: 'p99', value: result.p99, unit: 'ms' },
          );
        }
        const [bare, ours] = measured;
        if (bare && ours) {
          const scenario = `load, ${inFlight} in flight: mcp-supervisor against the reference`;
          rows.push(
            { scenario, metric: 'throughput ratio', value: round((ours.requestsPerSecond / bare.requestsPerSecond) * 100, 0), unit: '%', bound: inFlight === 16 ? 'goal ≥ 80 %' : '' },
            { scenario, metric: 'mean latency ratio', value: round(ours.mean / bare.mean, 2), unit: '×', bound: inFlight === 16 ? 'goal ≤ 1.2× (p50)' : '', note: `p50 ${ours.p50} ms against ${bare.p50} ms` },
          );
        }
      }
      return rows;
    } finally {
      await reference?.close().catch(() => undefined);
      await service?.close();
      await rm(directory, { recursive: true, force: true });
    }
  },
};
