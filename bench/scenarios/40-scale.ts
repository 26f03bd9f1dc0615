// How far one process scales: 1000 and 10 000 connections to in-process servers under one
// supervisor. Memory per connection, CPU per probe, event-loop delay while probing, and what
// the API costs at that size (GET /actors, a /metrics scrape), each size next to a bare fleet of
// the same size measured in the same run.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ServerDefinition } from '../../src/config/load.js';
import { createApp } from '../../src/http/app.js';
import { createMetrics } from '../../src/observe/metrics.js';
import { resolveSettings } from '../../src/core/settings.js';
import { Supervisor } from '../../src/fleet/supervisor.js';
import { percentile, round, until } from '../harness.js';
import type { Row, Scenario } from '../harness.js';

const PROBE_INTERVAL_MS = 5_000;
const WINDOW_MS = 6_000;
const CAP = 64;

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** CPU time spent and event-loop delay seen over one WINDOW_MS of whatever runs meanwhile. */
async function measureWindow(): Promise<{ delay: IntervalHistogram; cpuMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const cpuBefore = process.cpuUsage();
  const windowStart = performance.now();
  await until(() => performance.now() - windowStart >= WINDOW_MS, WINDOW_MS + 5_000, 100);
  const cpu = process.cpuUsage(cpuBefore);
  delay.disable();
  return { delay, cpuMs: (cpu.user + cpu.system) / 1_000 };
}

async function timeEach(count: number, work: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  return samples;
}

async function measure(count: number): Promise<Row[]> {
  const scenario = `scale: ${count} in-process connections`;
  const settings = resolveSettings({ healthyIntervalMs: PROBE_INTERVAL_MS, stableIntervalMs: PROBE_INTERVAL_MS, connectTimeoutMs: 120_000 });
  const servers: ServerDefinition[] = Array.from({ length: count }, (_, index) => ({
    id: `s${index}`,
    target: { type: 'memory', createServer: () => new McpServer({ name: `scale-${index}`, version: '1.0.0' }) },
    priority: 0,
    dependsOn: [],
    required: true,
    disabled: false,
    settings,
  }));
  collectGarbage();
  const before = process.memoryUsage();
  const started = performance.now();
  const supervisor = new Supervisor({ maxConcurrentReconnects: CAP, servers }, { flap: { flapLimit: 1_000 }, panic: { threshold: 1 } });
  try {
    let healthy = 0;
    supervisor.actor.on('*', (event) => {
      if (event.type === 'state.changed') healthy += (event.to === 'healthy' ? 1 : 0) - (event.from === 'healthy' ? 1 : 0);
    });
    await until(() => healthy === count, 300_000, 50);
    const upMs = performance.now() - started;
    collectGarbage();
    const after = process.memoryUsage();

    let probes = 0;
    supervisor.actor.on('probe.completed', () => {
      probes += 1;
    });
    const { delay, cpuMs } = await measureWindow();

    const app = createApp({ supervisor });
    const actorsMs = await timeEach(20, async () => (await app.request('/actors')).text());
    const metrics = createMetrics(supervisor, { defaultMetrics: false });
    await turn();
    const scrapeMs = await timeEach(10, () => metrics.render());
    metrics.close();

    return [
      { scenario, metric: 'all healthy after start', value: round(upMs, 0), unit: 'ms', note: `cap ${CAP}` },
      { scenario, metric: 'heap per connection', value: round((after.heapUsed - before.heapUsed) / count / 1024), unit: 'KiB', note: 'actor + SDK client + in-process server' },
      { scenario, metric: 'RSS per connection', value: round((after.rss - before.rss) / count / 1024), unit: 'KiB' },
      { scenario, metric: 'probes in window', value: probes, unit: '', note: `${WINDOW_MS / 1000} s window, probe every ${PROBE_INTERVAL_MS / 1000} s` },
      { scenario, metric: 'CPU per probe', value: round((cpuMs / Math.max(1, probes)) * 1000, 1), unit: 'µs', note: 'client + server in one process' },
      { scenario, metric: 'CPU per probe round', value: round((cpuMs / Math.max(1, probes)) * count, 0), unit: 'ms' },
      {
        scenario,
        metric: 'event-loop delay p99 while probing',
        // No sample at all means the loop never got to run the monitor's timer: saturated.
        value: delay.count > 0 ? round(delay.percentile(99) / 1e6, 1) : Number.NaN,
        unit: 'ms',
        note: delay.count > 0 ? `max ${round(delay.max / 1e6, 1)} ms` : 'no sample: the loop was saturated',
      },
      { scenario, metric: 'GET /actors p50', value: round(percentile(actorsMs, 50), 1), unit: 'ms' },
      { scenario, metric: 'GET /actors p99', value: round(percentile(actorsMs, 99), 1), unit: 'ms' },
      { scenario, metric: '/metrics scrape p50', value: round(percentile(scrapeMs, 50), 1), unit: 'ms', note: 'without Node default metrics' },
    ];
  } finally {
    await supervisor.stop(300_000);
  }
}

