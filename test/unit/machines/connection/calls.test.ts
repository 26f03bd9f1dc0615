/**
 * The connection machine in virtual time (harness: test/support/connection-harness.ts).
 * Calls as evidence: tool calls that fail, reported by the caller.
 */
import { describe, expect, it } from 'vitest';
import { B, err, advanceTo, flush, healthyHarness, degradedHarness, useConnectionHarness } from '../../../support/connection-harness.js';

useConnectionHarness();

// ---------------------------------------------------------------------------------------------
// Tool call results reported by the caller
// ---------------------------------------------------------------------------------------------

describe('call.failed', () => {
  it('kind "closed" → reconnecting with backoff', async () => {
    const h = await healthyHarness();
    h.send({ type: 'call.failed', error: err('closed', 'EPIPE'), latencyMs: 3 });
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().backoffMs).toBe(B[0]);
    expect(h.ctx().lastError).toMatchObject({ kind: 'closed', message: 'EPIPE' });
    expect(h.ctx().samples.toArray()).toEqual([{ at: h.t0, ok: false, latencyMs: 3, source: 'call' }]);
    await flush();
    expect(h.liveCloses()).toEqual([h.sessions[0]]);
    expect(h.connectCalls).toHaveLength(1);
  });

  it('kind "session-expired" → reconnecting with no backoff', async () => {
    const h = await healthyHarness();
    h.send({ type: 'call.failed', error: err('session-expired') });
    expect(h.ctx().backoffMs).toBe(0);
    expect(h.ctx().attempts).toBe(0);
    await flush();
    expect(h.connectTimes()).toEqual([0, 0]);
    expect(h.states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
  });

  it('other kinds only record a failed sample', async () => {
    const h = await healthyHarness();
    h.send({ type: 'call.failed', error: err('method-not-found') });
    h.send({ type: 'call.failed', error: err('permanent') });
    h.send({ type: 'call.failed', error: new Error('tool threw') });
    h.send({ type: 'call.failed', error: err('timeout'), latencyMs: 900 });
    // Each of these while healthy triggers one probe at once (calls are evidence); while that
    // probe runs, further failures are only recorded.
    expect(h.value()).toEqual({ serving: { healthy: 'probing' } });
    expect(h.ctx().samples.toArray().map((sample) => [sample.ok, sample.latencyMs, sample.source])).toEqual([
      [false, 0, 'call'],
      [false, 0, 'call'],
      [false, 0, 'call'],
      [false, 900, 'call'],
    ]);
    expect(h.ctx().attempts).toBe(0);
    expect(h.ctx().quality.successRate).toBe(0);
    await flush();
    expect(h.probeTimes()).toEqual([0]); // the probe ran at once, not at the 1000 ms interval
    expect(h.states).toEqual(['connecting', 'healthy']);
  });

  it('a timed-out call while healthy and idle triggers one immediate probe; a hung server leaves healthy within pingTimeoutMs', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang');
    h.send({ type: 'call.failed', error: err('timeout'), latencyMs: 900 });
    expect(h.value()).toEqual({ serving: { healthy: 'probing' } });
    await flush();
    expect(h.probeTimes()).toEqual([0]);
    // The probe started with the failed call gets no answer: degraded at t = pingTimeoutMs (300),
    // not at the next interval (1000) plus the timeout.
    await advanceTo(h, 300);
    expect(h.state()).toBe('degraded');
    expect(h.outcomes()).toEqual(['missed']);
  });

  it('works the same while degraded', async () => {
    const a = await degradedHarness();
    a.send({ type: 'call.failed', error: err('timeout') });
    expect(a.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(a.ctx().samples.toArray().at(-1)).toMatchObject({ ok: false, source: 'call' });
    a.send({ type: 'call.failed', error: err('closed') });
    expect(a.state()).toBe('reconnecting');
    expect(a.ctx().attempts).toBe(1);

    const b = await degradedHarness();
    b.send({ type: 'call.failed', error: err('session-expired') });
    await flush();
    expect(b.connectTimes()).toEqual([0, 1000]);
    expect(b.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting', 'connecting', 'healthy']);
  });
});
