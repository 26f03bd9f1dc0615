// What one probe costs in each protocol era: server/discover against a modern (2026-07-28) SDK v2
// server next to ping against a 2025-era server, over stdio and Streamable HTTP, plus how fast a
// frozen modern server is found, next to the bound its settings allow.
import { fileURLToPath } from 'node:url';
import type { ProbeKind } from '../../src/core/session.js';
import type { ServerTarget } from '../../src/core/target.js';
import { createConnection } from '../../src/fleet/connection.js';
import { connectionStateOf } from '../../src/machines/connection.machine.js';
import { openSession } from '../../src/runtime/session.js';
import { startHttpFixture } from '../../fixtures/http-fixture.js';
import { startV2HttpFixture, v2ServerPath } from '../../fixtures/v2-http.js';
import { percentile, round, until } from '../harness.js';
import type { Row, Scenario } from '../harness.js';

const v1Fixture = fileURLToPath(new URL('../../fixtures/fixture-server.mjs', import.meta.url));
const COUNT = 1_000;

async function probeCost(label: string, target: ServerTarget, kind: ProbeKind): Promise<Row[]> {
  const session = await openSession(target, { signal: new AbortController().signal });
  try {
    for (let index = 0; index < 100; index += 1) await session.probe(kind, new AbortController().signal);
    const samples: number[] = [];
    for (let index = 0; index < COUNT; index += 1) {
      const started = performance.now();
      await session.probe(kind, new AbortController().signal);
      samples.push(performance.now() - started);
    }
    const scenario = `probe cost: ${label} (${session.era}, ${kind}) ×${COUNT}`;
    return [
      { scenario, metric: 'p50', value: round(percentile(samples, 50), 3), unit: 'ms' },
      { scenario, metric: 'p99', value: round(percentile(samples, 99), 3), unit: 'ms' },
    ];
  } finally {
    await session.close();
  }
}

/** A frozen modern server over stdio (SIGSTOP): time to degraded and to reconnecting, next to the bound. */
async function modernZombie(): Promise<Row[]> {
  const settings = { healthyIntervalMs: 500, stableIntervalMs: 500, degradedIntervalMs: 250, pingTimeoutMs: 500, zombieAfter: 2, connectTimeoutMs: 5_000 };
  const connection = createConnection({ id: 'bench-modern-zombie', target: { type: 'stdio', command: process.execPath, args: [v2ServerPath, 'stdio', 'modern'] }, settings, seed: 1 });
  try {
    await connection.ready(10_000);
    const pid = connection.snapshot.context.session?.pid ?? -1;
    const frozenAt = performance.now();
    process.kill(pid, 'SIGSTOP');
    const degradedAt = await until(() => connection.state === 'degraded', 10_000, 2);
    const lostAt = await until(() => connectionStateOf(connection.snapshot) === 'reconnecting' || connection.state === 'zombie', 10_000, 2);
    // Bounds: the next probe is due within healthyIntervalMs and misses after pingTimeoutMs;
    // then zombieAfter − 1 more misses, each degradedIntervalMs + pingTimeoutMs apart.
    const degradedBound = settings.healthyIntervalMs + settings.pingTimeoutMs;
    const zombieBound = degradedBound + (settings.zombieAfter - 1) * (settings.degradedIntervalMs + settings.pingTimeoutMs);
    const scenario = 'detection: modern (2026-07-28) stdio server SIGSTOPped';
    return [
      { scenario, metric: '→ degraded', value: round(degradedAt - frozenAt), unit: 'ms', bound: `≤ ${degradedBound} ms` },
      { scenario, metric: '→ zombie', value: round(lostAt - frozenAt), unit: 'ms', bound: `≤ ${zombieBound} ms` },
    ];
  } finally {
    await connection.dispose();
  }
}

export const scenario: Scenario = {
  name: 'probe cost per protocol era',
  async run(): Promise<Row[]> {
    const rows: Row[] = [];
    rows.push(...(await probeCost('v2 modern-only, stdio', { type: 'stdio', command: process.execPath, args: [v2ServerPath, 'stdio', 'modern'] }, 'server/discover')));
    rows.push(...(await probeCost('2025-era fixture, stdio', { type: 'stdio', command: process.execPath, args: [v1Fixture, 'stdio'] }, 'ping')));
    const modern = await startV2HttpFixture({ era: 'modern' });
    const legacy = await startHttpFixture();
    try {
      rows.push(...(await probeCost('v2 modern-only, Streamable HTTP', { type: 'streamable-http', url: modern.mcpUrl }, 'server/discover')));
      rows.push(...(await probeCost('2025-era fixture, Streamable HTTP', { type: 'streamable-http', url: legacy.mcpUrl }, 'ping')));
    } finally {
      await modern.stop();
      await legacy.stop();
    }
    rows.push(...(await modernZombie()));
    return rows;
  },
};
