// The proxy at speed: `POST /actors/:id/tools/echo` on a running service, driven by autocannon in
// a process of its own, next to a reference measured in the same run: a bare Hono app that
// forwards the same request to one plain SDK client (v2, stdio) on its own copy of the same
// server. Both answer the same JSON body; 1 and 16 requests in flight, a fixed duration each.
// Then both at one fixed rate that either holds: the CPU each call costs this process (the service
// or the reference) and the server process behind it. On a shared host the throughput ratio moves
// by several points from run to run; CPU per call at the same rate moves much less, and does not
// depend on how much faster the other side runs (a pipe writer at a higher rate wakes its reader
// less often per message).
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
import { sampleProcess } from '../../src/runtime/process/sampler.js';
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
/** The fixed rate of the CPU rows (calls/s, 16 in flight): below what either side answers on 2 cores. */
const FIXED_RATE = 2_000;
const FIXED_DURATION_S = 8;

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

/** autocannon against one URL, in its own process (so it never shares the server's event loop); `rate` caps calls/s. */
async function load(url: string, connections: number, durationS: number, rate?: number): Promise<Load> {
  const { stdout } = await run(
    process.execPath,
    [
      autocannon,
      '--json',
      '-c',
      String(connections),
      '-d',
      String(durationS),
      ...(rate === undefined ? [] : ['-R', String(rate)]),
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
      '-b',
      JSON.stringify({ message: 'hi' }),
      url,
    ],
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

/** CPU seconds this process and the server process `pid` have used so far. */
function cpuNow(pid: number | undefined): { own: number; server: number | undefined } {
  const { user, system } = process.cpuUsage();
  return { own: (user + system) / 1e6, server: pid === undefined ? undefined : sampleProcess(pid)?.cpuSeconds };
}

/** The reference: Hono → one SDK client → the server, nothing else. */
async function startReference(): Promise<{ url: string; serverPid: () => number | undefined; close: () => Promise<void> }> {
  const client = new Client({ name: 'bench-reference', version: '0.0.0' });
  const transport = new StdioClientTransport({ command: process.execPath, args: [fixture, 'stdio'], stderr: 'ignore' });
  await client.connect(transport);
  const app = new Hono();
  app.post('/tools/:name', async (c) => c.json(await client.callTool({ name: c.req.param('name'), arguments: await c.req.json<Record<string, unknown>>() })));
  const server = await new Promise<ServerType>((resolve) => {
    const listening = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(listening));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    serverPid: () => transport.pid ?? undefined,
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
    let reference: Awaited<ReturnType<typeof startReference>> | undefined;
    try {
      service = await startService({ configPath, port: 0 });
      await service.supervisor.ready(SERVER_ID, 20_000);
      reference = await startReference();
      const { supervisor } = service;
      const targets = [
        { label: 'bare Hono + SDK client (reference)', url: `${reference.url}/tools/echo`, serverPid: reference.serverPid },
        {
          label: 'mcp-supervisor POST /actors/:id/tools/echo',
          url: `${service.url}/actors/${SERVER_ID}/tools/echo`,
          serverPid: () => supervisor.connection(SERVER_ID).getSnapshot().context.session?.pid,
        },
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

      // The same calls at one fixed rate: CPU per call of each side.
      const perCall: Array<{ own: number; server: number | undefined }> = [];
      for (const target of targets) {
        const pid = target.serverPid();
        const before = cpuNow(pid);
        const result = await load(target.url, 16, FIXED_DURATION_S, FIXED_RATE);
        const after = cpuNow(pid);
        const calls = Math.max(1, result.total);
        const cost = {
          own: ((after.own - before.own) / calls) * 1e6,
          server: after.server === undefined || before.server === undefined ? undefined : ((after.server - before.server) / calls) * 1e6,
        };
        perCall.push(cost);
        const scenario = `load, ${FIXED_RATE} calls/s asked, 16 in flight, ${FIXED_DURATION_S} s: ${target.label}`;
        const held = `${round(result.requestsPerSecond, 0)} calls/s held, ${result.errors} errors, ${result.non2xx} non-2xx`;
        rows.push(
          { scenario, metric: 'CPU per call, this process', value: round(cost.own, 1), unit: 'µs', note: `${held}; the service or the reference, with autocannon in its own process` },
          { scenario, metric: 'CPU per call, the server process', value: cost.server === undefined ? Number.NaN : round(cost.server, 1), unit: 'µs', note: 'the stdio fixture server behind it (/proc, clock ticks)' },
        );
      }
      const [bare, ours] = perCall;
      if (bare && ours) {
        rows.push({
          scenario: `load, ${FIXED_RATE} calls/s asked: mcp-supervisor against the reference`,
          metric: 'CPU per call ratio, this process',
          value: round(ours.own / bare.own, 2),
          unit: '×',
          note: `${round(ours.own - bare.own, 0)} µs a call more`,
        });
      }
      return rows;
    } finally {
      await reference?.close().catch(() => undefined);
      await service?.close();
      await rm(directory, { recursive: true, force: true });
    }
  },
};
