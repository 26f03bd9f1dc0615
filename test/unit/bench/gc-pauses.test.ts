import { getHeapSpaceStatistics } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GcPauses, sampleAtPercentile } from '../../../bench/gc-pauses.js';
import { percentile } from '../../../bench/harness.js';

const MiB = 1_048_576;

describe('GcPauses: the GC pauses inside a timed sample', () => {
  it('finds the minor GCs that a sample allocating several young generations set off, and none in a sample that allocates nothing', async () => {
    // Several times what the young generation holds now (at least 64 MiB): at least one scavenge,
    // whatever --max-semi-space-size the run was given.
    const youngBytes = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
    const arrays = Math.ceil(Math.max(64 * MiB, 4 * youngBytes) / 1_024);
    const pauses = new GcPauses();
    const quietStart = performance.now();
    let sum = 0;
    for (let index = 0; index < 1_000; index += 1) sum += index;
    const quiet = { start: quietStart, end: performance.now() };
    const busyStart = performance.now();
    // Short-lived arrays of ~1 KiB, each kept until its slot is reused (so the allocation cannot be elided).
    const slots: number[][] = Array.from({ length: 64 }, () => []);
    for (let index = 0; index < arrays; index += 1) slots[index % 64] = new Array<number>(128).fill(index);
    const busy = { start: busyStart, end: performance.now() };
    await pauses.stop();
    expect(sum + slots.length).toBeGreaterThan(0);
    expect(pauses.within(quiet)).toEqual({ count: 0, ms: 0, kinds: [] });
    const met = pauses.within(busy);
    expect(met.count).toBeGreaterThanOrEqual(1);
    expect(met.kinds.some((kind) => kind.startsWith('minor '))).toBe(true);
    expect(met.ms).toBeGreaterThan(0);
    expect(met.ms).toBeLessThanOrEqual(busy.end - busy.start);
  });

  it('sampleAtPercentile picks the sample whose duration percentile() reports, for any samples and p', () => {
    const samples = fc.array(
      fc.tuple(fc.integer({ min: 0, max: 1_000 }), fc.integer({ min: 0, max: 100 })).map(([start, length]) => ({ start, end: start + length })),
      { minLength: 1, maxLength: 120 },
    );
    fc.assert(
      fc.property(samples, fc.integer({ min: 1, max: 100 }), (drawn, p) => {
        const sample = sampleAtPercentile(drawn, p);
        expect(sample).toBeDefined();
        expect(drawn).toContain(sample);
        expect(sample!.end - sample!.start).toBe(percentile(drawn.map((each) => each.end - each.start), p));
      }),
    );
    expect(sampleAtPercentile([], 99)).toBeUndefined();
  });
});
