import { describe, expect, it } from 'vitest';
import { GcPauses, slowest } from '../../../bench/gc-pauses.js';

describe('GcPauses: the GC pauses inside a timed sample', () => {
  it('finds the scavenges that a sample allocating ~64 MB set off, and none in a sample that allocates nothing', async () => {
    const pauses = new GcPauses();
    const quietStart = performance.now();
    let sum = 0;
    for (let index = 0; index < 1_000; index += 1) sum += index;
    const quiet = { start: quietStart, end: performance.now() };
    const busyStart = performance.now();
    // Short-lived arrays, each kept until its slot is reused (so the allocation cannot be elided):
    // ~64 MB, far more than the young generation holds, so at least one scavenge.
    const slots: number[][] = Array.from({ length: 64 }, () => []);
    for (let index = 0; index < 64 * 1024; index += 1) slots[index % 64] = new Array<number>(128).fill(index);
    const kept = slots.reduce((total, slot) => total + slot.length, 0);
    const busy = { start: busyStart, end: performance.now() };
    await pauses.stop();
    expect(sum + kept).toBeGreaterThan(0);
    expect(pauses.within(quiet)).toEqual({ count: 0, ms: 0 });
    const met = pauses.within(busy);
    expect(met.count).toBeGreaterThanOrEqual(1);
    expect(met.ms).toBeGreaterThan(0);
    expect(met.ms).toBeLessThanOrEqual(busy.end - busy.start);
  });

  it('slowest picks the longest sample, the first of equals, and nothing from none', () => {
    const a = { start: 0, end: 5 };
    const b = { start: 10, end: 30 };
    const c = { start: 40, end: 60 };
    expect(slowest([a, b, c])).toBe(b);
    expect(slowest([a, { start: 100, end: 105 }])).toBe(a);
    expect(slowest([])).toBeUndefined();
  });
});
