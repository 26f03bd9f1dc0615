/**
 * The connection machine in virtual time (harness: test/support/connection-harness.ts).
 * Probe slots: with `probeJitter` above 0 a connection probes at its own slots, instants a phase
 * into each interval; the phase is drawn once per session from the connection's seeded generator
 * (the one backoff draws from), so a fleet's probes are spread over the interval and stay so, while
 * each connection stays reproducible.
 * (The other files of this folder set `probeJitter: 0` to pin exact probe times.)
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fullJitterDelay } from '../../../../src/core/policy/backoff.js';
import { healthyProbeInterval, slottedProbeDelay } from '../../../../src/core/policy/probe-interval.js';
import { nextRandom, randomValueAt } from '../../../../src/core/policy/random.js';
import { S, SEED, SLOW, B, advance, advanceTo, degradedHarness, err, flush, harness, healthyHarness, useConnectionHarness } from '../../../support/connection-harness.js';
import type { Harness } from '../../../support/connection-harness.js';

useConnectionHarness();

// Slots are instants of the clock: start each test at one that is a whole number of every interval
// used here (1 000 to 4 000 ms, stretched by 1.5), so that times relative to the harness are the
// slots' own.
const EPOCH = 1_728_000_000_000;
beforeEach(() => {
  vi.setSystemTime(EPOCH);
});

const JITTER = 0.1;
/** The phase of a first session of `seed`: the one draw its connect makes. */
const phaseOf = (seed: number): number => nextRandom(seed >>> 0).value;

/** Runs a healthy connection whose every probe is fast until it has probed `count` times. */
async function probeTimesOf(h: Harness, count: number): Promise<number[]> {
  while (h.probeCalls.length < count) await advance(50);
  return h.probeTimes().slice(0, count);
}

/** Whether `at` is one of the slots of `phase` for `intervalMs`. */
function onSlot(at: number, phase: number, intervalMs: number): boolean {
  const offset = at - phase * intervalMs;
  return Math.abs(offset - Math.round(offset / intervalMs) * intervalMs) <= 0.5;
}

