/**
 * The supervisor's pure policies (docs/design.md §3): admission under a cap by priority with a reserved
 * share for the top class, flap detection and quarantine length, panic detection and its end.
 */
import { describe, expect, it } from 'vitest';
import { admit, compareRequests, defaultReservedSlots } from '../../../src/core/policy/admission.js';
import type { AdmissionInput, SlotRequest } from '../../../src/core/policy/admission.js';
import { DEFAULT_FLAP_SETTINGS, isFlapping, quarantineDuration, recentDeaths } from '../../../src/core/policy/flapping.js';
import { DEFAULT_PANIC_SETTINGS, panicOver, shouldPanic } from '../../../src/core/policy/panic.js';

function req(id: string, priority: number, requestedAt: number): SlotRequest {
  return { id, priority, requestedAt };
}

/** Admission with everything admissible, nothing held, no reservation unless given. */
function run(queue: SlotRequest[], overrides: Partial<AdmissionInput> = {}): string[] {
  const priorities = new Map(queue.map((request) => [request.id, request.priority]));
  return admit({
    queue,
    inFlight: new Set(),
    priorityOf: (id) => priorities.get(id) ?? 0,
    maxConcurrent: 4,
    reservedForTop: 0,
    topPriority: Math.max(0, ...queue.map((request) => request.priority)),
    isAdmissible: () => true,
    ...overrides,
  });
}

describe('compareRequests', () => {
  it('orders higher priority first', () => {
    expect(compareRequests(req('a', 2, 100), req('b', 1, 0))).toBeLessThan(0);
    expect(compareRequests(req('a', 1, 0), req('b', 2, 100))).toBeGreaterThan(0);
  });

  it('orders the longest waiting first within a priority', () => {
    expect(compareRequests(req('z', 1, 10), req('a', 1, 20))).toBeLessThan(0);
    expect(compareRequests(req('a', 1, 20), req('z', 1, 10))).toBeGreaterThan(0);
  });

  it('breaks full ties by id, so the order is total and stable', () => {
    expect(compareRequests(req('a', 1, 10), req('b', 1, 10))).toBeLessThan(0);
    expect(compareRequests(req('b', 1, 10), req('a', 1, 10))).toBeGreaterThan(0);
    expect(compareRequests(req('a', 1, 10), req('a', 1, 10))).toBe(0);
  });

  it('sorts a mixed queue by priority desc, then requestedAt asc', () => {
    const queue = [req('c', 0, 1), req('b', 3, 50), req('a', 3, 40), req('d', 1, 0), req('e', 0, 0)];
    expect([...queue].sort(compareRequests).map((request) => request.id)).toEqual(['a', 'b', 'd', 'e', 'c']);
  });
});

describe('defaultReservedSlots', () => {
  it('reserves 1 in 4, at least 1 from 2 slots on, none with a single slot', () => {
    expect(defaultReservedSlots(0)).toBe(0);
    expect(defaultReservedSlots(1)).toBe(0);
    expect(defaultReservedSlots(2)).toBe(1);
    expect(defaultReservedSlots(3)).toBe(1);
    expect(defaultReservedSlots(4)).toBe(1);
    expect(defaultReservedSlots(7)).toBe(1);
    expect(defaultReservedSlots(8)).toBe(2);
    expect(defaultReservedSlots(16)).toBe(4);
  });
});

