/**
 * The connection machine in virtual time (harness: test/support/connection-harness.ts).
 * Operator commands: stop, start, reconnect and probe, from every state, and the ones that do not apply.
 */
import { describe, expect, it } from 'vitest';
import { healthyProbeInterval } from '../../../../src/core/policy/probe-interval.js';
import { S, B, err, harness, advance, advanceTo, flush, healthyHarness, degradedHarness, useConnectionHarness } from '../../../support/connection-harness.js';

useConnectionHarness();

// ---------------------------------------------------------------------------------------------
// Operator commands
// ---------------------------------------------------------------------------------------------

describe('commands', () => {
  it('stop from connecting → stopped; the attempt is aborted and nothing retries', async () => {
    const h = harness();
    h.connectPlan.push('hang');
    h.start();
    await advance(100);
    h.send({ type: 'stop' });
    await flush();
    expect(h.states).toEqual(['connecting', 'stopped']);
    expect(h.connectCalls[0]!.signal.aborted).toBe(true);
    expect(h.liveCloses()).toEqual([]);
    await advance(60_000);
    expect(h.connectCalls).toHaveLength(1);
    expect(h.state()).toBe('stopped');
  });

  it('stop from healthy → stopped, closing the session; no more probes', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 500);
    h.send({ type: 'stop' });
    await flush();
    expect(h.states).toEqual(['connecting', 'healthy', 'stopped']);
    expect(h.closeCalls).toEqual([{ at: 500, session: h.sessions[0] }]);
    expect(h.ctx().session).toBeUndefined();
    expect(h.relays.size).toBe(0);
    await advance(60_000);
    expect(h.probeCalls).toEqual([]);
    expect(h.connectCalls).toHaveLength(1);
  });

  it('stop from healthy with a close that fails still forgets the session', async () => {
    const h = await healthyHarness();
    h.closePlan.push({ reject: new Error('kill failed') });
    h.send({ type: 'stop' });
    await flush();
    expect(h.state()).toBe('stopped');
    expect(h.ctx().session).toBeUndefined();
  });

  it('stop from degraded → stopped, closing the session', async () => {
    const h = await degradedHarness();
    h.send({ type: 'stop' });
    await flush();
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'stopped']);
    expect(h.liveCloses()).toEqual([h.sessions[0]]);
    expect(h.ctx().session).toBeUndefined();
  });

  it('stop from zombie (teardown still running) → stopped, which closes the session again', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang', 'hang');
    h.closePlan.push('hang');
    await advanceTo(h, 2100);
    expect(h.state()).toBe('zombie');
    expect(h.ctx().lastError).toMatchObject({ kind: 'zombie' });
    h.send({ type: 'stop' });
    await flush();
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'zombie', 'stopped']);
    expect(h.liveCloses()).toEqual([h.sessions[0], h.sessions[0]]);
    expect(h.ctx().session).toBeUndefined();
  });

  it('a zombie whose teardown fails still goes on to reconnecting', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang', 'hang');
    h.closePlan.push({ reject: new Error('SIGKILL failed') });
    await advanceTo(h, 2100);
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.ctx().session).toBeUndefined();
    expect(h.ctx().attempts).toBe(1);
    await advance(B[0]!);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'zombie', 'reconnecting', 'connecting', 'healthy']);
  });

  it('stop while waiting out the backoff → stopped; the backoff timer does not fire', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('transient') });
    h.start();
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    h.send({ type: 'stop' });
    await advance(10_000);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'stopped']);
    expect(h.connectCalls).toHaveLength(1);
  });

  it('stop from failed → stopped', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('permanent', 'command not found') });
    h.start();
    await flush();
    h.send({ type: 'stop' });
    await flush();
    expect(h.states).toEqual(['connecting', 'failed', 'stopped']);
  });

  it('start from stopped → connecting (no backoff) → healthy, with attempts and probe kind reset', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('transient') }, 'ok');
    h.start();
    await flush();
    h.send({ type: 'stop' });
    await flush();
    expect(h.ctx().attempts).toBe(1);
    await advanceTo(h, 50);
    h.send({ type: 'start' });
    expect(h.ctx().attempts).toBe(0);
    await flush();
    expect(h.connectCalls.map((call) => [call.at, call.input.attempt])).toEqual([
      [0, 0],
      [50, 0],
    ]);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'stopped', 'connecting', 'healthy']);
    expect(h.ctx().probeKind).toBe('ping');
  });

  it('start after a tools/list switch goes back to ping', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ reject: err('method-not-found') });
    await advanceTo(h, 1000);
    expect(h.ctx().probeKind).toBe('tools/list');
    h.send({ type: 'stop' });
    h.send({ type: 'start' });
    // The stop's teardown has not finished yet, so the new start waits for its own close first.
    expect(h.value()).toEqual({ reconnecting: 'closing' });
    await flush();
    expect(h.ctx().probeKind).toBe('ping');
    expect(h.liveCloses()).toEqual([h.sessions[0], h.sessions[0]]);
    expect(h.connectTimes()).toEqual([0, 1000]);
    expect(h.states).toEqual(['connecting', 'healthy', 'stopped', 'reconnecting', 'connecting', 'healthy']);
  });

  it('reconnect from healthy → reconnecting (closes the session) → connecting without backoff', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 300);
    h.send({ type: 'reconnect' });
    expect(h.state()).toBe('reconnecting');
    await flush();
    expect(h.closeCalls).toEqual([{ at: 300, session: h.sessions[0] }]);
    expect(h.connectTimes()).toEqual([0, 300]);
    expect(h.ctx().attempts).toBe(0);
    expect(h.ctx().session).toBe(h.sessions[1]);
    expect(h.states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
  });

  it('reconnect from healthy waits for the old session to close first', async () => {
    const h = await healthyHarness();
    h.closePlan.push('hang');
    h.send({ type: 'reconnect' });
    await advance(10_000);
    expect(h.value()).toEqual({ reconnecting: 'closing' });
    expect(h.connectCalls).toHaveLength(1);
  });

  it('reconnect goes on when closing the old session fails', async () => {
    const h = await healthyHarness();
    h.closePlan.push({ reject: new Error('close failed') });
    h.send({ type: 'reconnect' });
    await flush();
    expect(h.connectTimes()).toEqual([0, 0]);
    expect(h.ctx().session).toBe(h.sessions[1]);
    expect(h.states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
  });

  it('reconnect from degraded → reconnecting → connecting without backoff', async () => {
    const h = await degradedHarness();
    await advanceTo(h, 1100);
    h.send({ type: 'reconnect' });
    await flush();
    expect(h.liveCloses()).toEqual([h.sessions[0]]);
    expect(h.connectTimes()).toEqual([0, 1100]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting', 'connecting', 'healthy']);
  });

  it('reconnect during the backoff skips the wait', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('transient') }, 'ok');
    h.start();
    await flush();
    expect(B[0]).toBeGreaterThan(10);
    await advanceTo(h, 10);
    h.send({ type: 'reconnect' });
    await flush();
    expect(h.connectCalls.map((call) => [call.at, call.input.attempt])).toEqual([
      [0, 0],
      [10, 1],
    ]);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'healthy']);
  });

  it('reconnect from failed → connecting, forgiving past attempts', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('permanent', '401') }, 'ok');
    h.start();
    await flush();
    expect(h.state()).toBe('failed');
    await advanceTo(h, 5000);
    h.send({ type: 'reconnect' });
    await flush();
    expect(h.connectCalls.map((call) => [call.at, call.input.attempt])).toEqual([
      [0, 0],
      [5000, 0],
    ]);
    expect(h.states).toEqual(['connecting', 'failed', 'connecting', 'healthy']);

    const exhausted = harness({ settings: { maxAttempts: 1 } });
    exhausted.connectPlan.push({ reject: err('transient') }, 'ok');
    exhausted.start();
    await flush();
    expect(exhausted.state()).toBe('failed');
    expect(exhausted.ctx().attempts).toBe(1);
    exhausted.send({ type: 'reconnect' });
    await flush();
    expect(exhausted.ctx().attempts).toBe(0);
    expect(exhausted.states).toEqual(['connecting', 'failed', 'connecting', 'healthy']);
  });

  it('ignores commands that do not apply', async () => {
    const h = await healthyHarness();
    h.send({ type: 'start' });
    h.send({ type: 'slot.granted' });
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    await advanceTo(h, 1000);
    expect(h.connectCalls).toHaveLength(1);
    expect(h.probeTimes()).toEqual([1000]);

    h.probePlan.push('hang');
    await advanceTo(h, 2500);
    h.send({ type: 'probe' }); // already probing
    expect(h.probeTimes()).toEqual([1000, 2500]);

    h.send({ type: 'stop' });
    await flush();
    h.send({ type: 'reconnect' });
    h.send({ type: 'stop' });
    h.send({ type: 'probe' });
    h.send({ type: 'call.succeeded', latencyMs: 1 });
    await advance(60_000);
    expect(h.state()).toBe('stopped');
    expect(h.connectCalls).toHaveLength(1);
    expect(h.probeCalls).toHaveLength(2);
    expect(h.states).toEqual(['connecting', 'healthy', 'stopped']);

    const c = harness();
    c.connectPlan.push('hang');
    c.start();
    c.send({ type: 'start' });
    c.send({ type: 'reconnect' });
    c.send({ type: 'probe' });
    await advance(100);
    expect(c.connectCalls).toHaveLength(1);
    expect(c.probeCalls).toEqual([]);
    expect(c.states).toEqual(['connecting']);

    const r = harness();
    r.connectPlan.push({ reject: err('transient') });
    r.start();
    await flush();
    r.send({ type: 'start' });
    r.send({ type: 'probe' });
    expect(r.value()).toEqual({ reconnecting: 'backoff' });
    expect(r.probeCalls).toEqual([]);
  });

  it('probe in healthy.idle starts a probe at once', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 200);
    h.send({ type: 'probe' });
    expect(h.probeTimes()).toEqual([200]);
    await flush();
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    await advanceTo(h, 200 + healthyProbeInterval(S, 1));
    expect(h.probeTimes()).toEqual([200, 1700]);
  });

  it('probe in degraded.idle starts a probe at once', async () => {
    const h = await degradedHarness();
    await advanceTo(h, 1100);
    h.send({ type: 'probe' });
    expect(h.probeTimes()).toEqual([1000, 1100]);
    await flush();
    await advanceTo(h, 1600);
    expect(h.probeTimes()).toEqual([1000, 1100, 1600]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'healthy']);
  });
});
