import { describe, expect, it } from 'vitest';
import {
  appendBounded,
  computeQuality,
  EMPTY_QUALITY,
  ewma,
  FLAPPING_TRANSITIONS_PER_HOUR,
  HOUR_MS,
  latencyPart,
  latencyScore,
  percentile,
  percentiles,
  QUALITY_WEIGHTS,
  sampleGoodness,
  stabilityPart,
  successPart,
  successRate,
  transitionsPerHour,
  trend,
  TREND_MIN_SAMPLES,
  weightedScore,
  type QualityParts,
  type QualitySample,
} from '../../../src/core/quality/index.js';

const D = 1000; // degradedLatencyMs used throughout
const NOW = 10 * HOUR_MS;

function ok(latencyMs: number, at = 0): QualitySample {
  return { at, ok: true, latencyMs, source: 'probe' };
}
function fail(at = 0, latencyMs = 5000): QualitySample {
  return { at, ok: false, latencyMs, source: 'call' };
}
/** Gives samples consecutive timestamps in array order, oldest first. */
function timed(samples: readonly QualitySample[], start = NOW - 60_000, step = 1000): QualitySample[] {
  return samples.map((s, i) => ({ ...s, at: start + i * step }));
}
function repeat<T>(n: number, make: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => make(i));
}
function expectedScore(parts: QualityParts): number {
  return Math.round(
    parts.success * QUALITY_WEIGHTS.success +
      parts.latency * QUALITY_WEIGHTS.latency +
      parts.stability * QUALITY_WEIGHTS.stability,
  );
}

describe('appendBounded', () => {
  it('returns an empty array for capacity 0, whatever the ring held', () => {
    expect(appendBounded([1, 2, 3], 4, 0)).toEqual([]);
    expect(appendBounded([], 1, 0)).toEqual([]);
  });

  it('keeps only the newest item at capacity 1', () => {
    expect(appendBounded([], 'a', 1)).toEqual(['a']);
    expect(appendBounded(['a'], 'b', 1)).toEqual(['b']);
  });

  it('drops the oldest items first once full', () => {
    let ring: number[] = [];
    for (let i = 1; i <= 5; i++) ring = appendBounded(ring, i, 3);
    expect(ring).toEqual([3, 4, 5]);
  });

  it('also trims a ring that was already over a (lowered) capacity', () => {
    expect(appendBounded([1, 2, 3, 4], 5, 2)).toEqual([4, 5]);
  });

  it('never mutates its input and always returns a new array', () => {
    const ring = Object.freeze([1, 2]);
    const next = appendBounded(ring, 3, 10);
    expect(next).toEqual([1, 2, 3]);
    expect(ring).toEqual([1, 2]);
    expect(next).not.toBe(ring);
  });

  it('treats negative or NaN capacity as 0, floors fractions and allows Infinity', () => {
    expect(appendBounded([1], 2, -1)).toEqual([]);
    expect(appendBounded([1], 2, Number.NaN)).toEqual([]);
    expect(appendBounded([1, 2], 3, 2.9)).toEqual([2, 3]);
    expect(appendBounded([1, 2], 3, Number.POSITIVE_INFINITY)).toEqual([1, 2, 3]);
  });
});

