// Reading the fleet: Supervisor.summaries(), the light read a metrics scrape makes, must say what
// the full views say (which servers, in which order, with which state and era; process facts and
// quarantine reach the metrics through it too, and are pinned where they exist:
// test/unit/http/metrics.test.ts and test/integration/managed-processes.test.ts). The JSON text of
// views kept per connection snapshot (src/fleet/views.ts, ViewTexts) must always be the text of the
// view as it is now: after the connection moves, and when what the supervisor adds changes
// (priority, quarantine, a place in the slot queue, process facts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitFor } from 'xstate';
import { resolveSettings } from '../../../src/core/settings.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import { viewOf, ViewTexts } from '../../../src/fleet/views.js';
import type { ProcessView } from '../../../src/fleet/views.js';
import { connectionStateOf } from '../../../src/machines/connection.machine.js';
import { memoryServer } from '../../support/memory-server.js';

const SETTINGS = resolveSettings({ healthyIntervalMs: 60_000, stableIntervalMs: 60_000 });

const server = (id: string, disabled = false) => memoryServer(id, SETTINGS, disabled);

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

describe('view texts kept per snapshot', () => {
  it('are the views’ JSON before and after a connection moves, disabled servers included', async () => {
    supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [server('a'), server('b'), server('off', true)] });
    const fleet = supervisor;
    await Promise.all([fleet.ready('a', 5_000), fleet.ready('b', 5_000)]);
    const ids = ['b', 'off', 'a', 'gone'];
    const texts = () => fleet.viewTextsOf(ids);
    const expected = () => fleet.viewsOf(ids).map((view) => JSON.stringify(view));
    expect(texts()).toEqual(expected());
    expect(texts().map((text) => (JSON.parse(text) as { id: string }).id)).toEqual(['b', 'off', 'a']);

    const before = texts();
    // Nothing moved: every served server's text is the kept one; only the disabled view is written.
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      expect(texts()).toEqual(before);
      expect(stringify).toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
    }
    await fleet.probe('a');
    const probed = texts();
    expect(probed).toEqual(expected());
    expect(probed[2]).not.toBe(before[2]);
    expect((JSON.parse(probed[2] as string) as { quality: { latencyMs: { p50: number | null } } }).quality.latencyMs.p50).not.toBeNull();
    expect(probed[0]).toBe(before[0]);

    fleet.command('a', 'stop');
    await waitFor(fleet.connection('a'), (snapshot) => connectionStateOf(snapshot) === 'stopped', { timeout: 5_000 });
    expect((JSON.parse(texts()[2] as string) as { state: string }).state).toBe('stopped');
    expect(texts()).toEqual(expected());
  });

  it('follow what the supervisor adds: priority, quarantine, waiting for a slot, process facts', async () => {
    supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [server('a')] });
    await supervisor.ready('a', 5_000);
    const snapshot = supervisor.connection('a').getSnapshot();
    const context = supervisor.snapshot.context;
    const definitionA = context.servers.a;
    if (!definitionA) throw new Error('no server a');
    const texts = new ViewTexts();
    const now = Date.now();
    const facts = { pid: 1, startedAt: now, uptimeMs: 0, restarts: 0, lastExit: null, cpuRatio: null, rssBytes: null } as unknown as ProcessView;
    const quarantined = { ...context, quarantine: context.quarantine.set('a', { until: now + 1_000, times: 1 }) };
    const cases = [
      { context, process: undefined, at: now },
      { context: { ...context, queued: context.queued.add('a') }, process: undefined, at: now },
      { context: quarantined, process: undefined, at: now },
      // The same quarantine read after it ended is none.
      { context: quarantined, process: undefined, at: now + 2_000 },
      { context: { ...context, servers: { ...context.servers, a: { ...definitionA, priority: 7 } } }, process: undefined, at: now },
      { context, process: facts, at: now },
      { context, process: undefined, at: now },
    ];
    for (const { context: read, process, at } of cases) {
      // Twice each: the second answer is the kept one.
      for (let round = 0; round < 2; round += 1) expect(texts.textOf('a', snapshot, read, process, at)).toBe(JSON.stringify(viewOf('a', snapshot, read, process, at)));
    }
    expect(JSON.parse(texts.textOf('a', snapshot, cases[1]!.context, undefined, now))).toMatchObject({ waitingForSlot: true });
    expect(JSON.parse(texts.textOf('a', snapshot, quarantined, undefined, now))).toMatchObject({ quarantinedUntil: now + 1_000 });
    expect(JSON.parse(texts.textOf('a', snapshot, cases[4]!.context, undefined, now))).toMatchObject({ priority: 7 });
  });
});
