/**
 * The connection machine in virtual time (harness: test/support/connection-harness.ts).
 * Reconnecting: full-jitter backoff, attempts and their reset, maxAttempts.
 */
import { describe, expect, it } from 'vitest';
import { backoffCeiling } from '../../../../src/core/policy/backoff.js';
import { resolveSettings } from '../../../../src/core/settings.js';
import { S, SMALL, SEED, FAST, SLOW, B, err, expectedBackoffs, harness, advance, advanceTo, flush, useConnectionHarness } from '../../../support/connection-harness.js';
import type { Harness } from '../../../support/connection-harness.js';

useConnectionHarness();

// ---------------------------------------------------------------------------------------------
// Backoff and attempts
// ---------------------------------------------------------------------------------------------

/** A connection healthy after `failures` transient failures (their backoffs waited out), and when it became so. */
async function healthyAfter(failures: number): Promise<{ h: Harness; since: number }> {
  const h = harness();
  h.connectPlan.push(...Array.from({ length: failures }, () => ({ reject: err('transient') })), 'ok');
  h.start();
  for (let attempt = 0; attempt < failures; attempt += 1) await advance(B[attempt]!);
  return { h, since: h.now() };
}

describe('backoff', () => {
  async function failingBackoffs(seed: number, count: number): Promise<Array<{ attempts: number; backoffMs: number }>> {
    const h = harness({ seed });
    h.connectDefault = { reject: err('transient') };
    h.start();
    await flush();
    const seen: Array<{ attempts: number; backoffMs: number }> = [];
    for (let index = 0; index < count; index += 1) {
      expect(h.state()).toBe('reconnecting');
      const { attempts, backoffMs } = h.ctx();
      seen.push({ attempts, backoffMs });
      await advance(backoffMs);
    }
    expect(h.connectCalls.map((call) => call.input.attempt)).toEqual(Array.from({ length: count + 1 }, (_, index) => index));
    return seen;
  }

  it('counts each failure and draws a full-jitter delay within min(maxBackoffMs, initial * multiplier^attempt)', async () => {
    const seen = await failingBackoffs(SEED, 16);
    expect(seen.map((entry) => entry.attempts)).toEqual(Array.from({ length: 16 }, (_, index) => index + 1));
    seen.forEach(({ backoffMs }, attempt) => {
      const ceiling = Math.min(S.maxBackoffMs, S.initialBackoffMs * S.multiplier ** attempt);
      expect(ceiling).toBe(backoffCeiling(attempt, S));
      expect(backoffMs).toBeGreaterThanOrEqual(0);
      expect(backoffMs).toBeLessThan(ceiling);
    });
    // Exactly the seeded sequence, so a fleet's behaviour is reproducible.
    expect(seen.map((entry) => entry.backoffMs)).toEqual(B);
    // The capped region is actually reached and jittered.
    expect(new Set(seen.slice(4).map((entry) => entry.backoffMs)).size).toBeGreaterThan(1);
  });

  it('the same seed gives the same delays; another seed gives others', async () => {
    const first = await failingBackoffs(SEED, 8);
    const again = await failingBackoffs(SEED, 8);
    const other = await failingBackoffs(SEED + 1, 8);
    expect(again).toEqual(first);
    expect(other.map((entry) => entry.backoffMs)).not.toEqual(first.map((entry) => entry.backoffMs));
  });

  it('attempts are forgiven at the first good answer after resetAfterMs of continuous healthy', async () => {
    const { h, since } = await healthyAfter(2);
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    expect(h.ctx().attempts).toBe(2);
    await advanceTo(h, since + S.resetAfterMs);
    // The spell is long enough now, but nothing has been seen of it yet: no timer of its own.
    const before = h.probeTimes().filter((at) => at < since + S.resetAfterMs).length;
    expect(h.ctx().attempts).toBe(2);
    // The next probe's good answer forgives them.
    const next = since + S.resetAfterMs + S.stableIntervalMs;
    while (h.probeTimes().length === before && h.now() < next) await advance(100);
    expect(h.probeTimes().length).toBe(before + 1);
    expect(h.probeTimes().at(-1)).toBeGreaterThanOrEqual(since + S.resetAfterMs);
    expect(h.ctx().attempts).toBe(0);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'reconnecting', 'connecting', 'healthy']);
  });

  it('a good answer before resetAfterMs forgives nothing', async () => {
    const { h, since } = await healthyAfter(1);
    await advanceTo(h, since + S.resetAfterMs - 1);
    expect(h.probeTimes().filter((at) => at >= since).length).toBeGreaterThan(1);
    expect(h.ctx().attempts).toBe(1);
  });

  // Every way out of healthy, right at resetAfterMs and 1 ms before it: the next failure counts
  // from 0 after a long enough spell (what the timer this replaced gave) and from 2 otherwise.
  describe('each way out of healthy, at resetAfterMs and just before', () => {
    const ways: Array<[string, (h: Harness) => Promise<void>, 'failure' | 'forgiven only']> = [
      ['transport.closed', async (h) => h.transport({ type: 'transport.closed', error: err('closed') }), 'failure'],
      ['call.failed (closed)', async (h) => h.send({ type: 'call.failed', error: err('closed') }), 'failure'],
      ['resource.exceeded', async (h) => h.send({ type: 'resource.exceeded', error: err('transient', 'rss over the limit') }), 'failure'],
      [
        'a lost probe',
        async (h) => {
          h.probePlan.push({ reject: err('closed') });
          h.send({ type: 'probe' });
          await flush();
        },
        'failure',
      ],
      [
        'a slow probe to degraded, then the transport',
        async (h) => {
          h.probePlan.push({ latencyMs: SLOW });
          h.send({ type: 'probe' });
          await flush();
          expect(h.state()).toBe('degraded');
          h.transport({ type: 'transport.closed', error: err('closed') });
        },
        'failure',
      ],
      ['a fast call in place of the probe', async (h) => h.send({ type: 'call.succeeded', latencyMs: FAST }), 'forgiven only'],
      ['reconnect', async (h) => h.send({ type: 'reconnect' }), 'forgiven only'],
    ];
    for (const [way, leave, kind] of ways) {
      for (const long of [true, false]) {
        it(`${way}, ${long ? 'at' : '1 ms before'} resetAfterMs`, async () => {
          const { h, since } = await healthyAfter(2);
          await advanceTo(h, since + S.resetAfterMs - (long ? 0 : 1));
          expect(h.ctx().attempts).toBe(2);
          await leave(h);
          await flush();
          const forgiven = kind === 'failure' ? 1 : 0;
          expect(h.ctx().attempts).toBe(long ? forgiven : forgiven + 2);
        });
      }
    }
  });

  it('a spell in degraded restarts the healthy clock for the reset', async () => {
    const { h, since } = await healthyAfter(1);
    h.probePlan.push({ latencyMs: SLOW });
    await advanceTo(h, since + 1000);
    expect(h.state()).toBe('degraded');
    await advanceTo(h, since + 2000);
    expect(h.state()).toBe('healthy');
    // Past resetAfterMs from the first healthy, not from the second: good answers forgive nothing.
    await advanceTo(h, since + 2000 + S.resetAfterMs - 1);
    expect(h.probeTimes().filter((at) => at >= since + S.resetAfterMs).length).toBeGreaterThan(0);
    expect(h.ctx().attempts).toBe(1);
    await advanceTo(h, since + 2000 + S.resetAfterMs + S.stableIntervalMs);
    expect(h.ctx().attempts).toBe(0);
  });

  it('maxAttempts reached → failed with lastError kind "exhausted"', async () => {
    const h = harness({ settings: { maxAttempts: 3 } });
    h.connectDefault = { reject: err('transient', 'refused again') };
    h.start();
    await advance(10_000);
    expect(h.connectCalls).toHaveLength(3);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'reconnecting', 'connecting', 'failed']);
    expect(h.ctx().attempts).toBe(3);
    expect(h.ctx().lastError).toMatchObject({ kind: 'exhausted' });
    expect(h.ctx().lastError?.message).toContain('gave up after 3 attempts');
    expect(h.ctx().lastError?.message).toContain('refused again');
  });

  it('maxAttempts holds even when the drawn backoff happens to be 0', async () => {
    // Seed 1 draws 0 ms for attempt 1 (see expectedBackoffs): the limit must still stop it.
    const settings = resolveSettings(SMALL, { maxAttempts: 2 });
    expect(expectedBackoffs(1, 2, settings)[1]).toBe(0);
    const h = harness({ seed: 1, settings: { maxAttempts: 2 } });
    h.connectDefault = { reject: err('transient') };
    h.start();
    await advance(10_000);
    expect(h.connectCalls).toHaveLength(2);
    expect(h.state()).toBe('failed');
    expect(h.ctx().lastError).toMatchObject({ kind: 'exhausted' });
  });

  it('maxAttempts reached from healthy still closes the live session before failing', async () => {
    const h = harness({ settings: { maxAttempts: 2 } });
    h.connectPlan.push({ reject: err('transient') }, 'ok');
    h.start();
    await advance(B[0]!);
    expect(h.state()).toBe('healthy');
    h.transport({ type: 'transport.closed', error: err('closed') });
    await flush();
    expect(h.state()).toBe('failed');
    // `failed` closes whatever session it holds; here reconnecting already closed it.
    expect(h.closeCalls.filter((call) => call.session !== undefined).map((call) => call.session)).toEqual([h.sessions[0]]);
    expect(h.ctx().session).toBeUndefined();
    expect(h.ctx().lastError).toMatchObject({ kind: 'exhausted' });
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'healthy', 'reconnecting', 'failed']);
  });
});