describe('probe slots (probeJitter above 0)', () => {
  it('probes at the slots of a phase drawn once per session, each interval at most the plain one', async () => {
    const h = await healthyHarness({ settings: { probeJitter: JITTER } });
    const rngAtConnect = h.ctx().rngState;
    expect(rngAtConnect).toBe(nextRandom(SEED).state);
    const times = await probeTimesOf(h, 6);
    const phase = phaseOf(SEED);
    let at = 0;
    const expected = times.map((_, streak) => (at += slottedProbeDelay({ intervalMs: healthyProbeInterval(S, streak), phase, now: at })));
    expect(times).toEqual(expected);
    // Probing draws nothing: the phase stays for the session.
    expect(h.ctx().rngState).toBe(rngAtConnect);
    // The first probe comes at the first slot, anywhere in the interval; the gaps never exceed it.
    expect(times[0]).toBe(Math.round(phase * healthyProbeInterval(S, 0)));
    const gaps = times.map((time, index) => time - (index === 0 ? 0 : times[index - 1]!));
    gaps.forEach((gap, streak) => expect(gap).toBeLessThanOrEqual(healthyProbeInterval(S, streak)));
    // Once the interval is stable, every probe is on its slot.
    expect(times.filter((time) => time > 8_000).every((time) => onSlot(time, phase, S.stableIntervalMs))).toBe(true);
  });

  it('is deterministic for a given seed, and differs with the seed', async () => {
    // Each from the same instant, one after the other.
    const fiveProbesFrom = async (options: Parameters<typeof healthyHarness>[0]): Promise<number[]> => {
      vi.setSystemTime(EPOCH);
      const h = await healthyHarness(options);
      const times = await probeTimesOf(h, 5);
      h.stop();
      return times;
    };
    const first = await fiveProbesFrom({ settings: { probeJitter: JITTER }, id: 'a' });
    const again = await fiveProbesFrom({ settings: { probeJitter: JITTER }, id: 'b' });
    const other = await fiveProbesFrom({ settings: { probeJitter: JITTER }, seed: SEED + 1 });
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('spreads connections that became healthy in the same instant over the whole interval', async () => {
    const fleet = await Promise.all(Array.from({ length: 32 }, (_, index) => healthyHarness({ settings: { probeJitter: JITTER }, seed: 1_000 + index })));
    await advanceTo(fleet[0]!, 1_000);
    const firstProbes = fleet.map((h) => h.probeTimes()[0]!);
    for (const time of firstProbes) {
      expect(time).toBeGreaterThan(0);
      expect(time).toBeLessThanOrEqual(1_000);
    }
    // Without slots all 32 would probe at 1000 exactly; with them, over the whole second.
    expect(new Set(firstProbes).size).toBeGreaterThanOrEqual(28);
    expect(Math.max(...firstProbes) - Math.min(...firstProbes)).toBeGreaterThanOrEqual(700);
  });

  it('without it (probeJitter 0), connections admitted together probe together, one interval after each answer', async () => {
    const fleet = await Promise.all(Array.from({ length: 8 }, (_, index) => healthyHarness({ seed: 1_000 + index })));
    await advanceTo(fleet[0]!, 1_000);
    expect(new Set(fleet.map((h) => h.probeTimes()[0]))).toEqual(new Set([1_000]));
    const late = await healthyHarness();
    late.probePlan.push({ latencyMs: 5, afterMs: 80 });
    await advanceTo(late, 2_580);
    expect(late.probeTimes()).toEqual([1_000, 2_580]);
  });

  it('a probe answered late is followed by one at its next slot, so lateness does not move the phase', async () => {
    const settings = { probeJitter: JITTER, healthyIntervalMs: 1_000, stableIntervalMs: 1_000 };
    const h = await healthyHarness({ settings });
    const phase = phaseOf(SEED);
    const slot = Math.round(phase * 1_000);
    // The first probe takes 80 ms to answer (a busy loop, a slow hop); the answer is still fast.
    h.probePlan.push({ latencyMs: 5, afterMs: 80 });
    await probeTimesOf(h, 4);
    expect(h.probeTimes()).toEqual([slot, slot + 1_000, slot + 2_000, slot + 3_000]);
    expect(h.state()).toBe('healthy');
  });

  it('a probe that ends within 20 ms of its next slot, or past it, skips that slot; no delay exceeds the interval', () => {
    const base = { intervalMs: 1_000, phase: 0.5 };
    expect(slottedProbeDelay({ ...base, now: 500 })).toBe(1_000);
    expect(slottedProbeDelay({ ...base, now: 1_300 })).toBe(200);
    expect(slottedProbeDelay({ ...base, now: 1_470 })).toBe(30);
    // The slot after next is 1 015 ms off: the interval it is (the phase moves by those 15 ms).
    expect(slottedProbeDelay({ ...base, now: 1_485 })).toBe(1_000);
    expect(slottedProbeDelay({ ...base, now: 1_600, notSoonerThanMs: 900 })).toBe(900);
    expect(slottedProbeDelay({ ...base, now: 1_400, notSoonerThanMs: 900 })).toBe(1_000);
    expect(slottedProbeDelay({ intervalMs: 0, phase: 0, now: 5 })).toBe(1);
  });

  it('in degraded, probes at the slots of the degraded interval, never lengthening it', async () => {
    const h = await degradedHarness({ settings: { probeJitter: JITTER } });
    const phase = phaseOf(SEED);
    const degradedAt = h.probeTimes()[0]!;
    expect(degradedAt).toBe(Math.round(phase * S.healthyIntervalMs));
    h.probePlan.push({ latencyMs: SLOW }, { latencyMs: SLOW }, { latencyMs: SLOW });
    while (h.probeCalls.length < 4) await advance(10);
    const times = h.probeTimes();
    times.slice(1).forEach((time, index) => {
      expect(time - times[index]!).toBeLessThanOrEqual(S.degradedIntervalMs);
      expect(onSlot(time, phase, S.degradedIntervalMs)).toBe(true);
    });
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
  });

  it('a fast call stands in for the due probe: the next one comes at least (1 − probeJitter) × interval after the call, at most the interval', async () => {
    const h = await healthyHarness({ settings: { probeJitter: JITTER } });
    const slot = Math.round(phaseOf(SEED) * healthyProbeInterval(S, 0));
    expect(slot).toBeGreaterThan(50);
    const callAt = slot - 50;
    await advanceTo(h, callAt);
    h.send({ type: 'call.succeeded', latencyMs: 5 });
    await flush();
    const interval = healthyProbeInterval(S, 1);
    await advanceTo(h, callAt + Math.ceil(interval * (1 - JITTER)) - 1);
    expect(h.probeCalls).toEqual([]);
    await advanceTo(h, callAt + interval);
    expect(h.probeTimes()).toHaveLength(1);
    expect(h.probeTimes()[0]).toBe(callAt + slottedProbeDelay({ intervalMs: interval, phase: phaseOf(SEED), now: callAt, notSoonerThanMs: interval * (1 - JITTER) }));
  });

  it('draws from the generator backoff uses: a loss draws the next value; without jitter, backoff is as it always was', async () => {
    const h = await healthyHarness({ settings: { probeJitter: JITTER } });
    await probeTimesOf(h, 4);
    const before = h.ctx().rngState;
    h.transport({ type: 'transport.closed', error: err('closed', 'gone') });
    await flush();
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().backoffMs).toBe(fullJitterDelay(0, h.ctx().settings, nextRandom(before).value));
    const plain = await healthyHarness();
    await probeTimesOf(plain, 4);
    expect(plain.ctx().rngState).toBe(SEED >>> 0);
    plain.transport({ type: 'transport.closed', error: err('closed', 'gone') });
    await flush();
    expect(plain.ctx().backoffMs).toBe(B[0]);
  });

  it('a new session draws a new phase, continuing the stream (no repeat of the first one)', async () => {
    const h = harness({ settings: { probeJitter: JITTER } }).start();
    await flush();
    await probeTimesOf(h, 2);
    const beforeLoss = h.ctx().rngState;
    h.transport({ type: 'transport.closed', error: err('closed', 'gone') });
    await flush();
    await advance(h.ctx().backoffMs);
    await flush();
    expect(h.state()).toBe('healthy');
    // One draw at the first connect; the loss draws the backoff, and the new session its phase.
    const backoff = nextRandom(beforeLoss);
    expect(h.ctx().rngState).toBe(nextRandom(backoff.state).state);
    expect(randomValueAt(h.ctx().rngState)).toBe(nextRandom(backoff.state).value);
    expect(randomValueAt(h.ctx().rngState)).not.toBe(phaseOf(SEED));
  });
});
