// EventBus delivers later, in order, one event at a time per subscriber: an async listener is
// awaited before its next event, a plain one is not held up by it, a failing one stops nobody.
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../../src/fleet/event-bus.js';
import { until } from '../../support/wait.js';

describe('EventBus', () => {
  it('delivers after publish returns, in order, to every subscriber', async () => {
    const bus = new EventBus<number>();
    const plain: number[] = [];
    const slow: number[] = [];
    let inSlow = 0;
    let overlapped = false;
    // The async subscriber is held on its first event until the test lets it go.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    bus.subscribe((event) => {
      plain.push(event);
    });
    bus.subscribe(async (event) => {
      if (++inSlow > 1) overlapped = true;
      await released;
      await new Promise((resolve) => setImmediate(resolve));
      slow.push(event);
      inSlow -= 1;
    });
    bus.subscribe(() => {
      throw new Error('a failing consumer');
    });
    for (let event = 1; event <= 5; event++) bus.publish(event);
    expect(plain).toEqual([]);
    await until(() => plain.length === 5, 'the plain subscriber');
    expect(plain).toEqual([1, 2, 3, 4, 5]);
    // The plain subscriber got everything while the async one was still held on its first event.
    expect(slow).toEqual([]);
    expect(inSlow).toBe(1);
    release();
    await until(() => slow.length === 5, 'the async subscriber');
    expect(slow).toEqual([1, 2, 3, 4, 5]);
    expect(overlapped).toBe(false);
    bus.publish(6);
    await until(() => plain.length === 6 && slow.length === 6, 'a later event');
  });

  it('drops the oldest events of a subscriber that falls behind, and says how many', async () => {
    const bus = new EventBus<number>();
    const got: number[] = [];
    const dropped: number[] = [];
    bus.subscribe((event) => void got.push(event), { bufferSize: 2, onOverflow: (count) => dropped.push(count) });
    for (let event = 1; event <= 5; event++) bus.publish(event);
    await until(() => got.length === 2, 'delivery');
    expect(got).toEqual([4, 5]);
    expect(dropped).toEqual([1, 1, 1]);
  });

  it('delivers nothing more after unsubscribing, even what was already queued', async () => {
    const bus = new EventBus<number>();
    const got: number[] = [];
    const other: number[] = [];
    const unsubscribe = bus.subscribe((event) => void got.push(event));
    bus.subscribe((event) => void other.push(event));
    bus.publish(1);
    unsubscribe();
    bus.publish(2);
    await until(() => other.length === 2, 'the other subscriber');
    expect(got).toEqual([]);
    expect(bus.subscriberCount).toBe(1);
  });
});
