// EventHistory trims its retained events in batches; what a resuming client gets must not show it:
// always exactly the newest `capacity` events, ids without holes, and the right discontinuity.
import { describe, expect, it } from 'vitest';
import { EventHistory } from '../../../src/observe/event-history.js';
import type { EventSource } from '../../../src/observe/event-history.js';
import type { FleetEvent } from '../../../src/fleet/events.js';
import { until } from '../../support/wait.js';

/** A source whose events the test publishes itself. */
function source(): EventSource & { publish(event: FleetEvent): void } {
  const listeners: Array<(event: FleetEvent) => void | Promise<void>> = [];
  return {
    subscribe(listener) {
      listeners.push(listener);
      return () => listeners.splice(listeners.indexOf(listener), 1);
    },
    publish(event) {
      for (const listener of listeners) void listener(event);
    },
  };
}

const call = (at: number): FleetEvent => ({ type: 'call.completed', id: 'fx', tool: 'echo', outcome: 'ok', latencyMs: 1, at });

describe('EventHistory', () => {
  it('keeps exactly the newest `capacity` events however many came before', async () => {
    const capacity = 3;
    const events = source();
    const history = new EventHistory(events, { capacity });
    expect(history.firstId).toBeUndefined();
    // Past several batch trims (at twice the capacity), checked after every event.
    for (let count = 1; count <= capacity * 5; count++) {
      events.publish(call(count));
      await until(() => history.lastId === count, `event ${count} to be recorded`);
      const first = Math.max(1, count - capacity + 1);
      expect(history.firstId).toBe(first);
      const all = history.since(0);
      expect(all.events.map((entry) => entry.id)).toEqual(Array.from({ length: count - first + 1 }, (_, index) => first + index));
      expect(all.discontinuity).toBe(first > 1 ? 'gap' : undefined);
      expect(history.since(count - 1)).toEqual({ events: [{ id: count, event: call(count) }], discontinuity: undefined });
      expect(history.since(count + 1).discontinuity).toBe('reset');
      expect(history.since(count + 1).events).toHaveLength(count - first + 1);
    }
    history.close();
  });
});
