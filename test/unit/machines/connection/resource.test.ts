/**
 * The connection machine in virtual time (harness: test/support/connection-harness.ts).
 * `resource.exceeded` (the fleet's resource watch condemned the process group): torn down and
 * reconnected with the usual backoff, the reason recorded as `lastError.kind: "resource"`.
 */
import { describe, expect, it } from 'vitest';
import { B, err, advance, advanceTo, flush, harness, healthyHarness, degradedHarness, useConnectionHarness } from '../../../support/connection-harness.js';

useConnectionHarness();

const REASON = 'memory 612 MiB over limit 512 MiB for 30 s';

describe('resource.exceeded', () => {
  it('while healthy: closes the session, waits out the usual backoff, connects again', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 400);
    h.send({ type: 'resource.exceeded', error: err('resource', REASON) });
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().lastError).toMatchObject({ kind: 'resource', message: REASON, at: h.t0 + 400 });
    expect(h.ctx().backoffMs).toBe(B[0]);
    // The session is still open (unlike a lost transport): `reconnecting` closes it first.
    expect(h.closeCalls).toEqual([{ at: 400, session: h.sessions[0] }]);
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    await advance(B[0]!);
    expect(h.states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
    expect(h.sessions).toHaveLength(2);
    // The reason stays on record after the recovery.
    expect(h.ctx().lastError?.kind).toBe('resource');
  });

  it('while degraded: the same', async () => {
    const d = await degradedHarness();
    d.send({ type: 'resource.exceeded', error: err('resource', REASON) });
    expect(d.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting']);
    expect(d.ctx().lastError?.kind).toBe('resource');
  });

  it('is ignored where there is no serving session (connecting, reconnecting, stopped)', async () => {
    const h = harness();
    h.connectPlan.push('hang');
    h.start();
    await flush();
    expect(h.state()).toBe('connecting');
    h.send({ type: 'resource.exceeded', error: err('resource', REASON) });
    expect(h.state()).toBe('connecting');
    expect(h.ctx().lastError).toBeUndefined();

    const s = await healthyHarness();
    s.send({ type: 'stop' });
    await flush();
    s.send({ type: 'resource.exceeded', error: err('resource', REASON) });
    expect(s.state()).toBe('stopped');
    expect(s.ctx().lastError).toBeUndefined();
  });
});
