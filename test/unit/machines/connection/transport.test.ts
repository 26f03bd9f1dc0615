/**
 * The connection machine in virtual time (harness: test/support/connection-harness.ts).
 * Hard transport evidence (transport closed, lost probes) and session expiry: reconnecting at once, without waiting for a probe.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionError } from '../../../../src/core/errors.js';
import { B, err, harness, advance, advanceTo, flush, healthyHarness, degradedHarness, useConnectionHarness } from '../../../support/connection-harness.js';
import type { Harness, HarnessOptions } from '../../../support/connection-harness.js';

useConnectionHarness();

// ---------------------------------------------------------------------------------------------
// Hard evidence: transport closed, session expired
// ---------------------------------------------------------------------------------------------

describe('hard transport evidence', () => {
  it('transport.closed while healthy → reconnecting at once, without waiting for a probe', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 400);
    h.transport({ type: 'transport.closed', error: err('closed', 'child exited with code 1') });
    expect(h.state()).toBe('reconnecting');
    expect(h.now()).toBe(400);
    expect(h.probeCalls).toEqual([]);
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().lastError).toMatchObject({ kind: 'closed', message: 'child exited with code 1' });
    expect(h.closeCalls).toEqual([{ at: 400, session: h.sessions[0] }]);
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.ctx().session).toBeUndefined();
    await advance(B[0]!);
    expect(h.states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
    expect(h.probeCalls).toEqual([]);
    expect([...h.relays.keys()]).toEqual([h.sessions[1]]); // the old session was closed: it reports no more
  });

  it('a process that exits under restart "never" → failed with its exit status (healthy and degraded)', async () => {
    const h = await healthyHarness();
    h.transport({ type: 'transport.closed', error: err('permanent', 'the server process exited (exit code 3, signal none) and restart is "never"') });
    expect(h.state()).toBe('failed');
    expect(h.ctx().lastError).toMatchObject({ kind: 'permanent', message: expect.stringMatching(/exit code 3/) });

    const d = await degradedHarness();
    d.transport({ type: 'transport.closed', error: err('permanent', 'exited; restart is "never"') });
    expect(d.states).toEqual(['connecting', 'healthy', 'degraded', 'failed']);
  });

  it('failed closes the session it was left with, even when closing fails', async () => {
    const h = await healthyHarness();
    h.transport({ type: 'transport.closed', error: err('permanent', 'exited; restart is "never"') });
    await flush();
    expect(h.state()).toBe('failed');
    expect(h.closeCalls.map((call) => call.session)).toEqual([h.sessions[0]]);
    expect(h.ctx().session).toBeUndefined();

    const d = await healthyHarness();
    d.closePlan.push({ reject: new Error('close failed') });
    d.transport({ type: 'transport.closed', error: err('permanent', 'exited; restart is "never"') });
    await flush();
    expect(d.state()).toBe('failed');
    expect(d.ctx().session).toBeUndefined();
  });

  it('an early process exit is carried in lastError and reported to a supervisor', async () => {
    const h = await healthyHarness();
    h.transport({ type: 'transport.closed', error: new ConnectionError('closed', 'exited after 20 ms', { earlyExit: true }) });
    expect(h.ctx().lastError).toMatchObject({ kind: 'closed', earlyExit: true });
  });

  it('transport.closed during a probe aborts the probe', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang');
    await advanceTo(h, 1100);
    h.transport({ type: 'transport.closed', error: err('closed') });
    expect(h.state()).toBe('reconnecting');
    expect(h.probeCalls[0]!.signal.aborted).toBe(true);
  });

  it('transport.closed while degraded → reconnecting at once', async () => {
    const h = await degradedHarness();
    await advanceTo(h, 1200);
    h.transport({ type: 'transport.closed', error: err('closed') });
    expect(h.state()).toBe('reconnecting');
    expect(h.probeTimes()).toEqual([1000]);
    expect(h.closeCalls.map((call) => call.session)).toEqual([h.sessions[0]]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting']);
  });

  it('a probe rejecting with kind "closed" → reconnecting (healthy and degraded)', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ reject: err('closed', 'ECONNRESET') });
    await advanceTo(h, 1000);
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().lastError).toMatchObject({ kind: 'closed', message: 'ECONNRESET' });
    expect(h.outcomes()).toEqual(['closed']);
    expect(h.ctx().samples.toArray().at(-1)).toMatchObject({ ok: false, source: 'probe' });

    const d = await degradedHarness();
    d.probePlan.push({ reject: err('closed') });
    await advanceTo(d, 1500);
    expect(d.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting']);
    expect(d.outcomes()).toEqual(['slow', 'closed']);
    expect(d.closeCalls.map((call) => call.session)).toEqual([d.sessions[0]]);
  });
});

describe('session expired', () => {
  /** Healthy with one failed attempt behind it, so "attempts not incremented" means something. */
  async function healthyAfterOneFailure(options?: HarnessOptions): Promise<{ h: Harness; at: number }> {
    const h = harness(options);
    h.connectPlan.push({ reject: err('transient') }, 'ok');
    h.start();
    await advance(B[0]!);
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    expect(h.ctx().attempts).toBe(1);
    return { h, at: h.now() };
  }

  it('session.expired → reconnecting with no backoff → connecting at once; attempts unchanged', async () => {
    const { h, at } = await healthyAfterOneFailure();
    await advanceTo(h, at + 200);
    h.transport({ type: 'session.expired', error: err('session-expired', 'HTTP 404 with session id') });
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().backoffMs).toBe(0);
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().lastError).toMatchObject({ kind: 'session-expired', message: 'HTTP 404 with session id' });
    await flush();
    expect(h.closeCalls).toEqual([{ at: at + 200, session: h.sessions[0] }]);
    expect(h.connectTimes()).toEqual([0, at, at + 200]);
    expect(h.connectCalls[2]!.input.attempt).toBe(1);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
    expect(h.ctx().session).toBe(h.sessions[1]);
  });

  it('a probe rejecting with kind "session-expired" does the same', async () => {
    const { h, at } = await healthyAfterOneFailure();
    h.probePlan.push({ reject: err('session-expired') });
    await advanceTo(h, at + 1000);
    expect(h.connectTimes()).toEqual([0, at, at + 1000]);
    expect(h.ctx().attempts).toBe(1);
    expect(h.outcomes()).toEqual(['session-expired']);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
  });

  it('works the same from degraded (event and probe)', async () => {
    const a = await degradedHarness();
    a.transport({ type: 'session.expired', error: err('session-expired') });
    await flush();
    expect(a.connectTimes()).toEqual([0, 1000]);
    expect(a.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting', 'connecting', 'healthy']);
    expect(a.ctx().attempts).toBe(0);

    const b = await degradedHarness();
    b.probePlan.push({ reject: err('session-expired') });
    await advanceTo(b, 1500);
    expect(b.connectTimes()).toEqual([0, 1500]);
    expect(b.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting', 'connecting', 'healthy']);
    expect(b.outcomes()).toEqual(['slow', 'session-expired']);
  });
});
