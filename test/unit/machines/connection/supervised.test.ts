/**
 * The connection machine in virtual time (harness: test/support/connection-harness.ts).
 * Supervised: slots from the parent, and what the connection reports to it.
 */
import { describe, expect, it } from 'vitest';
import { S, B, err, harness, advance, flush, useConnectionHarness } from '../../../support/connection-harness.js';

useConnectionHarness();

// ---------------------------------------------------------------------------------------------
// Supervised: slots from the parent
// ---------------------------------------------------------------------------------------------

describe('supervised', () => {
  it('waits in reconnecting.awaitingSlot and asks the parent; only slot.granted connects', async () => {
    const h = harness({ supervised: true, id: 'files' }).startUnderParent();
    expect(h.value()).toEqual({ reconnecting: 'awaitingSlot' });
    // The first start's pass through `reconnecting` is not reported: the first transition the
    // parent hears of is `connecting`.
    expect(h.inbox()).toEqual([{ type: 'slot.requested', id: 'files' }]);
    await advance(60_000);
    expect(h.connectCalls).toEqual([]);
    expect(h.state()).toBe('reconnecting');

    h.send({ type: 'slot.granted' });
    expect(h.state()).toBe('connecting');
    expect(h.trail()).toEqual(['slot.requested', 'connecting']);
    await flush();
    expect(h.state()).toBe('healthy');
    // Reporting `healthy` is what frees the slot: the supervisor holds it until a non-connecting state.
    expect(h.trail()).toEqual(['slot.requested', 'connecting', 'healthy']);
    expect(h.states).toEqual(['reconnecting', 'connecting', 'healthy']);
  });

  it('reports the failure (freeing the slot) and asks again only after the backoff', async () => {
    const h = harness({ supervised: true, id: 'files' });
    h.connectPlan.push({ reject: err('transient') }, 'ok');
    h.startUnderParent();
    h.send({ type: 'slot.granted' });
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.trail()).toEqual(['slot.requested', 'connecting', 'reconnecting']);
    const failure = h.inbox().at(-1);
    expect(failure).toMatchObject({ type: 'state.changed', to: 'reconnecting', reason: expect.any(String) });
    await advance(B[0]! - 1);
    expect(h.inbox()).toHaveLength(3);
    await advance(1);
    expect(h.value()).toEqual({ reconnecting: 'awaitingSlot' });
    expect(h.trail()).toEqual(['slot.requested', 'connecting', 'reconnecting', 'slot.requested']);
    await advance(10_000);
    expect(h.connectCalls).toHaveLength(1);
    h.send({ type: 'slot.granted' });
    await flush();
    expect(h.states).toEqual(['reconnecting', 'connecting', 'reconnecting', 'connecting', 'healthy']);
    expect(h.trail().slice(-2)).toEqual(['connecting', 'healthy']);
  });

  it('reports leaving connecting on connect timeout, permanent failure and stop', async () => {
    const timeout = harness({ supervised: true });
    timeout.connectPlan.push('hang');
    timeout.startUnderParent();
    timeout.send({ type: 'slot.granted' });
    await advance(S.connectTimeoutMs);
    expect(timeout.trail()).toEqual(['slot.requested', 'connecting', 'reconnecting']);

    const permanent = harness({ supervised: true });
    permanent.connectPlan.push({ reject: err('permanent') });
    permanent.startUnderParent();
    permanent.send({ type: 'slot.granted' });
    await flush();
    expect(permanent.state()).toBe('failed');
    expect(permanent.trail()).toEqual(['slot.requested', 'connecting', 'failed']);

    const stopped = harness({ supervised: true });
    stopped.connectPlan.push('hang');
    stopped.startUnderParent();
    stopped.send({ type: 'slot.granted' });
    stopped.send({ type: 'stop' });
    expect(stopped.state()).toBe('stopped');
    await flush();
    // `connection.closed` follows once the transport is fully closed: safe to remove the child.
    expect(stopped.trail()).toEqual(['slot.requested', 'connecting', 'stopped', 'connection.closed']);
  });

  it('session expiry skips the backoff but still goes through a slot', async () => {
    const h = harness({ supervised: true });
    h.startUnderParent();
    h.send({ type: 'slot.granted' });
    await flush();
    h.transport({ type: 'session.expired', error: err('session-expired') });
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'awaitingSlot' });
    expect(h.trail()).toEqual(['slot.requested', 'connecting', 'healthy', 'reconnecting', 'slot.requested']);
    expect(h.connectCalls).toHaveLength(1);
  });

  it('forwards its probe results to the parent', async () => {
    const h = harness({ supervised: true, id: 'files' });
    h.probePlan.push({ latencyMs: 7 });
    h.startUnderParent();
    h.send({ type: 'slot.granted' });
    await flush();
    await advance(S.healthyIntervalMs);
    expect(h.inbox().filter((message) => message.type === 'probe.completed')).toEqual([
      { type: 'probe.completed', id: 'files', kind: 'ping', outcome: 'fast', latencyMs: 7, at: h.t0 + S.healthyIntervalMs },
    ]);
  });

  it('stop while awaiting a slot → stopped; a late grant is ignored', async () => {
    const h = harness({ supervised: true }).startUnderParent();
    h.send({ type: 'stop' });
    h.send({ type: 'slot.granted' });
    await flush();
    expect(h.states).toEqual(['reconnecting', 'stopped']);
    expect(h.connectCalls).toEqual([]);
    expect(h.trail()).toEqual(['slot.requested', 'stopped', 'connection.closed']);
  });

  it('a stop while already stopped and closed reports closed again, for a supervisor removing it', async () => {
    const h = harness({ supervised: true }).startUnderParent();
    h.send({ type: 'stop' });
    await flush();
    expect(h.trail()).toEqual(['slot.requested', 'stopped', 'connection.closed']);
    h.send({ type: 'stop' });
    expect(h.trail()).toEqual(['slot.requested', 'stopped', 'connection.closed', 'connection.closed']);
    expect(h.states).toEqual(['reconnecting', 'stopped']);
  });

  it('sends nothing to its parent when not supervised', async () => {
    const h = harness({ supervised: false }).startUnderParent();
    await flush();
    expect(h.state()).toBe('healthy');
    h.send({ type: 'reconnect' });
    await flush();
    expect(h.inbox()).toEqual([]);
    expect(h.states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
  });
});
