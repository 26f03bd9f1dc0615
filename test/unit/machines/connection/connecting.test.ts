/**
 * The connection machine in virtual time (harness: test/support/connection-harness.ts).
 * Connecting: the first connect, transient and permanent connect errors, the connect timeout.
 */
import { describe, expect, it } from 'vitest';
import { toConnectionError } from '../../../../src/runtime/classify.js';
import { SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';
import { S, B, err, harness, advance, advanceTo, flush, useConnectionHarness } from '../../../support/connection-harness.js';

useConnectionHarness();

// ---------------------------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------------------------

describe('connecting', () => {
  it('starts unsupervised: connecting → healthy, with the session stored and reporting to this connection', async () => {
    const h = harness().start();
    expect(h.state()).toBe('connecting');
    expect(h.connectCalls.map(({ input: { id, attempt } }) => ({ id, attempt }))).toEqual([{ id: 'conn-1', attempt: 0 }]);
    expect(h.connectCalls[0]!.input.connection).toBe(h.ref);
    await flush();
    expect(h.states).toEqual(['connecting', 'healthy']);
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    const session = h.sessions[0];
    expect(session).toBeDefined();
    expect(h.ctx().session).toBe(session);
    expect(h.ctx().attempts).toBe(0);
    expect(h.ctx().lastError).toBeUndefined();
    expect([...h.relays]).toEqual([[session, h.ref]]);
    expect(h.probeCalls).toEqual([]);
  });

  it('a transient connect error → reconnecting, then connecting again exactly after the backoff', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('transient', 'ECONNREFUSED-ish hiccup') }, 'ok');
    h.start();
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().backoffMs).toBe(B[0]);
    expect(h.ctx().lastError).toMatchObject({ kind: 'transient', message: 'ECONNREFUSED-ish hiccup' });
    expect(B[0]).toBeGreaterThan(1);

    await advanceTo(h, B[0]! - 1);
    expect(h.state()).toBe('reconnecting');
    expect(h.connectCalls).toHaveLength(1);

    await advance(1);
    expect(h.connectTimes()).toEqual([0, B[0]]);
    expect(h.connectCalls[1]!.input).toMatchObject({ id: 'conn-1', attempt: 1 });
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'healthy']);
    expect(h.closeCalls).toEqual([]); // no session to close after a failed connect
  });

  it('treats an error that is not a ConnectionError as transient', async () => {
    const h = harness();
    h.connectPlan.push({ reject: new Error('weird') });
    h.start();
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.ctx().lastError).toMatchObject({ kind: 'transient', message: 'weird' });
  });

  it('a connect that exceeds connectTimeoutMs → reconnecting, and the attempt is aborted', async () => {
    const h = harness();
    h.connectPlan.push('hang');
    h.start();
    await advanceTo(h, S.connectTimeoutMs - 1);
    expect(h.state()).toBe('connecting');
    expect(h.connectCalls[0]!.signal.aborted).toBe(false);

    await advance(1);
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.connectCalls[0]!.signal.aborted).toBe(true);
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().backoffMs).toBe(B[0]);
    expect(h.ctx().lastError).toMatchObject({ kind: 'timeout', at: Date.now() });
    expect(h.ctx().lastError?.message).toContain('2000 ms');

    await advance(B[0]!);
    expect(h.connectTimes()).toEqual([0, 2000 + B[0]!]);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'healthy']);
  });

  it('a permanent error (command not found) → failed at once, holding the reason, and never retries', async () => {
    const h = harness();
    h.connectPlan.push({ reject: toConnectionError(Object.assign(new Error('spawn nope ENOENT'), { code: 'ENOENT', syscall: 'spawn nope', path: 'nope' })) });
    h.start();
    await flush();
    expect(h.states).toEqual(['connecting', 'failed']);
    expect(h.ctx().lastError).toMatchObject({ kind: 'permanent' });
    expect(h.ctx().lastError?.message).toContain('command not found');
    expect(h.ctx().attempts).toBe(0);
    await advance(60_000);
    expect(h.connectCalls).toHaveLength(1);
    expect(h.states).toEqual(['connecting', 'failed']);
  });

  it('an HTTP 401 is permanent too', async () => {
    const h = harness();
    h.connectPlan.push({ reject: toConnectionError(new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, 'Unauthorized', { status: 401 })) });
    h.start();
    await flush();
    expect(h.states).toEqual(['connecting', 'failed']);
    expect(h.ctx().lastError).toMatchObject({ kind: 'permanent' });
    expect(h.ctx().lastError?.message).toContain('Unauthorized');
    await advance(60_000);
    expect(h.connectCalls).toHaveLength(1);
  });
});