describe('admit', () => {
  it('never admits more than the cap', () => {
    const queue = Array.from({ length: 10 }, (_, index) => req(`s${index}`, 0, index));
    expect(run(queue, { maxConcurrent: 3 })).toEqual(['s0', 's1', 's2']);
    expect(run(queue, { maxConcurrent: 0 })).toEqual([]);
  });

  it('sorts a queue given in any order, and reads a queue marked sorted as it is, stopping at the cap', () => {
    const queue = [req('late', 0, 9), req('top', 5, 3), req('early', 0, 1)];
    expect(run(queue, { maxConcurrent: 2 })).toEqual(['top', 'early']);
    // The supervisor keeps its queue in admission order and says so: no sort, the order is trusted.
    expect(run(queue, { maxConcurrent: 2, sorted: true })).toEqual(['late', 'top']);
    let looked = 0;
    const long = Array.from({ length: 10_000 }, (_, index) => req(`s${index}`, 0, index));
    expect(run(long, { maxConcurrent: 1, sorted: true, isAdmissible: () => (looked += 1) > 0 })).toEqual(['s0']);
    expect(looked).toBe(1);
  });

  it('counts slots already held against the cap', () => {
    const queue = [req('a', 0, 0), req('b', 0, 1), req('c', 0, 2)];
    expect(run(queue, { maxConcurrent: 3, inFlight: new Set(['x', 'y']) })).toEqual(['a']);
    expect(run(queue, { maxConcurrent: 3, inFlight: new Set(['x', 'y', 'z']) })).toEqual([]);
    // More held than the cap (panic lowered it): nothing, and never a negative count.
    expect(run(queue, { maxConcurrent: 1, inFlight: new Set(['x', 'y']) })).toEqual([]);
  });

  it('does not admit a request whose id already holds a slot', () => {
    const queue = [req('a', 0, 0), req('b', 0, 1)];
    expect(run(queue, { maxConcurrent: 4, inFlight: new Set(['a']) })).toEqual(['b']);
  });

  it('admits by priority desc, then longest waiting', () => {
    const queue = [req('low-old', 0, 0), req('high-new', 2, 300), req('mid', 1, 100), req('high-old', 2, 200)];
    expect(run(queue, { maxConcurrent: 3 })).toEqual(['high-old', 'high-new', 'mid']);
    expect(run(queue, { maxConcurrent: 10 })).toEqual(['high-old', 'high-new', 'mid', 'low-old']);
  });

  it('keeps the reserved share for the top class: non-top requests cannot take the last reserved slot', () => {
    const queue = [req('l1', 0, 0), req('l2', 0, 1), req('l3', 0, 2), req('l4', 0, 3), req('l5', 0, 4)];
    // cap 4, 1 reserved, top class is priority 2 (configured but not waiting).
    expect(run(queue, { maxConcurrent: 4, reservedForTop: 1, topPriority: 2 })).toEqual(['l1', 'l2', 'l3']);
    expect(run(queue, { maxConcurrent: 8, reservedForTop: 2, topPriority: 2 })).toEqual(['l1', 'l2', 'l3', 'l4', 'l5']);
    expect(run([...queue, req('l6', 0, 5), req('l7', 0, 6)], { maxConcurrent: 8, reservedForTop: 2, topPriority: 2 })).toEqual([
      'l1',
      'l2',
      'l3',
      'l4',
      'l5',
      'l6',
    ]);
  });

  it('lets the top class take the reserved slot(s)', () => {
    const queue = [req('l1', 0, 0), req('l2', 0, 1), req('l3', 0, 2), req('l4', 0, 3), req('top', 2, 99)];
    expect(run(queue, { maxConcurrent: 4, reservedForTop: 1, topPriority: 2 })).toEqual(['top', 'l1', 'l2', 'l3']);
    // Low priority holds three slots already: only a top request may take the fourth.
    const priorities: Record<string, number> = { h1: 0, h2: 0, h3: 0, top: 2, l4: 0 };
    const held = { inFlight: new Set(['h1', 'h2', 'h3']), priorityOf: (id: string) => priorities[id] ?? 0 };
    expect(run([req('l4', 0, 0)], { maxConcurrent: 4, reservedForTop: 1, topPriority: 2, ...held })).toEqual([]);
    expect(run([req('l4', 0, 0), req('top', 2, 5)], { maxConcurrent: 4, reservedForTop: 1, topPriority: 2, ...held })).toEqual([
      'top',
    ]);
  });

  it('counts held top-class slots as not using the others share', () => {
    const priorities: Record<string, number> = { t1: 2, t2: 2 };
    const queue = [req('l1', 0, 0), req('l2', 0, 1), req('l3', 0, 2)];
    // Two top slots held; low priority may use the rest of the non-reserved slots: 4 - 2 = 2.
    expect(
      run(queue, { maxConcurrent: 4, reservedForTop: 1, topPriority: 2, inFlight: new Set(['t1', 't2']), priorityOf: (id) => priorities[id] ?? 0 }),
    ).toEqual(['l1', 'l2']);
  });

  it('with cap 1 reserves nothing, even if asked to', () => {
    const queue = [req('low', 0, 0)];
    expect(run(queue, { maxConcurrent: 1, reservedForTop: defaultReservedSlots(1), topPriority: 2 })).toEqual(['low']);
    expect(run(queue, { maxConcurrent: 1, reservedForTop: 1, topPriority: 2 })).toEqual(['low']);
    expect(run(queue, { maxConcurrent: 1, reservedForTop: 5, topPriority: 2 })).toEqual(['low']);
  });

  it('never reserves every slot: a reservation as large as the cap leaves one for the others', () => {
    const queue = [req('l1', 0, 0), req('l2', 0, 1)];
    expect(run(queue, { maxConcurrent: 3, reservedForTop: 3, topPriority: 2 })).toEqual(['l1']);
  });

  it('skips inadmissible requests without blocking the ones behind them', () => {
    const queue = [req('blocked-high', 3, 0), req('ok-mid', 2, 0), req('blocked-mid', 2, 1), req('ok-low', 0, 0)];
    const blocked = new Set(['blocked-high', 'blocked-mid']);
    expect(run(queue, { maxConcurrent: 2, isAdmissible: (request) => !blocked.has(request.id) })).toEqual(['ok-mid', 'ok-low']);
  });

  it('a skipped non-top request does not block a top one behind it', () => {
    const priorities: Record<string, number> = { h1: 0, h2: 0, h3: 0 };
    const queue = [req('low-old', 1, 0), req('top', 2, 100)];
    const held = { inFlight: new Set(['h1', 'h2']), priorityOf: (id: string) => priorities[id] ?? 0 };
    // cap 4, reserved 2: low priority is capped at 2 and already holds 2.
    expect(run(queue, { maxConcurrent: 4, reservedForTop: 2, topPriority: 2, ...held })).toEqual(['top']);
  });

  it('returns nothing for an empty queue and does not mutate its input', () => {
    expect(run([])).toEqual([]);
    const queue = Object.freeze([req('b', 0, 1), req('a', 1, 0)]);
    expect(run(queue as SlotRequest[])).toEqual(['a', 'b']);
    expect(queue.map((request) => request.id)).toEqual(['b', 'a']);
  });
});

