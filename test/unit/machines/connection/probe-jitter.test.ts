/**
 * The connection machine in virtual time (harness: test/support/connection-harness.ts).
 * Probe scheduling with jitter on (`probeJitter` above 0): a new session's first probe at a point
 * drawn over the whole interval; after a fast answer, the next one due an interval after this one
 * was due (a chain); after a slow answer, a miss or a call that stands in for the probe, an interval
 * from now cut by up to `probeJitter`. u's come from the connection's seeded generator (the one
 * backoff draws from), so a fleet's probes spread out while each connection stays reproducible.
 * (The other files of this folder set `probeJitter: 0` to pin exact probe times.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fullJitterDelay } from '../../../../src/core/policy/backoff.js';
import { healthyProbeInterval, jitteredProbeInterval } from '../../../../src/core/policy/probe-interval.js';
import { nextRandom, randomValueAt } from '../../../../src/core/policy/random.js';
import { goodStreakOf } from '../../../../src/machines/connection.machine.js';
import { S, SEED, SLOW, FAST, B, advance, advanceTo, err, flush, harness, healthyHarness, useConnectionHarness } from '../../../support/connection-harness.js';
import type { Harness, ProbeStep } from '../../../support/connection-harness.js';

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

/** Runs a healthy connection until it has probed `count` times (each probe as its plan says; fast by default). */
async function probeTimesOf(h: Harness, count: number): Promise<number[]> {
  while (h.probeCalls.length < count) await advance(50);
  return h.probeTimes().slice(0, count);
}

/** Where a new session's first probe falls: a point drawn over the whole interval. */
const firstAt = (u: number): number => jitteredProbeInterval(S.healthyIntervalMs, 1, u);

/** Healthy at t = 0 with jitter on; its first probe, slow, makes it degraded. */
async function degradedByFirstProbe(): Promise<Harness> {
  const h = await healthyHarness({ settings: { probeJitter: JITTER } });
  h.probePlan.push({ latencyMs: SLOW });
  const [first] = await probeTimesOf(h, 1);
  expect(first).toBe(firstAt(probeUs(SEED, 1)[0]!));
  expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
  return h;
}

