// How soon a fault is noticed, and how soon the connection is healthy once the server is back:
// real processes and loopback HTTP, each fault once at the default settings and three times at a
// fast profile (1 s probes). Every number is printed next to the bound the settings allow.
import { fileURLToPath } from 'node:url';
import type { ServerTarget } from '../../src/core/target.js';
import { createConnection } from '../../src/fleet/connection.js';
import type { ManagedConnection } from '../../src/fleet/connection.js';
import type { ConnectionState } from '../../src/core/states.js';
import { resolveSettings } from '../../src/core/settings.js';
import type { ConnectionSettings } from '../../src/core/settings.js';
import { startFaultProxy } from '../../src/testing/fault-proxy.js';
import type { FaultProxy } from '../../src/testing/fault-proxy.js';
import { startHttpFixture } from '../../fixtures/http-fixture.js';
import type { HttpFixture } from '../../fixtures/http-fixture.js';
import { percentile, round, until } from '../harness.js';
import type { Row, Scenario } from '../harness.js';

const fixture = fileURLToPath(new URL('../../fixtures/fixture-server.mjs', import.meta.url));
const STDIN_GRACE_MS = 500;

interface Profile {
  name: string;
  settings: ConnectionSettings;
  runs: number;
  /** Added latency that is slow but answers within the probe deadline. */
  slowMs: number;
}

const PROFILES: Profile[] = [
  { name: 'default', settings: resolveSettings(), runs: 1, slowMs: 1_500 },
  {
    name: 'fast (1 s probes)',
    settings: resolveSettings({ healthyIntervalMs: 1_000, stableIntervalMs: 1_000, degradedIntervalMs: 1_000, pingTimeoutMs: 1_000, degradedLatencyMs: 300 }),
    runs: 3,
    slowMs: 500,
  },
];

/** Times every state entry of one connection, from a chosen zero. */
class Timeline {
  readonly entries: Array<{ state: ConnectionState; at: number }> = [];
  readonly connection: ManagedConnection;

  constructor(id: string, target: ServerTarget, settings: ConnectionSettings) {
    this.connection = createConnection({ id, target, settings, onTransition: (change) => this.entries.push({ state: change.to, at: performance.now() }) });
  }

  /** When `state` was first entered after `since`. */
  async entered(state: ConnectionState, since: number, timeoutMs: number): Promise<number> {
    const find = (): number | undefined => this.entries.find((entry) => entry.state === state && entry.at >= since)?.at;
    await until(() => find() !== undefined, timeoutMs, 5);
    return find() ?? Number.NaN;
  }

  /** The first state change after `since`. */
  async firstChange(since: number, timeoutMs: number): Promise<{ state: ConnectionState; at: number }> {
    await until(() => this.entries.some((entry) => entry.at >= since), timeoutMs, 5);
    const entry = this.entries.find((candidate) => candidate.at >= since);
    if (!entry) throw new Error('no change');
    return entry;
  }
}

interface Measurement {
  firstChangeMs: number;
  firstState: string;
  reconnectingMs: number;
  recoveryMs: number;
}

interface Fault {
  name: string;
  /** What the settings allow, as text and as a number (ms) for the first change and for `reconnecting`. */
  bounds(settings: ConnectionSettings, slowMs: number): { first: number; reconnecting: number | undefined; text: string };
  measure(profile: Profile, run: number): Promise<Measurement>;
}

/** Worst case until the next probe starts: the healthy interval fully stretched. */
const nextProbe = (settings: ConnectionSettings): number => Math.max(settings.stableIntervalMs, settings.healthyIntervalMs);
const zombieAfterFirstMiss = (settings: ConnectionSettings): number => (settings.zombieAfter - 1) * (settings.degradedIntervalMs + settings.pingTimeoutMs);

const stdioTarget = (): ServerTarget => ({ type: 'stdio', command: process.execPath, args: [fixture, 'stdio'] });

