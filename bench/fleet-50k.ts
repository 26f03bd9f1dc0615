// One fleet of SCALE_50K_COUNT (default 50 000) in-process connections probed every 60 s, run as
// a child process of the bench (41-scale-50k.ts) so that running out of memory ends this process,
// not the bench, and the bench can say what gave out. Prints one JSON line with what it measured.
import { getHeapStatistics } from 'node:v8';
import { resolveSettings } from '../src/core/settings.js';
import { Supervisor } from '../src/fleet/supervisor.js';
import { until } from './harness.js';
import { loopDelayOf, startLoopMonitor } from './loop-delay.js';
import { LARGE_FLEET_OPTIONS, memoryServers } from './memory-fleet.js';

const count = Number(process.env.SCALE_50K_COUNT ?? 50_000);
const PROBE_INTERVAL_MS = 60_000;
const CAP = 64;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const report = (fields: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(fields)}\n`);
};

const settings = resolveSettings({ healthyIntervalMs: PROBE_INTERVAL_MS, stableIntervalMs: PROBE_INTERVAL_MS, degradedIntervalMs: PROBE_INTERVAL_MS, connectTimeoutMs: 600_000 });
const servers = memoryServers(count, settings, 'fleet');
gc();
const before = process.memoryUsage();
const started = performance.now();
const supervisor = new Supervisor({ maxConcurrentReconnects: CAP, servers }, LARGE_FLEET_OPTIONS);
let healthy = 0;
supervisor.actor.on('*', (event) => {
  if (event.type === 'state.changed') healthy += (event.to === 'healthy' ? 1 : 0) - (event.from === 'healthy' ? 1 : 0);
});
// Progress on stderr, so a run that gives out says how far it got.
const progress = setInterval(() => process.stderr.write(`fleet-50k: ${healthy} healthy, heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB\n`), 10_000);
try {
  await until(() => healthy === count, 900_000, 100);
} catch {
  report({ count, gaveOut: `only ${healthy} of ${count} healthy after 900 s`, heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20) });
  process.exit(0);
}
const upMs = performance.now() - started;
gc();
const after = process.memoryUsage();

// One probe interval to settle before the window opens: the forced GC above stalls the loop, and
// the probe timers that fell due meanwhile then run in one turn; the window is for the steady state
// (as in 40-scale.ts).
await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
let probes = 0;
supervisor.actor.on('probe.completed', () => {
  probes += 1;
});
const monitor = startLoopMonitor();
const cpuBefore = process.cpuUsage();
const windowStart = performance.now();
await until(() => performance.now() - windowStart >= PROBE_INTERVAL_MS, PROBE_INTERVAL_MS + 10_000, 200);
const cpu = process.cpuUsage(cpuBefore);
monitor.disable();
const delay = loopDelayOf(monitor);
clearInterval(progress);
const cpuMs = (cpu.user + cpu.system) / 1_000;
report({
  count,
  upMs: Math.round(upMs),
  heapPerConnectionKiB: Number(((after.heapUsed - before.heapUsed) / count / 1024).toFixed(1)),
  rssMiB: Math.round(after.rss / 2 ** 20),
  heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
  probes,
  cpuPerProbeUs: Number(((cpuMs / Math.max(1, probes)) * 1000).toFixed(1)),
  cpuShareOfOneCore: Number((cpuMs / PROBE_INTERVAL_MS).toFixed(3)),
  // How late the monitor's timer ran, and its own interval reading (bench/loop-delay.ts).
  loopDelayP99Ms: delay ? Number(delay.p99Ms.toFixed(1)) : null,
  loopIntervalP99Ms: delay ? Number(delay.intervalP99Ms.toFixed(1)) : null,
});
// Stopping is measured too, bounded: a fleet this size that cannot stop in time is reported, not waited for.
const stopStarted = performance.now();
const STOP_BUDGET_MS = 120_000;
// The parent ends this process if stop() holds the event loop past the budget (then the timer
// below cannot fire: the supervisor actor's stop is synchronous).
report({ stopping: true });
const stopped = await Promise.race([
  supervisor.stop(STOP_BUDGET_MS).then(() => true),
  new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_BUDGET_MS + 5_000)),
]).catch(() => false);
report(stopped ? { stopMs: Math.round(performance.now() - stopStarted) } : { stopGaveOut: `stop() did not finish within ${STOP_BUDGET_MS / 1000} s` });
process.exit(0);
