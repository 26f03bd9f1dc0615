// Supervisor.summaries(): the light read a metrics scrape makes must say what the full views say.
// Here: which servers, in which order, with which state and era. Process facts and quarantine
// reach the metrics through it too, and are pinned where they exist: test/unit/http/metrics.test.ts
// and test/integration/managed-processes.test.ts.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerDefinition } from '../../../src/config/load.js';
import { resolveSettings } from '../../../src/core/settings.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';

const SETTINGS = resolveSettings({ healthyIntervalMs: 60_000, stableIntervalMs: 60_000 });

function server(id: string, disabled = false): ServerDefinition {
  return {
    id,
    target: { type: 'memory', createServer: () => new McpServer({ name: id, version: '1.0.0' }) },
    priority: 0,
    dependsOn: [],
    required: true,
    disabled,
    settings: SETTINGS,
  };
}

let supervisor: Supervisor | undefined;
afterEach(async () => {
  await supervisor?.stop();
  supervisor = undefined;
});

describe('Supervisor.summaries', () => {
  it('has the fields of every connected server’s view, in config order, and leaves disabled servers out', async () => {
    supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [server('b'), server('off', true), server('a')] });
    const fleet = supervisor;
    await Promise.all([fleet.ready('a', 5_000), fleet.ready('b', 5_000)]);

    const summaries = fleet.summaries();
    const projected = fleet
      .views()
      .filter((view) => view.disabled !== true)
      .map(({ id, state, transport, era, quarantinedUntil, process }) => ({ id, state, transport, era, quarantinedUntil, ...(process ? { process } : {}) }));
    expect(summaries).toEqual(projected);
    expect(summaries.map((summary) => [summary.id, summary.state, summary.era])).toEqual([
      ['b', 'healthy', 'legacy'],
      ['a', 'healthy', 'legacy'],
    ]);
  });
});
