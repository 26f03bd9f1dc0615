/**
 * The connection machine in virtual time (harness: test/support/connection-harness.ts).
 * Probing: slow and missed probes, degraded and zombie, recovery, quality; the tools/list fallback after -32601; the adaptive probe interval, with fast calls standing in for probes.
 */
import { describe, expect, it } from 'vitest';
import { healthyProbeInterval } from '../../../../src/core/policy/probe-interval.js';
import { goodStreakOf, missedStreakOf } from '../../../../src/machines/connection.machine.js';
import { S, FAST, SLOW, B, err, advance, advanceTo, healthyHarness, degradedHarness, useConnectionHarness } from '../../../support/connection-harness.js';

useConnectionHarness();

// ---------------------------------------------------------------------------------------------
// Probing: slow, missed, zombie
// ---------------------------------------------------------------------------------------------

describe('probing', () => {
  it('a slow probe → degraded; one good probe is not enough, recoverAfter (2) good probes → healthy', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ latencyMs: SLOW });
    await advanceTo(h, 999);
    expect(h.probeCalls).toEqual([]);
    await advance(1);
    expect(h.probeTimes()).toEqual([1000]);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });

    await advanceTo(h, 1000 + S.degradedIntervalMs);
    expect(h.probeTimes()).toEqual([1000, 1500]);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } }); // one good probe is not enough

    await advanceTo(h, 2000);
    expect(h.probeTimes()).toEqual([1000, 1500, 2000]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'healthy']);
    expect(h.outcomes()).toEqual(['slow', 'fast', 'fast']);
    expect(h.ctx().session).toBe(h.sessions[0]);
    // The whole spell in `serving` is one session: healthy → degraded → healthy neither closes nor replaces it.
    expect(h.closeCalls).toEqual([]);
    expect([...h.relays.keys()]).toEqual([h.sessions[0]]);
  });

  it('a slow probe while degraded keeps it degraded and starts the recovery count over', async () => {
    const h = await degradedHarness();
    h.probePlan.push({ latencyMs: FAST }, { latencyMs: SLOW }, { latencyMs: FAST }, { latencyMs: FAST });
    await advanceTo(h, 2000);
    expect(h.outcomes()).toEqual(['slow', 'fast', 'slow']);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    await advanceTo(h, 2500);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    await advanceTo(h, 3000);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'healthy']);
    expect(h.probeTimes()).toEqual([1000, 1500, 2000, 2500, 3000]);
  });

  it('missed probes: pingTimeout → degraded; zombieAfter misses → zombie → closeSession → reconnecting → connecting → healthy', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang', 'hang');
    const first = h.sessions[0];

    await advanceTo(h, 1000 + S.pingTimeoutMs - 1);
    expect(h.value()).toEqual({ serving: { healthy: 'probing' } });
    await advance(1);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(missedStreakOf(h.ctx())).toBe(1);
    expect(h.probeCalls[0]!.signal.aborted).toBe(true);

    await advanceTo(h, 1300 + 500);
    expect(h.probeTimes()).toEqual([1000, 1800]);
    await advanceTo(h, 1800 + 299);
    expect(h.value()).toEqual({ serving: { degraded: 'probing' } });
    await advance(1);

    // zombie → closeSession(first) → reconnecting
    expect(h.closeCalls).toEqual([{ at: 2100, session: first }]);
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.ctx().session).toBeUndefined();
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().backoffMs).toBe(B[0]);
    expect(h.ctx().lastError).toMatchObject({ kind: 'zombie' });
    expect(h.ctx().lastError?.message).toContain('2 probes in a row');

    await advance(B[0]!);
    expect(h.connectTimes()).toEqual([0, 2100 + B[0]!]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'zombie', 'reconnecting', 'connecting', 'healthy']);
    expect(h.ctx().session).toBe(h.sessions[1]);
    expect(h.sessions[1]).not.toBe(first);
    expect(h.outcomes()).toEqual(['missed', 'missed']);

    // The new session is probed afresh.
    await advance(1000);
    expect(h.probeCalls[2]!.input.session).toBe(h.sessions[1]);
    expect(h.state()).toBe('healthy');
  });

  it('a probe rejecting with kind "timeout" counts as a miss too', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ reject: err('timeout') }, { reject: err('timeout') });
    await advanceTo(h, 1000);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    await advanceTo(h, 1500);
    expect(h.closeCalls.map((call) => call.session)).toEqual([h.sessions[0]]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'zombie', 'reconnecting']);
    expect(h.outcomes()).toEqual(['missed', 'missed']);
  });

  it('misses below zombieAfter keep it degraded, and a good answer breaks the streak', async () => {
    const h = await healthyHarness({ settings: { zombieAfter: 3 } });
    // healthy miss (timeout) at 1000..1300, degraded miss by rejection at 1800, good probe at 2300,
    // then two misses at 2800 (rejection) and 3400 (timeout): only 2 in a row, so not a zombie.
    h.probePlan.push('hang', { reject: err('timeout') }, { latencyMs: FAST }, { reject: err('timeout') }, 'hang');
    await advanceTo(h, 1300);
    expect(missedStreakOf(h.ctx())).toBe(1);
    await advanceTo(h, 1800);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(missedStreakOf(h.ctx())).toBe(2);
    await advanceTo(h, 2300);
    expect(missedStreakOf(h.ctx())).toBe(0);
    await advanceTo(h, 2800);
    expect(missedStreakOf(h.ctx())).toBe(1);
    await advanceTo(h, 3300 + 300);
    expect(h.probeTimes()).toEqual([1000, 1800, 2300, 2800, 3300]);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(missedStreakOf(h.ctx())).toBe(2);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded']);
    // The third miss in a row (a timeout while degraded) makes it a zombie.
    h.probePlan.push('hang');
    await advanceTo(h, 3600 + 500 + 300);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'zombie', 'reconnecting']);
  });

  it('a fast tool call while degraded resets the miss streak', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang', 'hang');
    await advanceTo(h, 1300);
    expect(missedStreakOf(h.ctx())).toBe(1);
    h.send({ type: 'call.succeeded', latencyMs: 20 });
    expect(missedStreakOf(h.ctx())).toBe(0);
    expect(h.ctx().samples.toArray().at(-1)).toMatchObject({ ok: true, latencyMs: 20, source: 'call' });
    await advanceTo(h, 1800 + 300);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } }); // only one miss in a row now
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded']);
  });

  it('fast tool calls while degraded do not count toward recovery: only probes bring it back', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang', { latencyMs: 5 });
    await advanceTo(h, 1300);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    h.send({ type: 'call.succeeded', latencyMs: 5 });
    h.send({ type: 'call.succeeded', latencyMs: 5 });
    expect(goodStreakOf(h.ctx())).toBe(0);
    await advanceTo(h, 1800);
    // One good probe after two fast calls: recoverAfter is 2, so still degraded.
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded']);
  });

  it('emits probe.completed with outcomes fast, slow and missed', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ latencyMs: 7 }, { latencyMs: SLOW }, 'hang');
    await advanceTo(h, 1000); // fast
    await advanceTo(h, 2500); // slow → degraded
    await advanceTo(h, 3000 + 300); // missed
    expect(h.emitted).toEqual([
      { type: 'probe.completed', id: 'conn-1', kind: 'ping', outcome: 'fast', latencyMs: 7, at: h.t0 + 1000 },
      { type: 'probe.completed', id: 'conn-1', kind: 'ping', outcome: 'slow', latencyMs: SLOW, at: h.t0 + 2500 },
      { type: 'probe.completed', id: 'conn-1', kind: 'ping', outcome: 'missed', latencyMs: undefined, at: h.t0 + 3300 },
    ]);
  });

  it('updates quality after probes', async () => {
    const h = await healthyHarness();
    expect(h.ctx().samples.toArray()).toEqual([]);
    expect(h.ctx().quality.samples).toBe(0);
    expect(h.ctx().quality.score).toBe(0);
    await advanceTo(h, 1000 + 1500 + 2250);
    expect(h.probeCalls).toHaveLength(3);
    expect(h.ctx().samples.toArray()).toHaveLength(3);
    expect(h.ctx().samples.toArray().every((sample) => sample.ok && sample.source === 'probe' && sample.latencyMs === FAST)).toBe(true);
    expect(h.ctx().quality.samples).toBe(3);
    expect(h.ctx().quality.successRate).toBe(1);
    expect(h.ctx().quality.score).toBeGreaterThan(0);
    const goodScore = h.ctx().quality.score;

    h.probePlan.push('hang');
    await advance(3375 + 300);
    expect(h.ctx().samples.toArray()).toHaveLength(4);
    expect(h.ctx().samples.toArray().at(-1)).toMatchObject({ ok: false, source: 'probe' });
    expect(h.ctx().quality.successRate).toBeLessThan(1);
    expect(h.ctx().quality.score).toBeLessThan(goodScore);
  });
});

