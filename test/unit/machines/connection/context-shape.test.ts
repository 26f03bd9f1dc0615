/**
 * The connection machine in virtual time (harness: test/support/connection-harness.ts).
 * The context's size is a memory budget: XState replaces the context with `Object.assign({}, old,
 * update)` on every assign, and on Node 20 (V8 11) an object built that way with 20 or more
 * properties is a dictionary (a hash table of ~830 bytes) instead of a compact object, and slower
 * to copy: at 10 000 connections two more fields cost 7 MB of heap (docs/performance.md). A new
 * field means folding another one away.
 */
import { describe, expect, it } from 'vitest';
import { flush, harness, useConnectionHarness } from '../../../support/connection-harness.js';

useConnectionHarness();

/** The most fields a context may have and stay a compact object after `Object.assign({}, …)`. */
const MAX_CONTEXT_FIELDS = 19;

describe('context shape', () => {
  it(`has at most ${MAX_CONTEXT_FIELDS} fields, in every state it reaches on its way to healthy`, async () => {
    const h = harness({ settings: { probeJitter: 0.1 } });
    const seen: number[] = [];
    h.start();
    seen.push(Object.keys(h.ctx()).length);
    await flush();
    expect(h.state()).toBe('healthy');
    seen.push(Object.keys(h.ctx()).length);
    expect(Math.max(...seen)).toBeLessThanOrEqual(MAX_CONTEXT_FIELDS);
  });
});
