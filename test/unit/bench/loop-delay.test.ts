import { describe, expect, it } from 'vitest';
import { LOOP_MONITOR_RESOLUTION_MS, loopDelayOf, startLoopMonitor } from '../../../bench/loop-delay.js';
import type { LoopHistogram } from '../../../bench/loop-delay.js';
import { until } from '../../support/wait.js';

/** A histogram whose readings are given in ms (the monitor's are in ns). */
function histogram(count: number, p99Ms: number, maxMs: number): LoopHistogram {
  return { count, max: maxMs * 1e6, percentile: (p: number) => (p === 99 ? p99Ms * 1e6 : Number.NaN) };
}

describe('loopDelayOf: how late the monitor ran, its period taken out', () => {
  it('takes the period out of the p99 and the max, and keeps the monitor’s own readings', () => {
    const delay = loopDelayOf(histogram(500, 22.7, 41.5));
    expect(delay?.p99Ms).toBeCloseTo(12.7, 5);
    expect(delay?.maxMs).toBeCloseTo(31.5, 5);
    expect(delay).toMatchObject({ intervalP99Ms: 22.7, intervalMaxMs: 41.5, samples: 500 });
  });

  it('reads a free loop as no delay: a run a little early of its period is not negative', () => {
    const free = loopDelayOf(histogram(200, 9.6, 9.8));
    expect(free?.p99Ms).toBe(0);
    expect(free?.maxMs).toBe(0);
  });

  it('is undefined when the timer never ran (a saturated loop)', () => {
    expect(loopDelayOf(histogram(0, 0, 0))).toBeUndefined();
  });

  it('on a real loop, a 60 ms block reads as at least 50 ms late, and the interval as the delay plus the period', async () => {
    const monitor = startLoopMonitor();
    // Let the monitor's timer run a few times first, so the block falls between two of its runs.
    await until(() => monitor.count >= 3, 'three runs of the monitor’s timer');
    const blockStart = performance.now();
    while (performance.now() - blockStart < 60);
    // The monitor's next run is the one the block delayed; wait for it (bounded).
    const samplesBefore = monitor.count;
    await until(() => monitor.count > samplesBefore, 'the monitor’s run after the block');
    monitor.disable();
    const delay = loopDelayOf(monitor);
    expect(delay).toBeDefined();
    // The timer fell due somewhere in the block: at least the block less one period late.
    expect(delay!.maxMs).toBeGreaterThan(60 - LOOP_MONITOR_RESOLUTION_MS - 1);
    expect(delay!.intervalMaxMs - delay!.maxMs).toBeCloseTo(LOOP_MONITOR_RESOLUTION_MS, 5);
  });
});
