// What one probe costs: MCP ping over a real stdio child on this machine.
import { fileURLToPath } from 'node:url';
import { openSession } from '../../src/runtime/session.js';
import { mean, percentile, round } from '../harness.js';
import type { Row, Scenario } from '../harness.js';

const fixture = fileURLToPath(new URL('../../fixtures/fixture-server.mjs', import.meta.url));
const COUNT = 2_000;

export const scenario: Scenario = {
  name: 'stdio ping cost',
  async run(): Promise<Row[]> {
    const session = await openSession({ type: 'stdio', command: process.execPath, args: [fixture, 'stdio'] }, { signal: new AbortController().signal });
    try {
      // A fresh signal per probe, as the machine gives each probe actor its own.
      for (let index = 0; index < 100; index += 1) await session.probe('ping', new AbortController().signal);
      const samples: number[] = [];
      for (let index = 0; index < COUNT; index += 1) {
        const started = performance.now();
        await session.probe('ping', new AbortController().signal);
        samples.push(performance.now() - started);
      }
      const scenario = `stdio ping ×${COUNT}`;
      return [
        { scenario, metric: 'p50', value: round(percentile(samples, 50), 3), unit: 'ms', bound: '< 1 ms' },
        { scenario, metric: 'p95', value: round(percentile(samples, 95), 3), unit: 'ms', bound: '< 1 ms' },
        { scenario, metric: 'p99', value: round(percentile(samples, 99), 3), unit: 'ms', note: 'tail: scheduling and GC on 2 cores' },
        { scenario, metric: 'mean', value: round(mean(samples), 3), unit: 'ms', bound: '< 1 ms' },
      ];
    } finally {
      await session.close();
    }
  },
};