// ---------------------------------------------------------------------------------------------
// Method not found: a server without ping is probed with tools/list
// ---------------------------------------------------------------------------------------------

describe('method not found (-32601)', () => {
  it('answers ping with -32601 → stays healthy, switches to tools/list and probes with it', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ reject: err('method-not-found', 'MCP error -32601: Method not found') });
    await advanceTo(h, 1000);
    expect(h.probeCalls.map((call) => [call.at, call.input.kind])).toEqual([
      [1000, 'ping'],
      [1000, 'tools/list'],
    ]);
    expect(h.probeCalls[1]!.input.session).toBe(h.sessions[0]);
    expect(h.ctx().probeKind).toBe('tools/list');
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    expect(h.outcomes()).toEqual(['method-not-found', 'fast']);
    expect(h.emitted.map((event) => event.kind)).toEqual(['ping', 'tools/list']);

    await advanceTo(h, 1000 + healthyProbeInterval(S, 1));
    expect(h.probeCalls.map((call) => call.input.kind)).toEqual(['ping', 'tools/list', 'tools/list']);
    expect(h.states).toEqual(['connecting', 'healthy']);
  });

  it('does the same while degraded', async () => {
    const h = await degradedHarness();
    h.probePlan.push({ reject: err('method-not-found') });
    await advanceTo(h, 1500);
    expect(h.probeCalls.map((call) => [call.at, call.input.kind])).toEqual([
      [1000, 'ping'],
      [1500, 'ping'],
      [1500, 'tools/list'],
    ]);
    expect(h.ctx().probeKind).toBe('tools/list');
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    await advanceTo(h, 2000);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'healthy']);
  });

  it('-32601 to tools/list is no answer at all: it counts as a miss', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ reject: err('method-not-found') }, { reject: err('method-not-found') });
    await advanceTo(h, 1000);
    expect(h.probeCalls.map((call) => call.input.kind)).toEqual(['ping', 'tools/list']);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(h.outcomes()).toEqual(['method-not-found', 'missed']);
  });
});