const faults: Fault[] = [
  {
    name: 'stdio process killed',
    // A probe would come `healthyIntervalMs` later at the earliest: anything far below is the exit event.
    bounds: (settings) => ({ first: settings.healthyIntervalMs, reconnecting: settings.healthyIntervalMs, text: 'no probe wait: the child exit is the evidence (bound = the next probe)' }),
    async measure(profile, run) {
      const timeline = new Timeline(`kill-${run}`, stdioTarget(), profile.settings);
      try {
        await timeline.connection.ready(20_000);
        const pid = timeline.connection.snapshot.context.session?.pid ?? -1;
        const faultAt = performance.now();
        process.kill(pid, 'SIGKILL');
        const reconnecting = await timeline.entered('reconnecting', faultAt, 10_000);
        // The command is still there: the server is "back" as soon as it can be spawned again.
        const healthy = await timeline.entered('healthy', reconnecting, 30_000);
        return { firstChangeMs: reconnecting - faultAt, firstState: 'reconnecting', reconnectingMs: reconnecting - faultAt, recoveryMs: healthy - reconnecting };
      } finally {
        await timeline.connection.dispose();
      }
    },
  },
  {
    name: 'stdio SIGSTOP',
    bounds: (settings) => {
      const first = nextProbe(settings) + settings.pingTimeoutMs;
      return { first, reconnecting: first + zombieAfterFirstMiss(settings) + STDIN_GRACE_MS, text: 'interval + ping timeout; + (zombieAfter−1)×(degraded interval + ping timeout) + teardown' };
    },
    async measure(profile, run) {
      const timeline = new Timeline(`sigstop-${run}`, stdioTarget(), profile.settings);
      try {
        await timeline.connection.ready(20_000);
        const pid = timeline.connection.snapshot.context.session?.pid ?? -1;
        const faultAt = performance.now();
        process.kill(pid, 'SIGSTOP');
        const first = await timeline.firstChange(faultAt, 120_000);
        const reconnecting = await timeline.entered('reconnecting', faultAt, 120_000);
        // The teardown killed the stopped process; the fresh one is the server being back.
        const healthy = await timeline.entered('healthy', reconnecting, 30_000);
        return { firstChangeMs: first.at - faultAt, firstState: first.state, reconnectingMs: reconnecting - faultAt, recoveryMs: healthy - reconnecting };
      } finally {
        await timeline.connection.dispose();
      }
    },
  },
  {
    name: 'HTTP server stopped',
    bounds: (settings) => ({ first: nextProbe(settings), reconnecting: nextProbe(settings), text: 'event stream breaks at once; at worst the next probe is refused' }),
    async measure(profile, run) {
      let server: HttpFixture | undefined = await startHttpFixture();
      const { port } = server;
      const timeline = new Timeline(`http-stop-${run}`, { type: 'streamable-http', url: server.mcpUrl }, profile.settings);
      try {
        await timeline.connection.ready(20_000);
        const faultAt = performance.now();
        await server.stop();
        server = undefined;
        const reconnecting = await timeline.entered('reconnecting', faultAt, 120_000);
        server = await startHttpFixture({ port });
        const backAt = performance.now();
        const healthy = await timeline.entered('healthy', backAt, 180_000);
        return { firstChangeMs: reconnecting - faultAt, firstState: 'reconnecting', reconnectingMs: reconnecting - faultAt, recoveryMs: healthy - backAt };
      } finally {
        await timeline.connection.dispose();
        await server?.stop();
      }
    },
  },
  {
    name: 'HTTP blackhole (fault proxy)',
    bounds: (settings) => {
      const first = nextProbe(settings) + settings.pingTimeoutMs;
      return { first, reconnecting: first + zombieAfterFirstMiss(settings), text: 'interval + ping timeout; + (zombieAfter−1)×(degraded interval + ping timeout)' };
    },
    async measure(profile, run) {
      return throughProxy(profile, `blackhole-${run}`, [{ type: 'blackhole' }], true);
    },
  },
  {
    name: 'HTTP latency above degradedLatencyMs (fault proxy)',
    bounds: (settings, slowMs) => ({ first: nextProbe(settings) + slowMs, reconnecting: undefined, text: 'interval + the slow answer itself' }),
    async measure(profile, run) {
      return throughProxy(profile, `latency-${run}`, [{ type: 'latency', latencyMs: profile.slowMs }], false);
    },
  },
];

async function throughProxy(profile: Profile, id: string, toxics: Parameters<FaultProxy['setToxics']>[0], expectReconnect: boolean): Promise<Measurement> {
  const server = await startHttpFixture();
  const proxy = await startFaultProxy({ upstream: { port: server.port } });
  const timeline = new Timeline(id, { type: 'streamable-http', url: proxy.url('/mcp') }, { ...profile.settings, connectTimeoutMs: Math.max(5_000, profile.settings.pingTimeoutMs * 2) });
  try {
    await timeline.connection.ready(20_000);
    const faultAt = performance.now();
    proxy.setToxics(toxics);
    const first = await timeline.firstChange(faultAt, 120_000);
    const reconnecting = expectReconnect ? await timeline.entered('reconnecting', faultAt, 120_000) : Number.NaN;
    proxy.clear();
    const backAt = performance.now();
    const healthy = await timeline.entered('healthy', backAt, 180_000);
    return { firstChangeMs: first.at - faultAt, firstState: first.state, reconnectingMs: reconnecting - faultAt, recoveryMs: healthy - backAt };
  } finally {
    await timeline.connection.dispose();
    await proxy.close();
    await server.stop();
  }
}

export const scenario: Scenario = {
  name: 'detection and recovery',
  async run(): Promise<Row[]> {
    const rows: Row[] = [];
    for (const profile of PROFILES) {
      for (const fault of faults) {
        const measurements: Measurement[] = [];
        for (let run = 0; run < profile.runs; run += 1) measurements.push(await fault.measure(profile, run));
        const bound = fault.bounds(profile.settings, profile.slowMs);
        const scenario = `${fault.name} — ${profile.name}`;
        const worst = (pick: (measurement: Measurement) => number): number => Math.max(...measurements.map(pick));
        const runs = measurements.length > 1 ? ` (max of ${measurements.length})` : '';
        rows.push({
          scenario,
          metric: `first state change${runs}`,
          value: round(worst((measurement) => measurement.firstChangeMs), 0),
          unit: 'ms',
          // The bounds are what the settings allow; timers and I/O add a few ms on top.
          bound: `≤ ${bound.first} ms`,
          note: `→ ${[...new Set(measurements.map((measurement) => measurement.firstState))].join('/')}; ${bound.text}`,
        });
        if (bound.reconnecting !== undefined) {
          rows.push({ scenario, metric: `to reconnecting${runs}`, value: round(worst((measurement) => measurement.reconnectingMs), 0), unit: 'ms', bound: `≤ ${bound.reconnecting} ms` });
        }
        rows.push({
          scenario,
          metric: `back to healthy (p50 of ${measurements.length})`,
          value: round(percentile(measurements.map((measurement) => measurement.recoveryMs), 50), 0),
          unit: 'ms',
          note: 'from the server being back (stdio: from reconnecting)',
        });
      }
    }
    return rows;
  },
};