describe('probe jitter', () => {
  it('puts a new session’s first probe at a point drawn over the whole interval, u from the seed’s generator', async () => {
    const h = await healthyHarness({ settings: { probeJitter: JITTER } });
    const [first] = await probeTimesOf(h, 1);
    expect(first).toBe(firstAt(probeUs(SEED, 1)[0]!));
    expect(first).toBeGreaterThanOrEqual(1);
    expect(first).toBeLessThanOrEqual(S.healthyIntervalMs);
  });

  it('after a fast answer, chains: the next probe is due a cut interval after this one was due, the stretch keeps its steps, and a late answer moves nothing', async () => {
    const h = await healthyHarness({ settings: { probeJitter: JITTER } });
    // Answers that come 50–250 ms after their probe started, as on a busy event loop; all fast.
    h.probePlan.push(...[50, 250, 0, 120, 80].map((answerAfterMs) => ({ latencyMs: FAST, answerAfterMs })));
    const times = await probeTimesOf(h, 6);
    expect(times[0]).toBe(firstAt(probeUs(SEED, 1)[0]!));
    const gaps = times.slice(1).map((time, index) => time - times[index]!);
    // Streak k after k good answers: 1500, 2250, 3375, 4000, 4000 with the harness settings, each cut by its own u.
    const us = probeUs(SEED, 6);
    expect(gaps).toEqual([1, 2, 3, 4, 5].map((streak) => jitteredProbeInterval(healthyProbeInterval(S, streak), JITTER, us[streak]!)));
    expect(h.state()).toBe('healthy');
  });

  it('without jitter, counts each interval from the answer, as it always did', async () => {
    const h = await healthyHarness();
    h.probePlan.push(...[50, 250].map((answerAfterMs) => ({ latencyMs: FAST, answerAfterMs })));
    const times = await probeTimesOf(h, 3);
    expect(times).toEqual([1_000, 1_000 + 50 + 1_500, 2_550 + 250 + 2_250]);
  });

  it.each([800, 1_600])('drops the chain for a point drawn over the whole interval when the answer came so late (%i ms) that the chain would follow within half an interval', async (lateMs) => {
    const h = await healthyHarness({ settings: { probeJitter: JITTER, pingTimeoutMs: 5_000 } });
    h.probePlan.push({ latencyMs: FAST, answerAfterMs: lateMs });
    const us = probeUs(SEED, 2);
    const times = await probeTimesOf(h, 2);
    const answeredAt = times[0]! + lateMs;
    const step = jitteredProbeInterval(healthyProbeInterval(S, 1), JITTER, us[1]!);
    // Chained, it would have been due at times[0] + step: within half an interval of the answer, or before it.
    expect(times[0]! + step - answeredAt).toBeLessThan(healthyProbeInterval(S, 1) / 2);
    expect(times[1]).toBe(answeredAt + jitteredProbeInterval(healthyProbeInterval(S, 1), 1, us[1]!));
  });

  it('spreads a burst of late answers (a stuck loop) over the whole interval again, instead of keeping it as a cluster', async () => {
    const seeds = Array.from({ length: 32 }, (_, index) => 3_000 + index);
    const fleet = await Promise.all(seeds.map((seed) => healthyHarness({ settings: { probeJitter: JITTER, pingTimeoutMs: 5_000 }, seed })));
    // Each first probe falls due somewhere in (0, 1000]; every answer arrives at t = 1700, as when a stuck loop gets to them all at once.
    fleet.forEach((h, index) => h.probePlan.push({ latencyMs: FAST, answerAfterMs: 1_700 - firstAt(probeUs(seeds[index]!, 1)[0]!) }));
    while (fleet.some((h) => h.probeCalls.length < 2)) await advance(50);
    const next = fleet.map((h) => h.probeTimes()[1]!);
    for (const time of next) {
      expect(time).toBeGreaterThan(1_700);
      expect(time).toBeLessThanOrEqual(1_700 + healthyProbeInterval(S, 1));
    }
    // Counted from the answers with a cut interval they would all fall within 150 ms (10 % of 1500).
    expect(Math.max(...next) - Math.min(...next)).toBeGreaterThan(1_000);
  });

  it('re-anchors at the answer after a probe run early by the `probe` command: never more than an interval after it', async () => {
    const h = await healthyHarness({ settings: { probeJitter: JITTER } });
    const us = probeUs(SEED, 2);
    expect(firstAt(us[0]!)).toBeGreaterThan(100);
    await advanceTo(h, 100);
    h.send({ type: 'probe' });
    await flush();
    const times = await probeTimesOf(h, 2);
    expect(times[0]).toBe(100);
    expect(times[1]).toBe(100 + jitteredProbeInterval(healthyProbeInterval(S, 1), JITTER, us[1]!));
    expect(times[1]! - 100).toBeLessThanOrEqual(healthyProbeInterval(S, 1));
  });

  it('spreads connections that became healthy in the same instant over the whole interval, and the chain keeps them spread', async () => {
    const fleet = await Promise.all(Array.from({ length: 32 }, (_, index) => healthyHarness({ settings: { probeJitter: JITTER }, seed: 1_000 + index })));
    await advanceTo(fleet[0]!, 2_600);
    const firstProbes = fleet.map((h) => h.probeTimes()[0]!);
    for (const time of firstProbes) {
      expect(time).toBeGreaterThanOrEqual(1);
      expect(time).toBeLessThanOrEqual(S.healthyIntervalMs);
    }
    // Without jitter all 32 would probe at 1000 exactly; with it, they are spread over the second.
    expect(new Set(firstProbes).size).toBeGreaterThanOrEqual(28);
    expect(Math.max(...firstProbes) - Math.min(...firstProbes)).toBeGreaterThanOrEqual(700);
    expect(fleet.map((h) => h.probeTimes()[1]! - h.probeTimes()[0]!)).toEqual(
      fleet.map((_, index) => jitteredProbeInterval(healthyProbeInterval(S, 1), JITTER, probeUs(1_000 + index, 2)[1]!)),
    );
  });

  it('without it (probeJitter 0), connections admitted together probe together', async () => {
    const fleet = await Promise.all(Array.from({ length: 8 }, (_, index) => healthyHarness({ seed: 1_000 + index })));
    await advanceTo(fleet[0]!, 1_000);
    expect(new Set(fleet.map((h) => h.probeTimes()[0]))).toEqual(new Set([1_000]));
  });

  it('after a slow answer, cuts the degraded interval from the answer, never lengthening it', async () => {
    const h = await degradedByFirstProbe();
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

  it('after a miss, counts from the miss: two misses stay pingTimeoutMs + the (cut) degraded interval apart', async () => {
    const h = await healthyHarness({ settings: { probeJitter: JITTER } });
    h.probePlan.push('hang', 'hang');
    const us = probeUs(SEED, 2);
    const times = await probeTimesOf(h, 2);
    expect(times[1]! - times[0]!).toBe(S.pingTimeoutMs + jitteredProbeInterval(S.degradedIntervalMs, JITTER, us[1]!));
    await advanceTo(h, times[1]! + S.pingTimeoutMs);
    expect(h.outcomes()).toEqual(['missed', 'missed']);
    expect(h.ctx().lastError?.kind).toBe('zombie');
  });

  it('chains good answers in degraded at the degraded interval, and a recovery at the healthy one', async () => {
    const h = await degradedByFirstProbe();
    // recoverAfter 2: the first good answer stays in degraded, the second recovers.
    h.probePlan.push({ latencyMs: FAST, answerAfterMs: 40 }, { latencyMs: FAST, answerAfterMs: 40 }, { latencyMs: FAST });
    const times = await probeTimesOf(h, 4);
    const us = probeUs(SEED, 4);
    expect(times[1]! - times[0]!).toBe(jitteredProbeInterval(S.degradedIntervalMs, JITTER, us[1]!));
    // Chained from the due instants: the 40 ms answers move nothing.
    expect(times[2]! - times[1]!).toBe(jitteredProbeInterval(S.degradedIntervalMs, JITTER, us[2]!));
    expect(times[3]! - times[2]!).toBe(jitteredProbeInterval(S.healthyIntervalMs, JITTER, us[3]!));
    expect(h.state()).toBe('healthy');
  });

  it('lets connections lined up by calls that ended together drift apart again, round by round', async () => {
    const fleet = await Promise.all(Array.from({ length: 32 }, (_, index) => healthyHarness({ settings: { probeJitter: JITTER }, seed: 2_000 + index })));
    // At t = 0, before any first probe: each call stands in for it.
    for (const h of fleet) h.send({ type: 'call.succeeded', latencyMs: FAST });
    await flush();
    const rounds = 8;
    while (fleet.some((h) => h.probeCalls.length < rounds)) await advance(50);
    const spreadOf = (round: number): number => {
      const times = fleet.map((h) => h.probeTimes()[round]!);
      return Math.max(...times) - Math.min(...times);
    };
    // The call lines them up within one cut (≤ 10 % of 1.5 s); each chained step adds its own cut.
    expect(spreadOf(0)).toBeLessThanOrEqual(150);
    expect(spreadOf(rounds - 1)).toBeGreaterThan(2 * spreadOf(0));
  });

  it('a fast call that stands in for the probe restarts the interval from the call, with a fresh draw', async () => {
    const h = await healthyHarness({ settings: { probeJitter: JITTER } });
    const [, second] = probeUs(SEED, 2);
    await advanceTo(h, 200);
    expect(h.probeCalls).toEqual([]);
    h.send({ type: 'call.succeeded', latencyMs: 5 });
    await flush();
    const due = 200 + jitteredProbeInterval(healthyProbeInterval(S, 1), JITTER, second!);
    await advanceTo(h, due - 1);
    expect(h.probeCalls).toEqual([]);
    await advance(1);
    expect(h.probeTimes()).toEqual([due]);
  });

  it('whatever probes answer and whatever arrives, every wait it sets runs out within (0, interval]', async () => {
    const probeStep: fc.Arbitrary<ProbeStep> = fc.oneof(
      fc.integer({ min: 0, max: 280 }).map((answerAfterMs) => ({ latencyMs: FAST, answerAfterMs })),
      fc.constant({ latencyMs: SLOW }),
      fc.constant<ProbeStep>('hang'),
      fc.constantFrom(err('timeout'), err('method-not-found')).map((error) => ({ reject: error })),
    );
    const event = fc.constantFrom('none', 'none', 'none', 'probe', 'fast call', 'slow call', 'failed call');
    const script = fc.record({
      seed: fc.integer({ min: 1, max: 1_000_000 }),
      probes: fc.array(probeStep, { minLength: 50, maxLength: 50 }),
      steps: fc.array(fc.record({ event, advanceMs: fc.integer({ min: 1, max: 400 }) }), { minLength: 60, maxLength: 60 }),
    });
    await fc.assert(
      fc.asyncProperty(script, async ({ seed, probes, steps }) => {
        const h = await healthyHarness({ settings: { probeJitter: JITTER }, seed });
        h.probePlan.push(...probes);
        const waits: Array<{ leftMs: number; intervalMs: number }> = [];
        let scheduled = h.ctx().probeDueAt;
        h.ref.subscribe(({ context, value }) => {
          if (context.probeDueAt === scheduled) return;
          scheduled = context.probeDueAt;
          const serving = (value as { serving?: { healthy?: string; degraded?: string } }).serving;
          if (serving?.healthy !== 'idle' && serving?.degraded !== 'idle') return;
          const intervalMs = serving.healthy ? healthyProbeInterval(S, goodStreakOf(context)) : S.degradedIntervalMs;
          waits.push({ leftMs: context.probeDueAt - Date.now(), intervalMs });
        });
        for (const { event: what, advanceMs } of steps) {
          if (what === 'probe') h.send({ type: 'probe' });
          if (what === 'fast call') h.send({ type: 'call.succeeded', latencyMs: FAST });
          if (what === 'slow call') h.send({ type: 'call.succeeded', latencyMs: SLOW });
          if (what === 'failed call') h.send({ type: 'call.failed', error: err('timeout') });
          await advance(advanceMs);
        }
        h.stop();
        expect(waits.length).toBeGreaterThan(0);
        for (const wait of waits) {
          expect(wait.leftMs).toBeGreaterThan(0);
          expect(wait.leftMs).toBeLessThanOrEqual(wait.intervalMs);
        }
      }),
      { numRuns: 30 },
    );
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