describe('flapping', () => {
  const window = DEFAULT_FLAP_SETTINGS.flapWindowMs;

  it('has the documented defaults', () => {
    expect(DEFAULT_FLAP_SETTINGS).toEqual({ flapLimit: 5, flapWindowMs: 60_000, quarantineBaseMs: 30_000, quarantineMaxMs: 300_000 });
  });

  it('recentDeaths keeps deaths strictly inside the window ending now', () => {
    expect(recentDeaths([0, 1000, 59_999, 60_000, 70_000], 70_000, window)).toEqual([59_999, 60_000, 70_000]);
    expect(recentDeaths([10_000, 10_001], 70_000, window)).toEqual([10_001]);
    expect(recentDeaths([], 0, window)).toEqual([]);
  });

  it('isFlapping: more than 5 deaths within 60 s', () => {
    const five = [1000, 2000, 3000, 4000, 5000];
    expect(isFlapping(five, 5000, DEFAULT_FLAP_SETTINGS)).toBe(false);
    expect(isFlapping([...five, 6000], 6000, DEFAULT_FLAP_SETTINGS)).toBe(true);
    // The first death has left the window by now: five remain.
    expect(isFlapping([...five, 6000], 61_000, DEFAULT_FLAP_SETTINGS)).toBe(false);
    expect(isFlapping([...five, 6000], 60_999, DEFAULT_FLAP_SETTINGS)).toBe(true);
    // Spread over more than the window: never more than five at once.
    expect(isFlapping([0, 15_000, 30_000, 45_000, 60_000, 75_000], 75_000, DEFAULT_FLAP_SETTINGS)).toBe(false);
  });

  it('isFlapping follows the settings it is given', () => {
    expect(isFlapping([1, 2, 3], 3, { flapLimit: 2, flapWindowMs: 10 })).toBe(true);
    expect(isFlapping([1, 2, 3], 12, { flapLimit: 2, flapWindowMs: 10 })).toBe(false);
  });

  it('quarantineDuration: 30 s × times, capped at 300 s', () => {
    expect([1, 2, 3, 4, 9, 10, 11, 50].map((times) => quarantineDuration(times, DEFAULT_FLAP_SETTINGS))).toEqual([
      30_000, 60_000, 90_000, 120_000, 270_000, 300_000, 300_000, 300_000,
    ]);
    // A first quarantine is never shorter than the base.
    expect(quarantineDuration(0, DEFAULT_FLAP_SETTINGS)).toBe(30_000);
    expect(quarantineDuration(3, { quarantineBaseMs: 100, quarantineMaxMs: 250 })).toBe(250);
  });
});

describe('panic', () => {
  const settings = DEFAULT_PANIC_SETTINGS;
  const now = 100_000;

  it('has the documented defaults', () => {
    expect(DEFAULT_PANIC_SETTINGS).toEqual({ threshold: 0.5, windowMs: 10_000, panicConcurrency: 1 });
  });

  it('panics when more than half of the fleet was lost within 10 s', () => {
    const lost = (count: number, at = now - 1000): Array<number | undefined> => Array.from({ length: 10 }, (_, index) => (index < count ? at : undefined));
    expect(shouldPanic(lost(5), 10, now, settings)).toBe(false);
    expect(shouldPanic(lost(6), 10, now, settings)).toBe(true);
    expect(shouldPanic(lost(10), 10, now, settings)).toBe(true);
    // Losses older than the window do not count.
    expect(shouldPanic(lost(10, now - 10_000), 10, now, settings)).toBe(false);
    expect(shouldPanic(lost(10, now - 9_999), 10, now, settings)).toBe(true);
  });

  it('mixes recent and old losses', () => {
    const lostAt = [now, now - 5000, now - 9000, now - 20_000, now - 30_000, undefined];
    expect(shouldPanic(lostAt, 6, now, settings)).toBe(false); // 3 of 6 is not more than half
    expect(shouldPanic([...lostAt, now], 7, now, settings)).toBe(true); // 4 of 7
  });

  it('never panics for a fleet of fewer than two', () => {
    expect(shouldPanic([now], 1, now, settings)).toBe(false);
    expect(shouldPanic([], 0, now, settings)).toBe(false);
    expect(shouldPanic([now, now], 2, now, settings)).toBe(true);
  });

  it('panic is over once at least half the fleet is serving', () => {
    expect(panicOver(4, 10, settings)).toBe(false);
    expect(panicOver(5, 10, settings)).toBe(true);
    expect(panicOver(10, 10, settings)).toBe(true);
    expect(panicOver(1, 3, settings)).toBe(false);
    expect(panicOver(2, 3, settings)).toBe(true);
    expect(panicOver(0, 0, settings)).toBe(true);
  });
});