/**
 * The physical reference at the same N: N SDK v2 clients, each connected in-process to its own
 * server, pinged every PROBE_INTERVAL_MS by plain timers: no actors, no supervisor. What a fleet
 * costs before anything of ours is added.
 */
async function measureBare(count: number): Promise<Row[]> {
  const scenario = `scale: bare fleet of ${count} (SDK clients + plain timers, no actors)`;
  collectGarbage();
  const before = process.memoryUsage();
  const started = performance.now();
  const clients: Client[] = [];
  for (let index = 0; index < count; index += 1) {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await new McpServer({ name: `bare-${index}`, version: '1.0.0' }).connect(serverSide);
    const client = new Client({ name: 'bare', version: '1.0.0' }, { capabilities: {} });
    await client.connect(clientSide);
    clients.push(client);
  }
  const upMs = performance.now() - started;
  collectGarbage();
  const after = process.memoryUsage();
  let pings = 0;
  // Spread like the actors' first probes: each client on its own phase of the interval.
  const timers = clients.map((client, index) => {
    const ping = (): void => void client.ping().then(() => (pings += 1), () => undefined);
    const phase = setTimeout(() => {
      ping();
      timers[index] = setInterval(ping, PROBE_INTERVAL_MS);
    }, (index * PROBE_INTERVAL_MS) / count);
    return phase;
  });
  try {
    const { delay, cpuMs } = await measureWindow();
    return [
      { scenario, metric: 'all connected after start', value: round(upMs, 0), unit: 'ms', note: 'one at a time' },
      { scenario, metric: 'heap per connection', value: round((after.heapUsed - before.heapUsed) / count / 1024), unit: 'KiB', note: 'SDK client + in-process server' },
      { scenario, metric: 'pings in window', value: pings, unit: '', note: `${WINDOW_MS / 1000} s window, ping every ${PROBE_INTERVAL_MS / 1000} s` },
      { scenario, metric: 'CPU per ping', value: round((cpuMs / Math.max(1, pings)) * 1000, 1), unit: 'µs', note: 'client + server in one process' },
      { scenario, metric: 'event-loop delay p99 while pinging', value: delay.count > 0 ? round(delay.percentile(99) / 1e6, 1) : Number.NaN, unit: 'ms' },
    ];
  } finally {
    for (const timer of timers) {
      clearTimeout(timer);
      clearInterval(timer);
    }
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  }
}

/** `SCALE_COUNTS=1000` (comma-separated) runs fewer sizes; default 1000 and 10 000. */
const COUNTS = (process.env.SCALE_COUNTS ?? '1000,10000').split(',').map(Number).filter((value) => Number.isInteger(value) && value > 0);

export const scenario: Scenario = {
  name: 'scale',
  async run(): Promise<Row[]> {
    const rows: Row[] = [];
    // The reference first at each size, then ours, in the same run.
    for (const count of COUNTS) rows.push(...(await measureBare(count)), ...(await measure(count)));
    return rows;
  },
};
