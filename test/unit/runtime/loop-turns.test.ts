import { describe, expect, it } from 'vitest';
import { LoopTurns } from '../../../src/runtime/loop-turns.js';

describe('LoopTurns', () => {
  it('goes on at once while the slice lasts, then has every caller wait for the same next turn, and starts a new slice after it', async () => {
    let clock = 1_000;
    const turns = new LoopTurns(50, () => clock);
    expect(turns.next()).toBeUndefined();
    clock += 49;
    expect(turns.next()).toBeUndefined();
    clock += 1;
    const first = turns.next();
    expect(first).toBeInstanceOf(Promise);
    // Every caller until the turn comes waits for that same turn.
    expect(turns.next()).toBe(first);
    clock += 500;
    expect(turns.next()).toBe(first);
    let turned = false;
    const waited = first!.then(() => {
      turned = true;
    });
    // Not in this chain of microtasks: only on a turn of the loop.
    await Promise.resolve();
    await Promise.resolve();
    expect(turned).toBe(false);
    await waited;
    expect(turned).toBe(true);
    // A new slice from the turn.
    expect(turns.next()).toBeUndefined();
    clock += 50;
    expect(turns.next()).toBeInstanceOf(Promise);
  });

  it('lets timers run: a chain that asks it at every step does not starve a timer set before it', async () => {
    const turns = new LoopTurns(0);
    let timerRan = false;
    setTimeout(() => {
      timerRan = true;
    }, 0);
    // A chain of promise callbacks that would hold the loop for good without the turns.
    let steps = 0;
    while (!timerRan && steps < 100_000) {
      steps += 1;
      await (turns.next() ?? Promise.resolve());
    }
    expect(timerRan).toBe(true);
  });
});
