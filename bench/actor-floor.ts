// The second reference of the scale scenario: the bare fleet's clients, each probed by the
// smallest statechart the design allows (docs/design.md §2: every timer an XState `after`, the
// probe an actor of its own, its answer recorded in the actor's context). What any connection
// built that way pays per probe before anything of ours is added: the floor under our CPU per
// probe, printed next to it in every run.
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { assign, createActor, fromPromise, setup } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { ping } from '../src/runtime/probes.js';
import { NO_SDK_TIMEOUT } from '../src/runtime/sdk-timeouts.js';
import { standInServerOptions } from './memory-fleet.js';

/**
 * `count` SDK v2 clients, each connected in-process to its own stand-in server, one at a time.
 * Make `serverOptions` before reading the heap, as the supervised fleet's are: the first
 * validator built holds ~120 KiB, over 1 KiB a connection at 100.
 */
export async function connectBareClients(count: number, name: string, serverOptions: ReturnType<typeof standInServerOptions>): Promise<Client[]> {
  const clients: Client[] = [];
  for (let index = 0; index < count; index += 1) {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await new McpServer({ name: `${name}-${index}`, version: '1.0.0' }, serverOptions).connect(serverSide);
    const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
    await client.connect(clientSide);
    clients.push(client);
  }
  return clients;
}

interface PingInput {
  client: Client;
  /** Counts each answer, so the window knows how many probes its CPU paid for. */
  answered: () => void;
}

interface FloorInput extends PingInput {
  /** When the first probe is due, so the fleet's probes are spread as the bare fleet's pings are. */
  firstDueMs: number;
  intervalMs: number;
}

interface FloorContext extends FloorInput {
  dueMs: number;
  latencyMs: number;
}

/**
 * `idle` → (`after` the interval) → `probing` (a `fromPromise` ping, under an `after` deadline)
 * → `idle`, the answer's latency assigned to the context. Two macrosteps, two XState timers and
 * one short-lived actor per probe, as a connection of ours has in `healthy`; none of the rest
 * (quality, events, supervisor, reports).
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
    due: ({ context }) => context.dueMs,
    deadline: 5_000,
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
        onDone: {
          target: 'idle',
          actions: assign({ latencyMs: ({ event }) => event.output, dueMs: ({ context }) => context.intervalMs }),
        },
        onError: { target: 'idle', actions: assign({ dueMs: ({ context }) => context.intervalMs }) },
      },
      after: { deadline: { target: 'idle', actions: assign({ dueMs: ({ context }) => context.intervalMs }) } },
    },
  },
});

/** A fleet of floor actors over these clients, each in an actor system of its own; `stop()` ends every one. */
export function startFloorActors(clients: readonly Client[], intervalMs: number, answered: () => void): { stop(): void } {
  const actors: AnyActorRef[] = clients.map((client, index) =>
    createActor(floorMachine, { input: { client, firstDueMs: (index * intervalMs) / clients.length, intervalMs, answered } }).start(),
  );
  return {
    stop: () => {
      for (const actor of actors) actor.stop();
    },
  };
}
