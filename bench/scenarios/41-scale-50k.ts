// 50 000 connections in one process, probed every 60 s: does it run, and what does it cost? Run in
// a child process (bench/fleet-50k.ts): if something gives out first (memory, time), the row says what.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Row, Scenario } from '../harness.js';
import { LOOP_MONITOR_RESOLUTION_MS } from '../loop-delay.js';

const child = fileURLToPath(new URL('../fleet-50k.ts', import.meta.url));
/** How long the child may take to stop its fleet before it is ended. */
const STOP_BUDGET_MS = 150_000;

export const scenario: Scenario = {
  name: 'scale 50 000',
  async run(): Promise<Row[]> {
    const scenario = `scale: ${process.env.SCALE_50K_COUNT ?? '50000'} in-process connections, probes every 60 s`;
    const { stdout, stderr, code, signal } = await new Promise<{ stdout: string; stderr: string; code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      const running = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
      let out = '';
      let err = '';
      let stopTimer: NodeJS.Timeout | undefined;
      running.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        // Stopping has a budget of its own, kept from here: the child's own timer cannot fire
        // while stop() holds its event loop.
        if (!stopTimer && out.includes('"stopping":true')) stopTimer = setTimeout(() => running.kill('SIGKILL'), STOP_BUDGET_MS);
      });
      running.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      // Bounded: 20 minutes at most.
      const timer = setTimeout(() => running.kill('SIGKILL'), 20 * 60_000);
      running.on('exit', (exitCode, exitSignal) => {
        clearTimeout(timer);
        clearTimeout(stopTimer);
        resolve({ stdout: out, stderr: err, code: exitCode, signal: exitSignal });
      });
    });
    // One JSON line with the measurements, then one about stopping.
    const lines = stdout.trim().split('\n').filter((text) => text.startsWith('{'));
    const measured = lines.length > 0 ? (Object.assign({}, ...lines.map((text) => JSON.parse(text))) as Record<string, number | string | null>) : undefined;
    if (!measured || typeof measured.gaveOut === 'string') {
      const what = typeof measured?.gaveOut === 'string' ? measured.gaveOut : `the child exited (code ${code}, signal ${signal}): ${stderr.trim().split('\n').slice(-3).join(' / ')}`;
      return [{ scenario, metric: 'gave out', value: Number.NaN, unit: '', note: what }];
    }
    const number = (key: string): number => (typeof measured[key] === 'number' ? (measured[key] as number) : Number.NaN);
    return [
      { scenario, metric: 'all healthy after start', value: number('upMs'), unit: 'ms', note: 'cap 64' },
      { scenario, metric: 'heap per connection', value: number('heapPerConnectionKiB'), unit: 'KiB', note: `heap limit ${number('heapLimitMiB')} MiB` },
      { scenario, metric: 'RSS', value: number('rssMiB'), unit: 'MiB' },
      { scenario, metric: 'probes in a 60 s window', value: number('probes'), unit: '' },
      { scenario, metric: 'CPU per probe', value: number('cpuPerProbeUs'), unit: 'µs' },
      { scenario, metric: 'CPU while probing', value: number('cpuShareOfOneCore'), unit: 'cores' },
      {
        scenario,
        metric: 'event-loop delay p99 while probing',
        value: number('loopDelayP99Ms'),
        unit: 'ms',
        note:
          typeof measured.loopIntervalP99Ms === 'number'
            ? `how late the monitor's ${LOOP_MONITOR_RESOLUTION_MS} ms timer ran (bench/loop-delay.ts); its interval p99 ${measured.loopIntervalP99Ms} ms`
            : 'no sample: the loop was saturated',
      },
      typeof measured.stopGaveOut === 'string'
        ? { scenario, metric: 'stop()', value: Number.NaN, unit: '', note: measured.stopGaveOut }
        : typeof measured.stopMs === 'number'
          ? { scenario, metric: 'stop()', value: measured.stopMs, unit: 'ms', note: 'every connection stopped and closed' }
          : // No line about stopping: the child was killed while stop() held its event loop (a
            // synchronous stop, as the supervisor's was when it had one child per server; its
            // own budget timer could not fire then).
            { scenario, metric: 'stop()', value: Number.NaN, unit: '', note: `did not finish within ${STOP_BUDGET_MS / 1000} s: stop() held the event loop (ended by ${signal ?? `code ${code}`})` },
    ];
  },
};
