// What going through mcp-supervisor costs per tool call: `echo` on a stdio fixture server called
// (a) directly with the SDK (`Client` + `StdioClientTransport`, its own fixture process),
// (b) through the library (`supervisor.callTool`, same process as the actors), and
// (c) through a running service's HTTP API (`POST /actors/:id/tools/echo` over 127.0.0.1), the
//     HTTP client running in a worker thread so that it does not share the service's event loop,
// in the same run, at 1 and 16 calls in flight, a fixed number of calls each after a warm-up.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startService } from '../../src/service/service.js';
import type { RunningService } from '../../src/service/service.js';
import { percentile, round } from '../harness.js';
import type { Row, Scenario } from '../harness.js';

const fixture = fileURLToPath(new URL('../../fixtures/fixture-server.mjs', import.meta.url));
const SERVER_ID = 'fx';
const COUNT = 2_000;
const WARMUP = 200;
const CONCURRENCY = [1, 16] as const;
/** Per call; a call slower than this fails the scenario instead of hanging it. */
const CALL_TIMEOUT_MS = 10_000;
/** Each measured batch must finish within this. */
const BATCH_DEADLINE_MS = 60_000;

type Call = (message: string) => Promise<void>;

/** The HTTP client: a worker thread with its own event loop, like an agent process calling the service. */
const HTTP_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { endpoint, count, warmup, inFlight, timeoutMs } = workerData;
const textOf = (body) => body && Array.isArray(body.content) && body.content[0] && body.content[0].text;
async function call(message) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await response.json();
  if (!response.ok || textOf(body) !== message) throw new Error('http: ' + response.status + ' ' + JSON.stringify(body));
}
async function batch(total) {
  const samples = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const index = next++;
      const started = performance.now();
      await call('m' + index);
      samples.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { samples, wallMs: performance.now() - started };
}
(async () => {
  // The worker's own warm-up (connections, JIT), not measured.
  if (warmup > 0) await batch(warmup);
  parentPort.postMessage(await batch(count));
})().catch((error) => parentPort.postMessage({ error: String(error && error.stack || error) }));
`;

/** Runs one batch of HTTP calls (after its own warm-up) in a fresh worker thread; the worker is always terminated. */
async function runHttpBatch(endpoint: string, count: number, inFlight: number): Promise<Batch> {
  const worker = new Worker(HTTP_WORKER, { eval: true, workerData: { endpoint, count, warmup: WARMUP, inFlight, timeoutMs: CALL_TIMEOUT_MS } });
  let timer: NodeJS.Timeout | undefined;
  try {
    const message = await new Promise<Batch | { error: string }>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`HTTP batch did not finish within ${BATCH_DEADLINE_MS} ms`)), BATCH_DEADLINE_MS);
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`HTTP worker exited with ${code}`)));
    });
    if ('error' in message) throw new Error(message.error);
    return message;
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}

interface Batch {
  samples: number[];
  wallMs: number;
}

/** Runs `count` calls with `inFlight` workers pulling from one counter; one latency sample per call. */
async function runBatch(call: Call, count: number, inFlight: number): Promise<Batch> {
  const samples: number[] = [];
  let next = 0;
  const deadline = performance.now() + BATCH_DEADLINE_MS;
  const worker = async (): Promise<void> => {
    while (next < count) {
      if (performance.now() > deadline) throw new Error(`batch did not finish within ${BATCH_DEADLINE_MS} ms`);
      const index = next++;
      const started = performance.now();
      await call(`m${index}`);
      samples.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { samples, wallMs: performance.now() - started };
}

function textOf(result: unknown): string | undefined {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content;
  return content?.[0]?.type === 'text' ? content[0].text : undefined;
}

export const scenario: Scenario = {
  name: 'proxy overhead: echo direct vs through mcp-supervisor',
  async run(): Promise<Row[]> {
    const directory = await mkdtemp(join(tmpdir(), 'mcp-supervisor-bench-proxy-'));
    const configPath = join(directory, 'mcp.json');
    await writeFile(configPath, `${JSON.stringify({ mcpServers: { [SERVER_ID]: { command: process.execPath, args: [fixture, 'stdio'] } } }, null, 2)}\n`);

    let service: RunningService | undefined;
    const client = new Client({ name: 'bench-direct', version: '0.0.0' });
    const transport = new StdioClientTransport({ command: process.execPath, args: [fixture, 'stdio'], stderr: 'ignore' });
    try {
      service = await startService({ configPath, port: 0 });
      await client.connect(transport);
      await service.supervisor.ready(SERVER_ID, 20_000);
      const { url, supervisor } = service;

      const direct: Call = async (message) => {
        const result = await client.callTool({ name: 'echo', arguments: { message } }, undefined, { timeout: CALL_TIMEOUT_MS });
        if (textOf(result) !== message) throw new Error(`direct: unexpected result ${JSON.stringify(result)}`);
      };
      const library: Call = async (message) => {
        const result = await supervisor.callTool(SERVER_ID, 'echo', { message }, { timeoutMs: CALL_TIMEOUT_MS });
        if (textOf(result) !== message) throw new Error(`library: unexpected result ${JSON.stringify(result)}`);
      };
      const endpoint = `${url}/actors/${SERVER_ID}/tools/echo`;
      const modes: Array<{ key: string; label: string; batch: (count: number, inFlight: number) => Promise<Batch> }> = [
        { key: 'direct', label: 'direct SDK Client (stdio)', batch: (count, inFlight) => runBatch(direct, count, inFlight) },
        { key: 'library', label: 'supervisor.callTool (library)', batch: (count, inFlight) => runBatch(library, count, inFlight) },
        { key: 'http', label: 'POST /actors/:id/tools/echo (service, client in a worker)', batch: (count, inFlight) => runHttpBatch(endpoint, count, inFlight) },
      ];

      for (const mode of modes) await mode.batch(WARMUP, 4);

      const rows: Row[] = [];
      for (const inFlight of CONCURRENCY) {
        const p50s = new Map<string, number>();
        for (const mode of modes) {
          const { samples, wallMs } = await mode.batch(COUNT, inFlight);
          const p50 = percentile(samples, 50);
          p50s.set(mode.key, p50);
          const scenario = `echo ×${COUNT}, ${inFlight} in flight: ${mode.label}`;
          rows.push(
            { scenario, metric: 'p50', value: round(p50, 3), unit: 'ms' },
            { scenario, metric: 'p99', value: round(percentile(samples, 99), 3), unit: 'ms' },
            { scenario, metric: 'throughput', value: round((COUNT / wallMs) * 1_000, 0), unit: 'calls/s' },
          );
        }
        const scenario = `echo ×${COUNT}, ${inFlight} in flight: overhead vs direct SDK`;
        const directP50 = p50s.get('direct') ?? Number.NaN;
        rows.push(
          {
            scenario,
            metric: 'p50 library − direct',
            value: round((p50s.get('library') ?? Number.NaN) - directP50, 3),
            unit: 'ms',
            note: 'actor bookkeeping per call (state check, call.succeeded event, quality sample, call.completed event)',
          },
          {
            scenario,
            metric: 'p50 HTTP − direct',
            value: round((p50s.get('http') ?? Number.NaN) - directP50, 3),
            unit: 'ms',
            note: 'adds loopback HTTP (fetch keep-alive, a fresh worker per batch), Hono routing, zod validation, JSON in and out',
          },
        );
      }
      return rows;
    } finally {
      await client.close().catch(() => undefined);
      await service?.close();
      await rm(directory, { recursive: true, force: true });
    }
  },
};
