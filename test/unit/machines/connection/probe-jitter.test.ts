/**
 * The connection machine in virtual time (harness: test/support/connection-harness.ts).
 * Probe jitter: every probe interval is cut by a random share of up to `probeJitter`, drawn from the
 * connection's seeded generator (the one backoff draws from), so a fleet's probes spread out while
 * each connection stays reproducible.
 * (The other files of this folder set `probeJitter: 0` to pin exact probe times.)
 */
import { describe, expect, it } from 'vitest';
import { fullJitterDelay } from '../../../../src/core/policy/backoff.js';
import { healthyProbeInterval, jitteredProbeInterval } from '../../../../src/core/policy/probe-interval.js';
import { nextRandom, randomValueAt } from '../../../../src/core/policy/random.js';
import { S, SEED, SLOW, B, advance, advanceTo, degradedHarness, err, flush, harness, healthyHarness, useConnectionHarness } from '../../../support/connection-harness.js';
import type { Harness } from '../../../support/connection-harness.js';

useConnectionHarness();

const JITTER = 0.1;

/** The first `count` u's a connection of `seed` draws when nothing else draws (no failure), as the machine must draw them. */
function probeUs(seed: number, count: number): number[] {
  const values: number[] = [];
  let state = seed >>> 0;
  for (let index = 0; index < count; index += 1) {
    const random = nextRandom(state);
    values.push(random.value);
    state = random.state;
  }
  return values;
}

/** Runs a healthy connection whose every probe is fast until it has probed `count` times. */
async function probeTimesOf(h: Harness, count: number): Promise<number[]> {
  while (h.probeCalls.length < count) await advance(50);
  return h.probeTimes().slice(0, count);
}

describe('probe jitter', () => {
  it('cuts each healthy interval by interval × probeJitter × u, u drawn from the seed’s generator, one per interval', async () => {
    const h = await healthyHarness({ settings: { probeJitter: JITTER } });
    const times = await probeTimesOf(h, 6);
    const us = probeUs(SEED, 6);
    let at = 0;
    const expected = us.map((u, streak) => (at += jitteredProbeInterval(healthyProbeInterval(S, streak), JITTER, u)));
    expect(times).toEqual(expected);
    // Each gap within [interval × (1 − jitter), interval]: jitter never lengthens an interval.
    const gaps = times.map((time, index) => time - (index === 0 ? 0 : times[index - 1]!));
    gaps.forEach((gap, streak) => {
      const interval = healthyProbeInterval(S, streak);
      expect(gap).toBeLessThanOrEqual(interval);
      expect(gap).toBeGreaterThanOrEqual(Math.floor(interval * (1 - JITTER)));
    });
    // And it does cut: not every gap is the plain interval.
    expect(gaps.filter((gap, streak) => gap < healthyProbeInterval(S, streak)).length).toBeGreaterThan(3);
  });

  it('is deterministic for a given seed, and differs with the seed', async () => {
    const first = await probeTimesOf(await healthyHarness({ settings: { probeJitter: JITTER }, id: 'a' }), 5);
    const again = await probeTimesOf(await healthyHarness({ settings: { probeJitter: JITTER }, id: 'b' }), 5);
    const other = await probeTimesOf(await healthyHarness({ settings: { probeJitter: JITTER }, seed: SEED + 1 }), 5);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('spreads connections that became healthy in the same instant over the interval', async () => {
    const fleet = await Promise.all(Array.from({ length: 32 }, (_, index) => healthyHarness({ settings: { probeJitter: JITTER }, seed: 1_000 + index })));
    await advanceTo(fleet[0]!, 1_000);
    const firstProbes = fleet.map((h) => h.probeTimes()[0]!);
    for (const time of firstProbes) {
      expect(time).toBeGreaterThanOrEqual(900);
      expect(time).toBeLessThanOrEqual(1_000);
    }
    // Without jitter all 32 would probe at 1000 exactly; with it, they are spread over the 100 ms.
    expect(new Set(firstProbes).size).toBeGreaterThanOrEqual(24);
    expect(Math.max(...firstProbes) - Math.min(...firstProbes)).toBeGreaterThanOrEqual(70);
  });

  it('without it (probeJitter 0), connections admitted together probe together', async () => {
    const fleet = await Promise.all(Array.from({ length: 8 }, (_, index) => healthyHarness({ seed: 1_000 + index })));
    await advanceTo(fleet[0]!, 1_000);
    expect(new Set(fleet.map((h) => h.probeTimes()[0]))).toEqual(new Set([1_000]));
  });

  it('cuts the degraded interval too, never lengthening it', async () => {
    const h = await degradedHarness({ settings: { probeJitter: JITTER } });
    const degradedAt = h.probeTimes()[0]!;
    // The first probe itself was jittered (the slow one that degraded the connection).
    expect(degradedAt).toBe(jitteredProbeInterval(S.healthyIntervalMs, JITTER, probeUs(SEED, 1)[0]!));
    h.probePlan.push({ latencyMs: SLOW }, { latencyMs: SLOW }, { latencyMs: SLOW });
    while (h.probeCalls.length < 4) await advance(10);
    const times = h.probeTimes();
    const us = probeUs(SEED, 4).slice(1);
    times.slice(1).forEach((time, index) => {
      const gap = time - times[index]!;
      expect(gap).toBe(jitteredProbeInterval(S.degradedIntervalMs, JITTER, us[index]!));
      expect(gap).toBeLessThanOrEqual(S.degradedIntervalMs);
      expect(gap).toBeGreaterThanOrEqual(S.degradedIntervalMs * (1 - JITTER));
    });
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
  });

  it('a fast call that stands in for the probe restarts the interval with a fresh draw', async () => {
    const h = await healthyHarness({ settings: { probeJitter: JITTER } });
    await advanceTo(h, 600);
    h.send({ type: 'call.succeeded', latencyMs: 5 });
    await flush();
    const [, second] = probeUs(SEED, 2);
    const due = 600 + jitteredProbeInterval(healthyProbeInterval(S, 1), JITTER, second!);
    await advanceTo(h, due - 1);
    expect(h.probeCalls).toEqual([]);
    await advance(1);
    expect(h.probeTimes()).toEqual([due]);
  });

  it('draws from the generator backoff uses: a loss after probes draws the next value; without jitter, backoff is as it always was', async () => {
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

  it('a reconnect keeps drawing from where the stream was (no repeat of the first intervals)', async () => {
    const h = harness({ settings: { probeJitter: JITTER } }).start();
    await flush();
    await probeTimesOf(h, 2);
    const beforeLoss = h.ctx().rngState;
    h.transport({ type: 'transport.closed', error: err('closed', 'gone') });
    await flush();
    await advance(h.ctx().backoffMs);
    await flush();
    expect(h.state()).toBe('healthy');
    // Three draws so far (idle entered at healthy, and after each of two probes); the loss draws
    // the backoff, and the reconnect's idle the next one, continuing the stream.
    const backoff = nextRandom(beforeLoss);
    expect(h.ctx().rngState).toBe(nextRandom(backoff.state).state);
    expect(randomValueAt(h.ctx().rngState)).toBe(nextRandom(backoff.state).value);
  });
});
