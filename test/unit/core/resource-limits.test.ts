/**
 * The pure parts of resource limits: over a limit for `forSeconds` (given sample series, time is
 * the samples' own), and the leak-trend detector (given RSS series: leaks, noise, warm-up).
 */
import { describe, expect, it } from 'vitest';
import { describeBreach, formatBytes, NO_OVER_LIMIT, watchLimits } from '../../../src/core/policy/resource-limits.js';
import type { LimitBreach, LimitWatch, ResourceReading } from '../../../src/core/policy/resource-limits.js';
import { DEFAULT_TREND_SETTINGS, fitLine, memoryTrendOf } from '../../../src/core/policy/memory-trend.js';
import type { MemorySample } from '../../../src/core/policy/memory-trend.js';
import type { ResourceLimits } from '../../../src/core/target.js';

const MiB = 1_048_576;

/** Feeds readings in order; returns every breach with the index of the reading that made it. */
function replay(readings: ResourceReading[], limits: ResourceLimits): Array<LimitBreach & { index: number }> {
  let watch: LimitWatch = NO_OVER_LIMIT;
  const found: Array<LimitBreach & { index: number }> = [];
  readings.forEach((reading, index) => {
    const step = watchLimits(watch, reading, limits);
    watch = step.watch;
    for (const breach of step.breaches) found.push({ ...breach, index });
  });
  return found;
}

/** One reading every `everyMs` from t = 0, memory (MiB) and CPU from the lists. */
function readings(mib: number[], cpu: Array<number | null> = [], everyMs = 5_000): ResourceReading[] {
  return mib.map((value, index) => ({ at: index * everyMs, rssBytes: value * MiB, cpuRatio: index < cpu.length ? (cpu[index] as number | null) : 0 }));
}

describe('watchLimits', () => {
  it('a group over the memory limit in every reading for forSeconds is a breach, named with the measured value', () => {
    // Over from t = 5 s; 30 s later (t = 35 s, the 8th reading) it breaches.
    const series = readings([400, 600, 600, 610, 612, 612, 612, 612, 612]);
    const breaches = replay(series, { maxMemoryBytes: 512 * MiB, forSeconds: 30 });
    expect(breaches).toEqual([{ resource: 'memory', measured: 612 * MiB, limit: 512 * MiB, since: 5_000, forSeconds: 30, at: 35_000, index: 7 }]);
    expect(describeBreach(breaches[0]!)).toBe('memory 612 MiB over limit 512 MiB for 30 s');
  });

  it('one reading at or under the limit ends the run: over means continuously', () => {
    const series = readings([600, 600, 600, 512, 600, 600, 600, 600, 600, 600, 600]);
    const breaches = replay(series, { maxMemoryBytes: 512 * MiB, forSeconds: 30 });
    // The run restarts at t = 20 s and is 30 s long at t = 50 s.
    expect(breaches.map((breach) => [breach.since, breach.at])).toEqual([[20_000, 50_000]]);
  });

  it('defaults forSeconds to 30, and starts over after a breach (one breach per forSeconds while it lasts)', () => {
    const series = readings(Array.from({ length: 15 }, () => 600));
    const breaches = replay(series, { maxMemoryBytes: 512 * MiB });
    expect(breaches.map((breach) => breach.at)).toEqual([30_000, 65_000]);
  });

  it('CPU: a ratio over maxCpuRatio for forSeconds; a first reading (null, no interval) neither counts nor forgives', () => {
    const cpu = [null, 1.5, 1.5, null, 1.5, 1.5];
    const series = readings([10, 10, 10, 10, 10, 10], cpu, 1_000);
    const breaches = replay(series, { maxCpuRatio: 0.8, forSeconds: 3 });
    expect(breaches).toEqual([expect.objectContaining({ resource: 'cpu', measured: 1.5, limit: 0.8, since: 1_000, at: 4_000, index: 4 })]);
    expect(describeBreach(breaches[0]!)).toBe('cpu 1.5 over limit 0.8 for 3 s');
    // A startup average alone is never a breach.
    expect(replay(readings([10, 10], [null, null], 10_000), { maxCpuRatio: 0.1, forSeconds: 1 })).toEqual([]);
  });

  it('both limits are watched at once; a limit not configured is never breached', () => {
    const series = readings([600, 600, 600], [2, 2, 2], 1_000);
    expect(replay(series, { maxMemoryBytes: 512 * MiB, maxCpuRatio: 1, forSeconds: 2 }).map((breach) => breach.resource)).toEqual(['memory', 'cpu']);
    expect(replay(series, { forSeconds: 1 })).toEqual([]);
  });

  it('formats memory in MiB, and in GiB from 10 GiB', () => {
    expect(formatBytes(512 * MiB)).toBe('512 MiB');
    expect(formatBytes(1.5 * MiB)).toBe('1.5 MiB');
    expect(formatBytes(16 * 1_024 * MiB)).toBe('16 GiB');
  });
});