describe('percentile (nearest rank)', () => {
  const oneToTwenty = repeat(20, (i) => i + 1);

  it('is null for no values', () => {
    expect(percentile([], 50)).toBeNull();
  });

  it('returns the only value for any p', () => {
    for (const p of [0, 50, 95, 100]) expect(percentile([42], p)).toBe(42);
  });

  it('several at once (percentiles) agree with one at a time, and reject a bad p', () => {
    const shuffled = [...oneToTwenty].reverse();
    expect(percentiles(shuffled, [0, 50, 95, 100])).toEqual([0, 50, 95, 100].map((p) => percentile(shuffled, p)));
    expect(percentiles([], [50, 95])).toEqual([null, null]);
    expect(() => percentiles(shuffled, [50, 101])).toThrow(RangeError);
  });

  it('picks observed values at p = 0, 50, 95, 100', () => {
    expect(percentile(oneToTwenty, 0)).toBe(1);
    expect(percentile(oneToTwenty, 50)).toBe(10);
    expect(percentile(oneToTwenty, 95)).toBe(19);
    expect(percentile(oneToTwenty, 100)).toBe(20);
  });

  it('rounds the rank up rather than interpolating', () => {
    const oneToTen = repeat(10, (i) => i + 1);
    expect(percentile(oneToTen, 95)).toBe(10);
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 51)).toBe(30);
  });

  it('sorts unsorted input without mutating it', () => {
    const values = [30, 10, 20];
    expect(percentile(values, 100)).toBe(30);
    expect(percentile(values, 0)).toBe(10);
    expect(values).toEqual([30, 10, 20]);
  });

  it('ignores non-finite readings', () => {
    expect(percentile([Number.NaN, 5, Number.POSITIVE_INFINITY, 1], 100)).toBe(5);
    expect(percentile([Number.NaN], 50)).toBeNull();
  });

  it('rejects p outside [0, 100]', () => {
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('ewma', () => {
  it('is null for no values and the value itself for one', () => {
    expect(ewma([])).toBeNull();
    expect(ewma([7])).toBe(7);
  });

  it('weights the newest value by alpha (default 0.3), oldest first', () => {
    expect(ewma([10, 20])).toBeCloseTo(13);
    expect(ewma([20, 10])).toBeCloseTo(17);
    expect(ewma([10, 20, 30])).toBeCloseTo(0.3 * 30 + 0.7 * 13);
  });

  it('follows only the last value at alpha 1 and is flat for a constant series', () => {
    expect(ewma([1, 2, 99], 1)).toBe(99);
    expect(ewma([5, 5, 5, 5], 0.5)).toBe(5);
  });

  it('rejects alpha outside (0, 1]', () => {
    expect(() => ewma([1], 0)).toThrow(RangeError);
    expect(() => ewma([1], 1.5)).toThrow(RangeError);
  });
});

describe('latency part', () => {
  it('is 100 up to a quarter of the degraded threshold', () => {
    expect(latencyScore(0, D)).toBe(100);
    expect(latencyScore(D / 4, D)).toBe(100);
  });

  it('is 50 at the threshold and 0 from twice the threshold, linear in between', () => {
    expect(latencyScore(625, D)).toBeCloseTo(75);
    expect(latencyScore(D, D)).toBeCloseTo(50);
    expect(latencyScore(1500, D)).toBeCloseTo(25);
    expect(latencyScore(2 * D, D)).toBe(0);
    expect(latencyScore(10 * D, D)).toBe(0);
  });

  it('never increases as latency grows', () => {
    let previous = Number.POSITIVE_INFINITY;
    for (let ms = 0; ms <= 3 * D; ms += 37) {
      const score = latencyScore(ms, D);
      expect(score).toBeLessThanOrEqual(previous);
      previous = score;
    }
  });

  it('earns nothing without any successful latency', () => {
    expect(latencyPart(null, D)).toBe(0);
  });

  it('rejects a non-positive threshold', () => {
    expect(() => latencyScore(1, 0)).toThrow(RangeError);
    expect(() => latencyScore(1, Number.NaN)).toThrow(RangeError);
  });
});

describe('successRate', () => {
  it('is null without samples', () => {
    expect(successRate([])).toBeNull();
    expect(successPart(null)).toBe(0);
  });

  it('is 0 when everything failed and 1 when nothing did', () => {
    expect(successRate([fail(), fail(), fail()])).toBe(0);
    expect(successRate([ok(1), ok(2)])).toBe(1);
  });

  it('counts probes and calls alike', () => {
    const samples = [ok(1), { ...ok(1), source: 'call' as const }, fail(), fail()];
    expect(successRate(samples)).toBe(0.5);
    expect(successPart(0.5)).toBe(50);
  });
});

describe('transitionsPerHour', () => {
  it('is 0 without transitions', () => {
    expect(transitionsPerHour([], NOW)).toBe(0);
  });

  it('counts (now - window, now]: the old edge is out, now itself is in, the future is out', () => {
    expect(transitionsPerHour([NOW - HOUR_MS], NOW)).toBe(0);
    expect(transitionsPerHour([NOW - HOUR_MS + 1], NOW)).toBe(1);
    expect(transitionsPerHour([NOW], NOW)).toBe(1);
    expect(transitionsPerHour([NOW + 1], NOW)).toBe(0);
    expect(transitionsPerHour([NOW - 2 * HOUR_MS, NOW - HOUR_MS, NOW - 1, NOW, NOW + 1], NOW)).toBe(2);
  });

  it('scales a shorter window to a per-hour rate', () => {
    const tenMinutes = 10 * 60_000;
    expect(transitionsPerHour([NOW - 1000, NOW - 2000], NOW, tenMinutes)).toBe(12);
    expect(transitionsPerHour([NOW - tenMinutes], NOW, tenMinutes)).toBe(0);
  });

  it('rejects a non-positive window', () => {
    expect(() => transitionsPerHour([NOW], NOW, 0)).toThrow(RangeError);
  });
});

describe('stabilityPart', () => {
  it('is 100 without transitions, falls linearly and bottoms out at the flapping rate', () => {
    expect(stabilityPart(0)).toBe(100);
    expect(stabilityPart(FLAPPING_TRANSITIONS_PER_HOUR / 2)).toBeCloseTo(50);
    expect(stabilityPart(3)).toBeCloseTo(90);
    expect(stabilityPart(FLAPPING_TRANSITIONS_PER_HOUR)).toBe(0);
    expect(stabilityPart(1000)).toBe(0);
  });
});

describe('trend', () => {
  it('needs at least 6 samples before calling a direction', () => {
    expect(TREND_MIN_SAMPLES).toBe(6);
    expect(trend([], D)).toBe('stable');
    expect(trend(timed([ok(10), ok(10), ok(10), fail(), fail()]), D)).toBe('stable');
    expect(trend(timed([ok(10), ok(10), ok(10), fail(), fail(), fail()]), D)).toBe('degrading');
  });

  it('is degrading when fast successes turn into failures', () => {
    const samples = timed([...repeat(5, () => ok(50)), ...repeat(5, () => fail())]);
    expect(trend(samples, D)).toBe('degrading');
  });

  it('is degrading when replies stay ok but get slow', () => {
    const samples = timed([...repeat(6, () => ok(100)), ...repeat(6, () => ok(1500))]);
    expect(trend(samples, D)).toBe('degrading');
  });

  it('is improving when failures turn into successes, even very slow ones', () => {
    const samples = timed([...repeat(5, () => fail()), ...repeat(5, () => ok(5 * D))]);
    expect(trend(samples, D)).toBe('improving');
  });

  it('is improving when latency recovers', () => {
    const samples = timed([...repeat(4, () => ok(1800)), ...repeat(4, () => ok(100))]);
    expect(trend(samples, D)).toBe('improving');
  });

  it('is stable under jitter inside the fast band and an isolated failure', () => {
    const jitter = [50, 240, 120, 10, 200, 90, 230, 60, 180, 30];
    const older = jitter.map((ms) => ok(ms));
    const newer = jitter.map((ms, i) => (i === 4 ? fail() : ok(ms)));
    expect(trend(timed([...older, ...newer]), D)).toBe('stable');
    expect(trend(timed([...newer, ...older]), D)).toBe('stable');
  });

  it('is stable under alternating latency around the threshold', () => {
    const samples = timed(repeat(20, (i) => ok(i % 2 === 0 ? 700 : 1300)));
    expect(trend(samples, D)).toBe('stable');
  });

  it('orders by timestamp, not by array position', () => {
    const chronologicalOrder = timed([...repeat(5, () => ok(50)), ...repeat(5, () => fail())]);
    expect(trend([...chronologicalOrder].reverse(), D)).toBe('degrading');
  });

  it('leaves the middle sample out of an odd count', () => {
    const samples = timed([ok(50), ok(50), ok(50), fail(), ok(50), ok(50), ok(50)]);
    expect(trend(samples, D)).toBe('stable');
  });

  it('ranks any ok sample above a failure and fast above slow', () => {
    expect(sampleGoodness(fail(), D)).toBe(0);
    expect(sampleGoodness(ok(100 * D), D)).toBeGreaterThan(0);
    expect(sampleGoodness(ok(1500), D)).toBeLessThan(sampleGoodness(ok(500), D));
    expect(sampleGoodness(ok(10), D)).toBe(1);
  });
});

describe('computeQuality', () => {
  it('scores the documented example from its parts', () => {
    const samples = timed([...repeat(8, () => ok(250)), fail(), fail()]);
    const q = computeQuality({
      samples,
      transitionTimes: [NOW - 3 * HOUR_MS, NOW - 30 * 60_000, NOW - 20 * 60_000, NOW - 10 * 60_000],
      now: NOW,
      degradedLatencyMs: D,
    });
    expect(q.parts).toEqual({ latency: 100, success: 80, stability: 90 });
    // 0.5 * 80 + 0.3 * 100 + 0.2 * 90
    expect(q.score).toBe(88);
    expect(q.successRate).toBe(0.8);
    expect(q.transitionsPerHour).toBe(3);
    expect(q.samples).toBe(10);
    expect(q.trend).toBe('degrading');
  });

  it('weights sum to 1 and success outweighs latency outweighs stability', () => {
    expect(QUALITY_WEIGHTS.success + QUALITY_WEIGHTS.latency + QUALITY_WEIGHTS.stability).toBeCloseTo(1);
    expect(QUALITY_WEIGHTS.success).toBeGreaterThan(QUALITY_WEIGHTS.latency);
    expect(QUALITY_WEIGHTS.latency).toBeGreaterThan(QUALITY_WEIGHTS.stability);
    expect(weightedScore({ latency: 100, success: 100, stability: 100 })).toBe(100);
    expect(weightedScore({ latency: 0, success: 0, stability: 0 })).toBe(0);
  });

  it('always yields an integer score equal to the rounded weighted sum of its parts', () => {
    // Deterministic pseudo-random inputs so the property is checked over many shapes.
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 200; round++) {
      const samples = timed(repeat(Math.floor(rand() * 30), () => (rand() < 0.8 ? ok(rand() * 3 * D) : fail())));
      const transitionTimes = repeat(Math.floor(rand() * 40), () => NOW - rand() * 2 * HOUR_MS);
      const q = computeQuality({ samples, transitionTimes, now: NOW, degradedLatencyMs: D });
      expect(Number.isInteger(q.score)).toBe(true);
      expect(q.score).toBeGreaterThanOrEqual(0);
      expect(q.score).toBeLessThanOrEqual(100);
      expect(q.score).toBe(expectedScore(q.parts));
      for (const part of Object.values(q.parts)) {
        expect(part).toBeGreaterThanOrEqual(0);
        expect(part).toBeLessThanOrEqual(100);
      }
    }
  });

  it('derives latency statistics from ok samples only', () => {
    const samples = timed([ok(100), fail(0, 99_999), ok(200), fail(0, 99_999), ok(300)]);
    const q = computeQuality({ samples, transitionTimes: [], now: NOW, degradedLatencyMs: D });
    expect(q.latencyMs.p50).toBe(200);
    expect(q.latencyMs.p95).toBe(300);
    expect(q.latencyMs.ewma).toBeCloseTo(ewma([100, 200, 300]) ?? Number.NaN);
    expect(q.parts.latency).toBe(latencyScore(300, D));
  });

  it('judges the latency part on p95, so a slow tail costs points', () => {
    const samples = timed([...repeat(19, () => ok(100)), ok(1500)]);
    const q = computeQuality({ samples, transitionTimes: [], now: NOW, degradedLatencyMs: D });
    expect(q.latencyMs.p50).toBe(100);
    expect(q.latencyMs.p95).toBe(100);
    const tail = timed([...repeat(18, () => ok(100)), ok(1500), ok(1500)]);
    const qTail = computeQuality({ samples: tail, transitionTimes: [], now: NOW, degradedLatencyMs: D });
    expect(qTail.latencyMs.p95).toBe(1500);
    expect(qTail.parts.latency).toBeCloseTo(25);
  });

  it('gives an all-failing, non-flapping connection only its stability share', () => {
    const samples = timed(repeat(8, () => fail()));
    const q = computeQuality({ samples, transitionTimes: [], now: NOW, degradedLatencyMs: D });
    expect(q.successRate).toBe(0);
    expect(q.latencyMs).toEqual({ p50: null, p95: null, ewma: null });
    expect(q.parts).toEqual({ latency: 0, success: 0, stability: 100 });
    expect(q.score).toBe(20);
    expect(q.trend).toBe('stable');
  });

  it('gives a fast, always-ok, steady connection 100', () => {
    const samples = timed(repeat(10, () => ok(20)));
    const q = computeQuality({ samples, transitionTimes: [], now: NOW, degradedLatencyMs: D });
    expect(q.score).toBe(100);
  });

  it('handles a single sample', () => {
    const q = computeQuality({ samples: [ok(D, NOW)], transitionTimes: [], now: NOW, degradedLatencyMs: D });
    expect(q.samples).toBe(1);
    expect(q.latencyMs).toEqual({ p50: D, p95: D, ewma: D });
    expect(q.parts).toEqual({ latency: 50, success: 100, stability: 100 });
    expect(q.score).toBe(85);
    expect(q.trend).toBe('stable');
  });

  it('treats a never-measured connection as EMPTY_QUALITY, not as perfect', () => {
    const q = computeQuality({ samples: [], transitionTimes: [], now: NOW, degradedLatencyMs: D });
    expect(q).toEqual(EMPTY_QUALITY);
    expect(q.score).toBe(0);
    expect(q.score).toBe(expectedScore(q.parts));
    expect(EMPTY_QUALITY.samples).toBe(0);
    expect(EMPTY_QUALITY.successRate).toBeNull();
  });

  it('still reports transitions without samples, but scores nothing', () => {
    const q = computeQuality({ samples: [], transitionTimes: [NOW - 1, NOW - 2], now: NOW, degradedLatencyMs: D });
    expect(q.transitionsPerHour).toBe(2);
    expect(q.score).toBe(0);
    expect(q.parts).toEqual({ latency: 0, success: 0, stability: 0 });
  });

  it('keeps EMPTY_QUALITY immutable and hands out fresh objects', () => {
    expect(Object.isFrozen(EMPTY_QUALITY)).toBe(true);
    expect(Object.isFrozen(EMPTY_QUALITY.parts)).toBe(true);
    expect(Object.isFrozen(EMPTY_QUALITY.latencyMs)).toBe(true);
    const q = computeQuality({ samples: [], transitionTimes: [], now: NOW, degradedLatencyMs: D });
    expect(q).not.toBe(EMPTY_QUALITY);
    q.parts.latency = 1;
    expect(EMPTY_QUALITY.parts.latency).toBe(0);
  });

  it('is deterministic and does not mutate its input', () => {
    const samples = Object.freeze(timed([ok(300), fail(), ok(100)]).reverse());
    const transitionTimes = Object.freeze([NOW - 5, NOW - 1]);
    const input = { samples, transitionTimes, now: NOW, degradedLatencyMs: D };
    expect(computeQuality(input)).toEqual(computeQuality(input));
    expect(samples[0]?.latencyMs).toBe(100);
  });

  it('uses the given now rather than the clock', () => {
    const transitionTimes = [1000, 2000];
    const early = computeQuality({ samples: [ok(10)], transitionTimes, now: 2000, degradedLatencyMs: D });
    const late = computeQuality({ samples: [ok(10)], transitionTimes, now: 2000 + HOUR_MS, degradedLatencyMs: D });
    expect(early.transitionsPerHour).toBe(2);
    expect(late.transitionsPerHour).toBe(0);
  });

  it('rejects a non-positive degraded threshold even without samples', () => {
    expect(() => computeQuality({ samples: [], transitionTimes: [], now: NOW, degradedLatencyMs: 0 })).toThrow(
      RangeError,
    );
  });
});
