import { describe, expect, it } from 'vitest';
import { chainedProbeDue, firstProbeDue, jitteredProbeInterval } from '../../../src/core/policy/probe-interval.js';
import { nextRandom, randomValueAt } from '../../../src/core/policy/random.js';

describe('jitteredProbeInterval', () => {
  it('is interval × (1 − jitter × u), rounded to whole ms', () => {
    expect(jitteredProbeInterval(5_000, 0.1, 0)).toBe(5_000);
    expect(jitteredProbeInterval(5_000, 0.1, 0.5)).toBe(4_750);
    expect(jitteredProbeInterval(5_000, 0.1, 0.999_999)).toBe(4_500);
    expect(jitteredProbeInterval(15_000, 0.2, 0.25)).toBe(14_250);
    expect(jitteredProbeInterval(1_001, 0.1, 0.5)).toBe(951);
  });

  it('only ever shortens: never above the interval, never below interval × (1 − jitter)', () => {
    for (const interval of [1, 7, 500, 5_000, 60_000]) {
      for (const jitter of [0, 0.05, 0.1, 0.5, 0.9]) {
        for (const u of [0, 0.1, 0.25, 0.5, 0.75, 0.999_999]) {
          const delay = jitteredProbeInterval(interval, jitter, u);
          expect(delay).toBeLessThanOrEqual(interval);
          expect(delay).toBeGreaterThanOrEqual(Math.max(1, Math.floor(interval * (1 - jitter))));
        }
      }
    }
  });

  it('with jitter 0 is exactly the interval, whatever u', () => {
    expect([0, 0.3, 0.99].map((u) => jitteredProbeInterval(4_321, 0, u))).toEqual([4_321, 4_321, 4_321]);
  });

  it('clamps a ratio outside [0, 1] and never gives less than 1 ms (no busy loop from a bad programmatic value)', () => {
    expect(jitteredProbeInterval(1_000, -0.5, 0.5)).toBe(1_000);
    expect(jitteredProbeInterval(1_000, Number.NaN, 0.5)).toBe(1_000);
    expect(jitteredProbeInterval(1_000, 7, 0.5)).toBe(500);
    expect(jitteredProbeInterval(1_000, 1, 0.999_999_9)).toBe(1);
    expect(jitteredProbeInterval(3, 0.9, 0.99)).toBe(1);
  });
});

describe('firstProbeDue', () => {
  it('with jitter, is a point drawn over the whole interval, (now, now + interval], whatever the ratio', () => {
    expect(firstProbeDue(10_000, 5_000, 0.1, 0)).toBe(15_000);
    expect(firstProbeDue(10_000, 5_000, 0.1, 0.5)).toBe(12_500);
    expect(firstProbeDue(10_000, 5_000, 0.3, 0.999_999_9)).toBe(10_001);
  });

  it('without jitter (0, or not a number), is one interval from now', () => {
    expect(firstProbeDue(10_000, 5_000, 0, 0.5)).toBe(15_000);
    expect(firstProbeDue(10_000, 5_000, Number.NaN, 0.5)).toBe(15_000);
  });
});

describe('chainedProbeDue', () => {
  it('with jitter, is the due instant plus a cut interval while that lies half an interval to an interval after now', () => {
    // Due at 10 000, step 4 750 (u 0.5, jitter 0.1): due again at 14 750 whether answered at once or 2.5 s late.
    for (const now of [10_000, 10_001, 11_000, 12_500]) expect(chainedProbeDue(10_000, now, 5_000, 0.1, 0.5)).toBe(14_750);
    expect(chainedProbeDue(10_000, 10_000, 5_000, 0.1, 0)).toBe(15_000);
  });

  it('answered so late that the chain is less than half an interval away (the loop was stuck): a point drawn over the whole interval from now', () => {
    // Late is judged on the uncut chain (15 000): more than 2.5 s after the due instant, whatever u.
    for (const u of [0, 0.5, 0.999]) expect(chainedProbeDue(10_000, 12_501, 5_000, 0.1, u)).toBe(12_501 + jitteredProbeInterval(5_000, 1, u));
    expect(chainedProbeDue(10_000, 12_501, 5_000, 0.1, 0.5)).toBe(12_501 + 2_500);
    expect(chainedProbeDue(10_000, 14_999, 5_000, 0.1, 0.2)).toBe(14_999 + 4_000);
    expect(chainedProbeDue(10_000, 40_000, 5_000, 0.1, 0)).toBe(45_000);
    expect(chainedProbeDue(10_000, 40_000, 5_000, 0.1, 0.999_999_9)).toBe(40_001);
  });

  it('run before it was due (a `probe` command, a failed call): a cut interval from now, never more than one', () => {
    expect(chainedProbeDue(10_000, 6_000, 5_000, 0.1, 0.5)).toBe(6_000 + 4_750);
    expect(chainedProbeDue(10_000, 9_999, 5_000, 0.1, 0)).toBe(14_999);
  });

  it('without jitter, is one interval from now (counted from the answer, as before the chain)', () => {
    expect(chainedProbeDue(10_000, 10_300, 5_000, 0, 0.5)).toBe(15_300);
  });

  it('always puts the next probe after now and at most an interval after it', () => {
    for (const dueAt of [0, 5_000, 8_000, 9_000, 10_000, 12_000, 20_000]) {
      for (const u of [0, 0.5, 0.999]) {
        const next = chainedProbeDue(dueAt, 10_000, 3_000, 0.2, u);
        expect(next).toBeGreaterThan(10_000);
        expect(next).toBeLessThanOrEqual(13_000);
      }
    }
  });
});

describe('randomValueAt', () => {
  it('reads back the value nextRandom drew when it returned that state', () => {
    let state = 42;
    for (let index = 0; index < 1_000; index += 1) {
      const random = nextRandom(state);
      expect(randomValueAt(random.state)).toBe(random.value);
      expect(random.value >= 0 && random.value < 1).toBe(true);
      state = random.state;
    }
  });
});