/** One sample every `everyMs` from t = 0, RSS from `f(index)` in MiB. */
function series(count: number, f: (index: number) => number, everyMs = 5_000): MemorySample[] {
  return Array.from({ length: count }, (_, index) => ({ at: index * everyMs, rssBytes: Math.round(f(index) * MiB) }));
}

/** A seeded PRNG (mulberry32): noise that is the same on every run. */
function noise(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('fitLine', () => {
  it('fits a line exactly, with R² 1; no variance in y is R² 0; fewer than 2 distinct x is no fit', () => {
    expect(fitLine([0, 1, 2, 3], [1, 3, 5, 7])).toEqual({ slope: 2, intercept: 1, r2: 1 });
    expect(fitLine([0, 1, 2], [4, 4, 4])).toEqual({ slope: 0, intercept: 4, r2: 0 });
    expect(fitLine([1, 1], [1, 2])).toBeUndefined();
    expect(fitLine([1], [1])).toBeUndefined();
  });
});

describe('memoryTrendOf', () => {
  it('a steady leak is a trend, with its pace and when it reaches the limit', () => {
    // 100 MiB growing 1 MiB per 5 s sample (≈ 209.7 kB/s) for 5 minutes.
    const samples = series(60, (i) => 100 + i);
    const verdict = memoryTrendOf(samples, DEFAULT_TREND_SETTINGS, 512 * MiB);
    expect(verdict.trend).toMatchObject({ bytesPerSecond: Math.round(MiB / 5), r2: 1, windowSeconds: 295, samples: 60 });
    // 159 MiB now, 353 MiB to go at 0.2 MiB/s: 1765 s.
    expect(verdict.trend?.projectedLimitInSeconds).toBe(1_765);
    expect(verdict.bytesPerSecond).toBeCloseTo(MiB / 5, 3);
    // Without a limit there is no projection; over the limit it is 0.
    expect(memoryTrendOf(samples).trend?.projectedLimitInSeconds).toBeNull();
    expect(memoryTrendOf(samples, DEFAULT_TREND_SETTINGS, 150 * MiB).trend?.projectedLimitInSeconds).toBe(0);
  });

  it('a leak under noise is still a trend', () => {
    const random = noise(1);
    const samples = series(60, (i) => 200 + i * 0.8 + (random() - 0.5) * 6);
    expect(memoryTrendOf(samples).trend).not.toBeNull();
  });

  it('no verdict before minSamples; only the last windowSamples count', () => {
    expect(memoryTrendOf(series(11, (i) => 100 + 5 * i))).toEqual({ bytesPerSecond: null, trend: null });
    expect(memoryTrendOf(series(12, (i) => 100 + 5 * i)).trend).not.toBeNull();
    // A leak that stopped 5 minutes ago is out of the window.
    const stopped = [...series(60, (i) => 100 + i), ...series(60, () => 160).map((sample) => ({ ...sample, at: sample.at + 300_000 }))];
    expect(memoryTrendOf(stopped).trend).toBeNull();
  });

  it('noise around a level is not a trend (poor fit), however large its swings', () => {
    const random = noise(7);
    const flat = series(60, () => 300 + (random() - 0.5) * 80);
    expect(memoryTrendOf(flat).trend).toBeNull();
    // A garbage-collector sawtooth: climbs for 6 samples, drops back.
    const sawtooth = series(60, (i) => 300 + (i % 6) * 10);
    expect(memoryTrendOf(sawtooth).trend).toBeNull();
  });

  it('growth too small to matter is not a trend (minGrowthBytes, minGrowthRatio)', () => {
    // 4 MiB across the window: under 8 MiB.
    expect(memoryTrendOf(series(60, (i) => 50 + (i * 4) / 59)).trend).toBeNull();
    // 20 MiB on 2 GiB: under 5 %.
    expect(memoryTrendOf(series(60, (i) => 2_048 + (i * 20) / 59)).trend).toBeNull();
    // The same 20 MiB on 100 MiB is a leak.
    expect(memoryTrendOf(series(60, (i) => 100 + (i * 20) / 59)).trend).not.toBeNull();
  });

  it('warm-up that slows down (caches filling) is not a trend, though the line fits well', () => {
    const warmUp = series(60, (i) => 100 + 80 * (1 - Math.exp(-i / 25)));
    const fit = fitLine(
      warmUp.map((sample) => sample.at),
      warmUp.map((sample) => sample.rssBytes),
    );
    expect(fit?.r2).toBeGreaterThan(0.8);
    expect(memoryTrendOf(warmUp).trend).toBeNull();
  });

  it('shrinking memory is no trend, and its slope is negative', () => {
    const verdict = memoryTrendOf(series(30, (i) => 500 - 2 * i));
    expect(verdict.trend).toBeNull();
    expect(verdict.bytesPerSecond).toBeLessThan(0);
  });
});
