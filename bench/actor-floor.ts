// The second reference of the scale scenario: the bare fleet's clients, each probed by the
// smallest statechart built as ours is (docs/design.md §2: every timer an XState `after`, the
// probe an actor of its own under the machine's own deadline, its answer recorded in the actor's
// context). What a connection built that way pays per probe before anything of ours is added,
// printed next to our CPU per probe in every run.
import type { Client } from '@modelcontextprotocol/client';
import { assign, createActor, fromPromise, setup } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { resolveSettings } from '../src/core/settings.js';
import { ping } from '../src/runtime/probes.js';
import { NO_SDK_TIMEOUT } from '../src/runtime/sdk-timeouts.js';

interface PingInput {
  client: Client;
  /** Counts each answer, so the window knows how many probes its CPU paid for. */
  answered: () => void;
}

/** When the fleet started (`performance.now()` time), set by `start()`: every due instant counts from it. */
interface Origin {
  at: number;
}

interface FloorInput extends PingInput {
  origin: Origin;
  /** When the first probe is due, after the origin: spread over the interval as the bare fleet's first pings are. */
  firstDueMs: number;
  intervalMs: number;
}

interface FloorContext extends FloorInput {
  /** When the next probe is due, after the origin: one interval after the last was due, as `setInterval` keeps the bare fleet's pings. */
  dueMs: number;
  latencyMs: number;
}

/** The probe's deadline: ours, at the default settings. */
const DEADLINE_MS = resolveSettings().pingTimeoutMs;

/**
 * `idle` → (`after` the due instant) → `probing` (a `fromPromise` ping under an `after` deadline)
 * → `idle`, the answer's latency assigned to the context. Two macrosteps, two XState timers and
 * one short-lived actor per probe, as a connection of ours has in `healthy`; none of the rest
 * (quality, events, supervisor, reports, jitter).
 */
const floorMachine = setup({
  types: { input: {} as FloorInput, context: {} as FloorContext },
  actors: {
    ping: fromPromise<number, PingInput>(async ({ input, signal }) => {
      const started = performance.now();
      await ping(input.client, { signal, timeout: NO_SDK_TIMEOUT });
      input.answered();
      return performance.now() - started;
    }),
  },
  delays: {
    due: ({ context }) => Math.max(0, context.origin.at + context.dueMs - performance.now()),
    deadline: DEADLINE_MS,
  },
  actions: {
    chainNextProbe: assign({ dueMs: ({ context }) => context.dueMs + context.intervalMs }),
  },
}).createMachine({
  context: ({ input }) => ({ ...input, dueMs: input.firstDueMs, latencyMs: 0 }),
  initial: 'idle',
  states: {
    idle: { after: { due: 'probing' } },
    probing: {
      invoke: {
        src: 'ping',
        input: ({ context }) => context,
        onDone: { target: 'idle', actions: [assign({ latencyMs: ({ event }) => event.output }), 'chainNextProbe'] },
        onError: { target: 'idle', actions: 'chainNextProbe' },
      },
      after: { deadline: { target: 'idle', actions: 'chainNextProbe' } },
    },
  },
});

/**
 * A fleet of floor actors over these clients, each in an actor system of its own, made at once
 * and started by `start()`: no timer runs before it, so the heap can be read in between. Their
 * first probes are spread over one interval from `start()`. `stop()` ends every one.
 */
export function floorActors(clients: readonly Client[], intervalMs: number, answered: () => void): { start(): void; stop(): void } {
  const origin: Origin = { at: 0 };
  const actors: AnyActorRef[] = clients.map((client, index) =>
    createActor(floorMachine, { input: { client, origin, firstDueMs: (index * intervalMs) / clients.length, intervalMs, answered } }),
  );
  return {
    start: () => {
      origin.at = performance.now();
      for (const actor of actors) actor.start();
    },
    stop: () => {
      for (const actor of actors) actor.stop();
    },
  };
}
