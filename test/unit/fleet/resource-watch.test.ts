/**
 * The fleet's resource watch on given sample series (no processes): when it asks for a restart,
 * what it counts, and what it shows, across a refused restart and a new process.
 */
import { describe, expect, it } from 'vitest';
import { ResourceWatch } from '../../../src/fleet/resource-limits.js';
import type { ResourceRestart } from '../../../src/fleet/resource-limits.js';
import type { MemoryTrend } from '../../../src/core/policy/memory-trend.js';
import type { ResourceLimits } from '../../../src/core/target.js';

const MiB = 1_048_576;

function watch(limits: ResourceLimits | undefined, accept = true) {
  const restarts: ResourceRestart[] = [];
  const trends: Array<{ id: string; pid: number; trend: MemoryTrend }> = [];
  const state = { accept };
  const resources = new ResourceWatch(
    {
      limitsOf: () => limits,
      restart: (restart) => {
        restarts.push(restart);
        return state.accept;
      },
      trendStarted: (id, pid, trend) => trends.push({ id, pid, trend }),
    },
    { minSamples: 5, windowSamples: 10 },
  );
  return { resources, restarts, trends, state };
}

describe('ResourceWatch', () => {
  it('asks for one restart per breach and counts only the restarts that happened', () => {
    const { resources, restarts, state } = watch({ maxMemoryBytes: 100 * MiB, forSeconds: 2 }, false);
    for (let second = 0; second <= 2; second += 1) resources.observe('a', 10, { at: second * 1_000, rssBytes: 150 * MiB, cpuRatio: 0 });
    expect(restarts.map((restart) => restart.message)).toEqual(['memory 150 MiB over limit 100 MiB for 2 s']);
    // Refused (not serving): not counted, and asked again only after another forSeconds.
    expect(resources.factsOf('a', 10).resourceRestarts).toEqual({ memory: 0, cpu: 0 });
    state.accept = true;
    resources.observe('a', 10, { at: 3_000, rssBytes: 150 * MiB, cpuRatio: 0 });
    resources.observe('a', 10, { at: 4_000, rssBytes: 150 * MiB, cpuRatio: 0 });
    expect(restarts).toHaveLength(1);
    resources.observe('a', 10, { at: 5_000, rssBytes: 150 * MiB, cpuRatio: 0 });
    expect(restarts).toHaveLength(2);
    expect(resources.factsOf('a', 10).resourceRestarts).toEqual({ memory: 1, cpu: 0 });
  });

  it('shows limits and runs over them for the current process only; a new pid starts afresh', () => {
    const { resources } = watch({ maxMemoryBytes: 100 * MiB, maxCpuRatio: 0.5 });
    resources.observe('a', 10, { at: 0, rssBytes: 150 * MiB, cpuRatio: null });
    resources.observe('a', 10, { at: 1_000, rssBytes: 150 * MiB, cpuRatio: 0.123456 });
    expect(resources.factsOf('a', 10)).toEqual({
      limits: { maxMemoryBytes: 100 * MiB, maxCpuRatio: 0.5, forSeconds: 30 },
      overLimit: [
        { resource: 'memory', measured: 150 * MiB, limit: 100 * MiB, since: 0 },
      ],
      resourceRestarts: { memory: 0, cpu: 0 },
      memoryGrowthBytesPerSecond: null,
      memoryTrend: null,
    });
    // The process is gone (pid null) or replaced: nothing over, no trend.
    expect(resources.factsOf('a', null).overLimit).toEqual([]);
    resources.observe('a', 11, { at: 2_000, rssBytes: 50 * MiB, cpuRatio: null });
    expect(resources.factsOf('a', 11).overLimit).toEqual([]);
  });

  it('reports a leak trend once, when it starts; without limits there is no projection and no limit facts', () => {
    const { resources, trends } = watch(undefined);
    for (let i = 0; i < 8; i += 1) resources.observe('a', 10, { at: i * 1_000, rssBytes: (100 + 10 * i) * MiB, cpuRatio: 0 });
    expect(trends).toEqual([{ id: 'a', pid: 10, trend: expect.objectContaining({ bytesPerSecond: 10 * MiB, projectedLimitInSeconds: null }) }]);
    const facts = resources.factsOf('a', 10);
    expect(facts).toEqual({ memoryGrowthBytesPerSecond: 10 * MiB, memoryTrend: expect.objectContaining({ bytesPerSecond: 10 * MiB }) });
    resources.forget('a');
    expect(resources.factsOf('a', 10)).toEqual({ memoryGrowthBytesPerSecond: null, memoryTrend: null });
  });
});
