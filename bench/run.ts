// Speed goals of the connection actor, measured on real processes over loopback. Prints a
// markdown table and writes JSON to bench/results/. Every scenario is bounded in count and time.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { waitFor } from 'xstate';
import { openSession } from '../src/actors/session.js';
import { createConnection, connectionStateOf } from '../src/index.js';
import type { ConnectionState, ManagedConnection } from '../src/index.js';

const fixture = fileURLToPath(new URL('../test/fixtures/fixture-server.mjs', import.meta.url));
const stdioTarget = { type: 'stdio' as const, command: process.execPath, args: [fixture, 'stdio'] };

interface Row {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  goal: string;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

async function stdioPing(count = 2_000): Promise<Row[]> {
  const controller = new AbortController();
  const session = await openSession(stdioTarget, { signal: controller.signal });
  try {
    // A fresh signal per probe, as the machine gives each probe actor its own.
    for (let index = 0; index < 100; index += 1) await session.probe('ping', new AbortController().signal);
    const samples: number[] = [];
    for (let index = 0; index < count; index += 1) {
      const started = performance.now();
      await session.probe('ping', new AbortController().signal);
      samples.push(performance.now() - started);
    }
    return [
      { scenario: `stdio ping ×${count}`, metric: 'p50', value: round(percentile(samples, 50)), unit: 'ms', goal: '< 1 ms' },
      { scenario: `stdio ping ×${count}`, metric: 'p95', value: round(percentile(samples, 95)), unit: 'ms', goal: '< 1 ms' },
      { scenario: `stdio ping ×${count}`, metric: 'mean', value: round(samples.reduce((sum, value) => sum + value, 0) / samples.length), unit: 'ms', goal: '< 1 ms' },
      { scenario: `stdio ping ×${count}`, metric: 'p99', value: round(percentile(samples, 99)), unit: 'ms', goal: 'tail: scheduling and GC on 2 cores' },
    ];
  } finally {
    await session.close();
  }
}

async function waitForStateEntry(connection: ManagedConnection, state: ConnectionState, timeout: number): Promise<number> {
  await waitFor(connection.actor, (snapshot) => connectionStateOf(snapshot) === state, { timeout });
  return performance.now();
}

async function killDetection(runs = 10): Promise<Row[]> {
  const detect: number[] = [];
  const recover: number[] = [];
  // Probes a minute apart: detection can only come from the child's exit.
  const connection = createConnection({
    id: 'bench-kill',
    target: stdioTarget,
    settings: { healthyIntervalMs: 60_000, stableIntervalMs: 60_000, initialBackoffMs: 1, maxBackoffMs: 1 },
  });
  try {
    await connection.ready(10_000);
    for (let run = 0; run < runs; run += 1) {
      const pid = connection.snapshot.context.session?.pid;
      if (pid === undefined) throw new Error('no pid');
      const killedAt = performance.now();
      process.kill(pid, 'SIGKILL');
      detect.push((await waitForStateEntry(connection, 'reconnecting', 5_000)) - killedAt);
      recover.push((await waitForStateEntry(connection, 'healthy', 10_000)) - killedAt);
    }
  } finally {
    await connection.dispose();
  }
  return [
    { scenario: `stdio SIGKILL ×${runs}`, metric: 'to reconnecting p50', value: round(percentile(detect, 50), 1), unit: 'ms', goal: 'no probe wait (probe interval 60 s)' },
    { scenario: `stdio SIGKILL ×${runs}`, metric: 'to reconnecting max', value: round(Math.max(...detect), 1), unit: 'ms', goal: 'no probe wait (probe interval 60 s)' },
    { scenario: `stdio SIGKILL ×${runs}`, metric: 'to healthy p50', value: round(percentile(recover, 50), 1), unit: 'ms', goal: 'spawn + handshake' },
  ];
}

async function main(): Promise<void> {
  const rows = [...(await stdioPing()), ...(await killDetection())];
  const table = [
    '| scenario | metric | value | goal |',
    '|---|---|---|---|',
    ...rows.map((row) => `| ${row.scenario} | ${row.metric} | ${row.value} ${row.unit} | ${row.goal} |`),
  ].join('\n');
  process.stdout.write(`${table}\n`);
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem() };
  const directory = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(directory, { recursive: true });
  const file = `${directory}connection-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  await writeFile(file, `${JSON.stringify({ at: new Date().toISOString(), machine, rows }, null, 2)}\n`);
  process.stdout.write(`\nwrote ${file}\n`);
}

await main();