// ---------------------------------------------------------------------------------------------
// Adaptive probe interval
// ---------------------------------------------------------------------------------------------

describe('probe interval', () => {
  it('stretches with good probes: 1000, 1500, 2250, 3375, then capped at 4000; a slow probe resets it', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 20_125);
    const times = h.probeTimes();
    expect(times).toEqual([1000, 2500, 4750, 8125, 12_125, 16_125, 20_125]);
    const gaps = times.map((at, index) => at - (times[index - 1] ?? 0));
    expect(gaps).toEqual([1000, 1500, 2250, 3375, 4000, 4000, 4000]);

    // A slow probe degrades and starts the streak over: back in healthy, the interval is short
    // again (recoverAfter good probes make a streak of 2 → 2250), not 4000.
    h.probePlan.push({ latencyMs: SLOW });
    await advanceTo(h, 24_125);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    await advanceTo(h, 25_125);
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    await advanceTo(h, 25_125 + 2250);
    // Back from degraded, the stretch starts over at the base interval.
    expect(h.probeTimes().slice(7)).toEqual([24_125, 24_625, 25_125, 26_125]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'healthy']);
  });

  it('a miss resets the stretch as well', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 8125);
    h.probePlan.push('hang');
    await advanceTo(h, 12_125 + 300);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(goodStreakOf(h.ctx())).toBe(0);
    await advanceTo(h, 12_425 + 500 + 500 + 2250);
    expect(h.probeTimes().slice(4)).toEqual([12_125, 12_925, 13_425, 14_425]);
  });

  it('a fast call.succeeded in healthy.idle replaces the due probe', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 600);
    h.send({ type: 'call.succeeded', latencyMs: 20 });
    expect(h.ctx().samples.toArray()).toEqual([{ at: h.t0 + 600, ok: true, latencyMs: 20, source: 'call' }]);
    await advanceTo(h, 1000);
    expect(h.probeCalls).toEqual([]);
    const next = 600 + healthyProbeInterval(S, 1);
    await advanceTo(h, next - 1);
    expect(h.probeCalls).toEqual([]);
    await advance(1);
    expect(h.probeTimes()).toEqual([next]);
    expect(h.states).toEqual(['connecting', 'healthy']);
  });

  it('one call.succeeded reporting several answers records each and skips the due probe if any was fast', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 600);
    const before = goodStreakOf(h.ctx());
    h.send({ type: 'call.succeeded', latencyMs: 20, latenciesMs: [SLOW, 20, 30] });
    const at = h.t0 + 600;
    expect(h.ctx().samples.toArray()).toEqual([
      { at, ok: true, latencyMs: SLOW, source: 'call' },
      { at, ok: true, latencyMs: 20, source: 'call' },
      { at, ok: true, latencyMs: 30, source: 'call' },
    ]);
    // Two of the three were fast, as two separate events would have counted.
    expect(goodStreakOf(h.ctx())).toBe(before + 2);
    expect(h.ctx().quality.samples).toBe(3);
    // The interval stretches with the good streak, as it does after each fast answer.
    const next = 600 + healthyProbeInterval(S, goodStreakOf(h.ctx()));
    await advanceTo(h, next - 1);
    expect(h.probeCalls).toEqual([]);
    await advance(1);
    expect(h.probeTimes()).toEqual([next]);
  });

  it('a connection kept busy by fast calls is never pinged', async () => {
    const h = await healthyHarness();
    for (let at = 900; at <= 10_000; at += 900) {
      await advanceTo(h, at);
      h.send({ type: 'call.succeeded', latencyMs: 5 });
    }
    expect(h.probeCalls).toEqual([]);
    expect(h.ctx().samples.toArray()).toHaveLength(11);
  });

  it('a slow call.succeeded does not stand in for the probe', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 600);
    h.send({ type: 'call.succeeded', latencyMs: SLOW });
    expect(h.ctx().samples.toArray()).toEqual([{ at: h.t0 + 600, ok: true, latencyMs: SLOW, source: 'call' }]);
    expect(goodStreakOf(h.ctx())).toBe(0);
    await advanceTo(h, 1000);
    expect(h.probeTimes()).toEqual([1000]);
  });

  it('a call.succeeded during a probe is recorded and the probe goes on', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang');
    await advanceTo(h, 1100);
    h.send({ type: 'call.succeeded', latencyMs: 30 });
    expect(h.value()).toEqual({ serving: { healthy: 'probing' } });
    expect(h.ctx().samples.toArray()).toEqual([{ at: h.t0 + 1100, ok: true, latencyMs: 30, source: 'call' }]);
    expect(h.probeCalls[0]!.signal.aborted).toBe(false);
  });
});
