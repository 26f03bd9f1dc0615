import { describe, expect, it } from 'vitest';
import { backoffCeiling, fullJitterDelay } from '../../../src/core/policy/backoff.js';
import { healthyProbeInterval, STABLE_STRETCH_FACTOR } from '../../../src/core/policy/probe-interval.js';
import { nextRandom, seedFromString } from '../../../src/core/policy/random.js';
import { DEFAULT_SETTINGS, resolveSettings } from '../../../src/core/settings.js';

/** `count` values drawn from the PRNG starting at `seed`. */
function draws(seed: number, count: number): number[] {
  const values: number[] = [];
  let state = seed;
  for (let index = 0; index < count; index += 1) {
    const next = nextRandom(state);
    values.push(next.value);
    state = next.state;
  }
  return values;
}

describe('backoffCeiling', () => {
  it('grows by the multiplier per attempt from initialBackoffMs (gRPC defaults)', () => {
    const expected = [1000, 1600, 2560, 4096, 6553.6, 10485.76];
    expected.forEach((ceiling, attempt) => {
      expect(backoffCeiling(attempt, DEFAULT_SETTINGS)).toBeCloseTo(ceiling, 6);
    });
  });

  it('is capped at maxBackoffMs and stays there', () => {
    // 1000 * 1.6^n passes 120000 between n = 10 (109951) and n = 11 (175922).
    expect(backoffCeiling(10, DEFAULT_SETTINGS)).toBeCloseTo(109_951.1627776, 4);
    expect(backoffCeiling(11, DEFAULT_SETTINGS)).toBe(120_000);
    expect(backoffCeiling(15, DEFAULT_SETTINGS)).toBe(120_000);
    expect(backoffCeiling(1000, DEFAULT_SETTINGS)).toBe(120_000);
  });

  it('treats a negative attempt like attempt 0', () => {
    expect(backoffCeiling(-3, DEFAULT_SETTINGS)).toBe(1000);
  });

  it('uses the settings it is given', () => {
    const settings = { initialBackoffMs: 100, multiplier: 2, maxBackoffMs: 1000 };
    expect([0, 1, 2, 3, 4, 5].map((attempt) => backoffCeiling(attempt, settings))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

describe('fullJitterDelay', () => {
  const DRAWS_PER_ATTEMPT = 2000;

  it('stays within [0, ceiling) for attempts 0..15, is an integer, and averages about half the ceiling', () => {
    const random = draws(0xc0ffee, 16 * DRAWS_PER_ATTEMPT);
    for (let attempt = 0; attempt <= 15; attempt += 1) {
      const ceiling = backoffCeiling(attempt, DEFAULT_SETTINGS);
      let sum = 0;
      let max = 0;
      const outOfBounds: Array<{ attempt: number; delay: number; ceiling: number }> = [];
      for (let index = 0; index < DRAWS_PER_ATTEMPT; index += 1) {
        const delay = fullJitterDelay(attempt, DEFAULT_SETTINGS, random[attempt * DRAWS_PER_ATTEMPT + index]!);
        const valid = Number.isInteger(delay) && delay >= 0 && delay < ceiling && delay <= DEFAULT_SETTINGS.maxBackoffMs;
        if (!valid) outOfBounds.push({ attempt, delay, ceiling });
        sum += delay;
        max = Math.max(max, delay);
      }
      expect(outOfBounds).toEqual([]);
      const mean = sum / DRAWS_PER_ATTEMPT;
      // Uniform on [0, c): mean c/2, standard error of the mean c/sqrt(12 n) ≈ 0.0065 c for n = 2000.
      expect(Math.abs(mean - ceiling / 2)).toBeLessThan(ceiling * 0.04);
      // Full jitter uses the whole window, not just its lower part.
      expect(max).toBeGreaterThan(ceiling * 0.95);
    }
  });

  it('maps the ends of [0, 1) onto the ends of the window', () => {
    expect(fullJitterDelay(3, DEFAULT_SETTINGS, 0)).toBe(0);
    expect(fullJitterDelay(3, DEFAULT_SETTINGS, 0.5)).toBe(2048);
    expect(fullJitterDelay(3, DEFAULT_SETTINGS, 0.999_999_999)).toBe(4095);
  });

  it('never exceeds maxBackoffMs however many attempts failed', () => {
    expect(fullJitterDelay(40, DEFAULT_SETTINGS, 0.999_999_999)).toBe(119_999);
    expect(fullJitterDelay(40, { initialBackoffMs: 100, multiplier: 2, maxBackoffMs: 1000 }, 0.75)).toBe(750);
  });

  it('is never negative, even for a negative attempt', () => {
    expect(fullJitterDelay(-1, DEFAULT_SETTINGS, 0.25)).toBe(250);
  });
});

describe('nextRandom', () => {
  it('is deterministic per seed and advances its state', () => {
    expect(draws(42, 50)).toEqual(draws(42, 50));
    const first = nextRandom(42);
    const second = nextRandom(first.state);
    expect(second.state).not.toBe(first.state);
    expect(second.value).not.toBe(first.value);
    // The same state always gives the same next value.
    expect(nextRandom(first.state)).toEqual(second);
  });

  it('gives different sequences for different seeds', () => {
    expect(draws(1, 20)).not.toEqual(draws(2, 20));
    expect(draws(0, 20)).not.toEqual(draws(0xffffffff, 20));
  });

  it('keeps its state a uint32', () => {
    let state = 0xffffffff;
    for (let index = 0; index < 100; index += 1) {
      const next = nextRandom(state);
      expect(Number.isInteger(next.state)).toBe(true);
      expect(next.state).toBeGreaterThanOrEqual(0);
      expect(next.state).toBeLessThanOrEqual(0xffffffff);
      state = next.state;
    }
  });

  it('draws values in [0, 1) that are roughly uniform', () => {
    const values = draws(12345, 20_000);
    const buckets = Array.from({ length: 10 }, () => 0);
    expect(values.filter((value) => !(value >= 0 && value < 1))).toEqual([]);
    for (const value of values) buckets[Math.floor(value * 10)]! += 1;
    // Expected 2000 per bucket, standard deviation ≈ 42; 10 % is far outside chance.
    for (const count of buckets) {
      expect(count).toBeGreaterThan(1800);
      expect(count).toBeLessThan(2200);
    }
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
    expect(new Set(values).size).toBeGreaterThan(19_990);
  });
});

describe('seedFromString', () => {
  it('is FNV-1a (32 bit): matches the reference test vectors', () => {
    expect(seedFromString('')).toBe(0x811c9dc5);
    expect(seedFromString('a')).toBe(0xe40c292c);
    expect(seedFromString('foobar')).toBe(0xbf9cf968);
  });

  it('is stable, a uint32, and differs between ids', () => {
    const ids = ['files', 'remote', 'legacy', 'files-2', 'server-10', 'server-11'];
    const seeds = ids.map(seedFromString);
    expect(ids.map(seedFromString)).toEqual(seeds);
    for (const seed of seeds) {
      expect(Number.isInteger(seed)).toBe(true);
      expect(seed).toBeGreaterThanOrEqual(0);
      expect(seed).toBeLessThanOrEqual(0xffffffff);
    }
    expect(new Set(seeds).size).toBe(ids.length);
  });
});

describe('healthyProbeInterval', () => {
  it('stretches 15000 → 22500 → 33750 → 50625 → 60000 (cap) with the defaults', () => {
    expect([0, 1, 2, 3, 4, 5, 20].map((streak) => healthyProbeInterval(DEFAULT_SETTINGS, streak))).toEqual([
      15_000, 22_500, 33_750, 50_625, 60_000, 60_000, 60_000,
    ]);
    expect(STABLE_STRETCH_FACTOR).toBe(1.5);
  });

  it('starts at healthyIntervalMs for a zero or negative streak', () => {
    expect(healthyProbeInterval(DEFAULT_SETTINGS, 0)).toBe(15_000);
    expect(healthyProbeInterval(DEFAULT_SETTINGS, -2)).toBe(15_000);
  });

  it('rounds to whole milliseconds', () => {
    expect(healthyProbeInterval({ healthyIntervalMs: 1000, stableIntervalMs: 4000 }, 3)).toBe(3375);
    expect(healthyProbeInterval({ healthyIntervalMs: 1001, stableIntervalMs: 60_000 }, 1)).toBe(1502);
  });

  it('never goes below healthyIntervalMs when stableIntervalMs is not larger', () => {
    const inverted = { healthyIntervalMs: 10_000, stableIntervalMs: 5_000 };
    expect([0, 1, 2, 10].map((streak) => healthyProbeInterval(inverted, streak))).toEqual([10_000, 10_000, 10_000, 10_000]);
    const equal = { healthyIntervalMs: 7_000, stableIntervalMs: 7_000 };
    expect([0, 1, 5].map((streak) => healthyProbeInterval(equal, streak))).toEqual([7_000, 7_000, 7_000]);
  });
});

describe('resolveSettings', () => {
  it('defaults match docs/design.md §2', () => {
    expect(resolveSettings()).toEqual({
      connectTimeoutMs: 20_000,
      pingTimeoutMs: 5_000,
      healthyIntervalMs: 15_000,
      stableIntervalMs: 60_000,
      degradedIntervalMs: 5_000,
      probeJitter: 0.1,
      degradedLatencyMs: 1_000,
      zombieAfter: 2,
      recoverAfter: 2,
      initialBackoffMs: 1_000,
      multiplier: 1.6,
      maxBackoffMs: 120_000,
      resetAfterMs: 30_000,
      maxAttempts: Number.POSITIVE_INFINITY,
    });
    expect(DEFAULT_SETTINGS).toEqual(resolveSettings());
    expect(Object.isFrozen(DEFAULT_SETTINGS)).toBe(true);
  });

  it('later layers win over earlier ones and over the defaults', () => {
    const resolved = resolveSettings({ pingTimeoutMs: 3000, zombieAfter: 4 }, { pingTimeoutMs: 1000 }, { maxAttempts: 5 });
    expect(resolved.pingTimeoutMs).toBe(1000);
    expect(resolved.zombieAfter).toBe(4);
    expect(resolved.maxAttempts).toBe(5);
    expect(resolved.connectTimeoutMs).toBe(20_000);
  });

  it('ignores undefined values and undefined layers', () => {
    const resolved = resolveSettings({ pingTimeoutMs: 3000 }, undefined, { pingTimeoutMs: undefined, recoverAfter: undefined });
    expect(resolved.pingTimeoutMs).toBe(3000);
    expect(resolved.recoverAfter).toBe(2);
  });

  it('keeps an explicit 0 (only undefined means "not set")', () => {
    expect(resolveSettings({ initialBackoffMs: 0 }).initialBackoffMs).toBe(0);
  });

  it('returns a fresh object and leaves the defaults and layers untouched', () => {
    const layer = { pingTimeoutMs: 3000 };
    const first = resolveSettings(layer);
    first.pingTimeoutMs = 1;
    expect(resolveSettings(layer).pingTimeoutMs).toBe(3000);
    expect(DEFAULT_SETTINGS.pingTimeoutMs).toBe(5000);
    expect(layer).toEqual({ pingTimeoutMs: 3000 });
    expect(resolveSettings()).not.toBe(resolveSettings());
  });
});
