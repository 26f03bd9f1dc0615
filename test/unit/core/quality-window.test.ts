// The packed sample window must give back exactly what it was given (times to the millisecond).
import { describe, expect, it } from 'vitest';
import { computeQuality, SampleWindow } from '../../../src/core/quality/index.js';
import type { QualitySample } from '../../../src/core/quality/index.js';

const sample = (at: number, ok: boolean, latencyMs: number, source: QualitySample['source']): QualitySample => ({ at, ok, latencyMs, source });

describe('SampleWindow', () => {
  it('gives back every field of every sample, for any time and flag', () => {
    const given = [
      sample(1_764_633_600_123, true, 12.5, 'probe'),
      sample(1_764_633_600_124, false, 3000, 'call'),
      sample(0, true, 0, 'call'),
      sample(-5, false, 7, 'probe'),
      sample(-6, true, 1, 'call'),
    ];
    const window = SampleWindow.of(given);
    expect(window.length).toBe(5);
    expect(window.toArray()).toEqual(given);
    expect([...window]).toEqual(given);
    expect(JSON.parse(JSON.stringify({ samples: window }))).toEqual({ samples: given });
    // A fraction of a millisecond is rounded off; the rest stays.
    expect(SampleWindow.of([sample(10.6, true, 1.25, 'probe')]).toArray()).toEqual([sample(11, true, 1.25, 'probe')]);
  });

  it('appends without changing the window it came from, keeping the newest `capacity`', () => {
    const first = SampleWindow.EMPTY.append([sample(1, true, 1, 'probe'), sample(2, true, 2, 'probe')], 3);
    const second = first.append([sample(3, false, 3, 'call'), sample(4, true, 4, 'call')], 3);
    expect(first.toArray().map((s) => s.at)).toEqual([1, 2]);
    expect(second.toArray().map((s) => s.at)).toEqual([2, 3, 4]);
    // More added at once than fit: only the newest of them.
    expect(first.append([5, 6, 7, 8].map((at) => sample(at, true, at, 'probe')), 3).toArray().map((s) => s.at)).toEqual([6, 7, 8]);
    expect(second.append([sample(9, true, 9, 'probe')], 0).length).toBe(0);
  });

  it('scores as the objects it holds: computeQuality gives the same from either', () => {
    const samples = Array.from({ length: 40 }, (_, index) => sample(1_000 + ((index * 7) % 40), index % 5 !== 0, 10 + index, index % 2 ? 'call' : 'probe'));
    const input = { transitionTimes: [], now: 2_000, degradedLatencyMs: 30 };
    expect(computeQuality({ ...input, samples: SampleWindow.of(samples) })).toEqual(computeQuality({ ...input, samples }));
    // Out of order in, time order out.
    const window = SampleWindow.of(samples);
    expect(window.isChronological()).toBe(false);
    expect(window.chronological().toArray().map((s) => s.at)).toEqual([...samples].map((s) => s.at).sort((a, b) => a - b));
  });

  it('knows its order as it is made: an append out of order, and the window again in order once that sample is gone', () => {
    const times = (window: SampleWindow): number[] => window.toArray().map((s) => s.at);
    let window = SampleWindow.EMPTY.append([10, 20, 30].map((at) => sample(at, true, 1, 'probe')), 3);
    expect(window.isChronological()).toBe(true);
    // The seam counts: a new sample older than the newest kept one.
    window = window.append([sample(25, true, 1, 'probe')], 3);
    expect(times(window)).toEqual([20, 30, 25]);
    expect(window.isChronological()).toBe(false);
    expect(times(window.chronological())).toEqual([20, 25, 30]);
    // Within what is added, too.
    expect(SampleWindow.EMPTY.append([sample(5, true, 1, 'probe'), sample(4, true, 1, 'probe')], 3).isChronological()).toBe(false);
    // Once the sample out of order has been dropped, the window is in order again.
    window = window.append([40, 50].map((at) => sample(at, true, 1, 'probe')), 3);
    expect(times(window)).toEqual([25, 40, 50]);
    expect(window.isChronological()).toBe(true);
    window = window.append([sample(50, true, 1, 'call')], 3);
    expect(window.isChronological()).toBe(true);
    // Negative times (virtual clocks) keep their flags and order.
    const negative = SampleWindow.of([sample(-9, true, 1, 'call'), sample(-3, false, 2, 'probe')]);
    expect(negative.isChronological()).toBe(true);
    expect(negative.toArray()).toEqual([sample(-9, true, 1, 'call'), sample(-3, false, 2, 'probe')]);
  });
});
