// The reconnection storm: every server of a fleet fails at once. How long until all are healthy
// again, how many were ever in `connecting` at once (must be at most the cap), and how many
// attempts each needed — for caps 1, 4 and 16, on in-process servers and on real stdio processes.
import { fileURLToPath } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { InProcessServer, ServerTarget } from '../../src/core/target.js';
import type { ServerDefinition } from '../../src/config/load.js';
import type { ConnectionState } from '../../src/core/states.js';
import type { PanicSettings } from '../../src/core/policy/panic.js';
import { resolveSettings } from '../../src/core/settings.js';
import { Supervisor } from '../../src/fleet/supervisor.js';
import { mean, round, until } from '../harness.js';
import type { Row, Scenario } from '../harness.js';

const fixture = fileURLToPath(new URL('../../fixtures/fixture-server.mjs', import.meta.url));
const settings = resolveSettings({
  // Probes far apart: the storm is about reconnection, not probing.
  healthyIntervalMs: 60_000,
  stableIntervalMs: 60_000,
  initialBackoffMs: 50,
  maxBackoffMs: 1_000,
  connectTimeoutMs: 30_000,
});
const NO_PANIC: Partial<PanicSettings> = { threshold: 1 };

interface StormResult {
  recoveryMs: number;
  maxConnecting: number;
  maxInFlight: number;
  attemptsMean: number;
  attemptsMax: number;
  panicked: boolean;
}

/** Watches every transition: how many are in `connecting` right now, and attempts per server. */
class StormWatch {
  private readonly states = new Map<string, ConnectionState>();
  connecting = 0;
  maxConnecting = 0;
  readonly attempts = new Map<string, number>();
  panicked = false;

  constructor(supervisor: Supervisor) {
    supervisor.actor.on('*', (event) => {
      if (event.type === 'panic.started') this.panicked = true;
      if (event.type !== 'state.changed') return;
      const from = this.states.get(event.id);
      this.states.set(event.id, event.to);
      if (from === 'connecting') this.connecting -= 1;
      if (event.to === 'connecting') {
        this.connecting += 1;
        this.maxConnecting = Math.max(this.maxConnecting, this.connecting);
        this.attempts.set(event.id, (this.attempts.get(event.id) ?? 0) + 1);
      }
    });
  }

  reset(): void {
    this.maxConnecting = this.connecting;
    this.attempts.clear();
    this.panicked = false;
  }

  allHealthy(count: number): boolean {
    if (this.states.size < count) return false;
    for (const state of this.states.values()) if (state !== 'healthy') return false;
    return true;
  }
}

async function storm(
  count: number,
  cap: number,
  target: (index: number) => ServerTarget,
  fail: (supervisor: Supervisor) => void,
  panic: Partial<PanicSettings> | undefined,
  timeoutMs: number,
): Promise<StormResult> {
  const servers: ServerDefinition[] = Array.from({ length: count }, (_, index) => ({
    id: `s${index}`,
    target: target(index),
    priority: index % 4,
    dependsOn: [],
    required: true,
    disabled: false,
    settings,
  }));
  const supervisor = new Supervisor({ maxConcurrentReconnects: cap, servers }, { panic, flap: { flapLimit: 1_000 } });
  const watch = new StormWatch(supervisor);
  try {
    await until(() => watch.allHealthy(count), timeoutMs, 20);
    watch.reset();
    const inFlightBefore = supervisor.snapshot.context.maxInFlightSeen;
    const failedAt = performance.now();
    fail(supervisor);
    await until(() => !watch.allHealthy(count), 5_000, 1);
    const recoveredAt = await until(() => watch.allHealthy(count), timeoutMs, 5);
    const attempts = [...watch.attempts.values()];
    return {
      recoveryMs: recoveredAt - failedAt,
      maxConnecting: watch.maxConnecting,
      maxInFlight: Math.max(inFlightBefore, supervisor.snapshot.context.maxInFlightSeen),
      attemptsMean: mean(attempts),
      attemptsMax: Math.max(...attempts),
      panicked: watch.panicked,
    };
  } finally {
    await supervisor.stop(60_000);
  }
}

function rows(label: string, cap: number, result: StormResult): Row[] {
  const scenario = `storm: ${label}, cap ${cap}`;
  return [
    { scenario, metric: 'all healthy again after', value: round(result.recoveryMs, 0), unit: 'ms', note: result.panicked ? 'panic mode engaged (1 admission at a time)' : '' },
    { scenario, metric: 'max in connecting', value: result.maxConnecting, unit: '', bound: `≤ ${cap}` },
    { scenario, metric: 'max slots held', value: result.maxInFlight, unit: '', bound: `≤ ${cap}` },
    { scenario, metric: 'attempts per server (mean)', value: round(result.attemptsMean, 2), unit: '' },
    { scenario, metric: 'attempts per server (max)', value: result.attemptsMax, unit: '' },
  ];
}

export const scenario: Scenario = {
  name: 'reconnection storm',
  async run(): Promise<Row[]> {
    const out: Row[] = [];

    // In-process servers: closing each one is a transport closed, seen at once.
    const memoryServers = new Map<number, InProcessServer>();
    const memoryTarget = (index: number): ServerTarget => ({
      type: 'memory',
      createServer: () => {
        const server = new McpServer({ name: `storm-${index}`, version: '1.0.0' });
        memoryServers.set(index, server);
        return server;
      },
    });
    const closeAll = (): void => {
      for (const server of memoryServers.values()) void server.close();
    };
    for (const cap of [1, 4, 16]) {
      memoryServers.clear();
      out.push(...rows('1000 in-process, panic off', cap, await storm(1_000, cap, memoryTarget, closeAll, NO_PANIC, 120_000)));
    }
    memoryServers.clear();
    out.push(...rows('1000 in-process, panic on (default)', 4, await storm(1_000, 4, memoryTarget, closeAll, undefined, 120_000)));

    // Real processes: SIGKILL all 50 at once.
    const stdioTarget = (): ServerTarget => ({ type: 'stdio', command: process.execPath, args: [fixture, 'stdio'] });
    const killAll = (supervisor: Supervisor): void => {
      for (const id of supervisor.ids()) {
        const pid = supervisor.connection(id).getSnapshot().context.session?.pid;
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      }
    };
    for (const cap of [1, 4, 16]) {
      out.push(...rows('50 stdio processes SIGKILLed, panic off', cap, await storm(50, cap, stdioTarget, killAll, NO_PANIC, 120_000)));
    }
    return out;
  },
};
