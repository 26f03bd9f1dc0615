import { describe, expect, it } from 'vitest';
import { slottedProbeDelay } from '../../../src/core/policy/probe-interval.js';

/** How far `at` is from the nearest slot of `phase` for `intervalMs`. */
function offSlot(at: number, phase: number, intervalMs: number): number {
  const from = at - phase * intervalMs;
  return Math.abs(from - Math.round(from / intervalMs) * intervalMs);
}

describe('slottedProbeDelay', () => {
  it('waits until the next slot: the phase’s instant of the interval', () => {
    expect(slottedProbeDelay({ intervalMs: 5_000, phase: 0.25, now: 0 })).toBe(1_250);
    expect(slottedProbeDelay({ intervalMs: 5_000, phase: 0.25, now: 1_250 })).toBe(5_000);
    expect(slottedProbeDelay({ intervalMs: 5_000, phase: 0.25, now: 3_000 })).toBe(3_250);
    expect(slottedProbeDelay({ intervalMs: 5_000, phase: 0, now: 1_700_000_002_000 })).toBe(3_000);
  });

  it('skips a slot within 20 ms of now (a probe that ran a little early still counts as its slot’s), never waiting more than the interval', () => {
    const base = { intervalMs: 1_000, phase: 0.5 };
    expect(slottedProbeDelay({ ...base, now: 499 })).toBe(1_000);
    expect(slottedProbeDelay({ ...base, now: 1_300 })).toBe(200);
    expect(slottedProbeDelay({ ...base, now: 1_470 })).toBe(30);
    expect(slottedProbeDelay({ ...base, now: 1_480 })).toBe(20);
    // The slot after next is 1 015 ms off: the interval it is (the phase moves by those 15 ms).
    expect(slottedProbeDelay({ ...base, now: 1_485 })).toBe(1_000);
  });

  it('passes over a slot sooner than notSoonerThanMs', () => {
    const base = { intervalMs: 1_000, phase: 0.5 };
    expect(slottedProbeDelay({ ...base, now: 1_600, notSoonerThanMs: 900 })).toBe(900);
    expect(slottedProbeDelay({ ...base, now: 1_400, notSoonerThanMs: 900 })).toBe(1_000);
    expect(slottedProbeDelay({ ...base, now: 1_000, notSoonerThanMs: 400 })).toBe(500);
    expect(slottedProbeDelay({ ...base, now: 1_000, notSoonerThanMs: 5_000 })).toBe(1_000);
  });

  it('for any phase, interval and now: at least 1 ms, at most the interval, on a slot unless it is the interval', () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let index = 0; index < 2_000; index += 1) {
      const intervalMs = 1 + Math.floor(random() * 60_000);
      const phase = random();
      const now = Math.floor(random() * 1e12);
      const delay = slottedProbeDelay({ intervalMs, phase, now });
      expect(delay).toBeGreaterThanOrEqual(1);
      expect(delay).toBeLessThanOrEqual(Math.max(1, intervalMs));
      if (delay < intervalMs && intervalMs >= 4) expect(offSlot(now + delay, phase, intervalMs)).toBeLessThanOrEqual(0.5);
    }
  });

  it('clamps what a programmatic caller gets wrong instead of probing in a busy loop', () => {
    expect(slottedProbeDelay({ intervalMs: 0, phase: 0.5, now: 5 })).toBe(1);
    expect(slottedProbeDelay({ intervalMs: Number.NaN, phase: 0.5, now: 5 })).toBe(1);
    expect(slottedProbeDelay({ intervalMs: 1_000, phase: 7, now: 0 })).toBe(1_000);
    expect(slottedProbeDelay({ intervalMs: 1_000, phase: -1, now: 0 })).toBe(1_000);
    expect(slottedProbeDelay({ intervalMs: 1_000, phase: Number.NaN, now: 0 })).toBeGreaterThanOrEqual(1);
  });
});
