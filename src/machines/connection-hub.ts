import { enqueueActions, setup } from 'xstate';
import type { ActorLogic, AnyActorRef } from 'xstate';
import { connectionMachine } from './connection.machine.js';
import type { ConnectionEvent, ConnectionInput, ConnectionMachine } from './connection.machine.js';

/** A connection's input as the supervisor gives it: `reportTo` names the supervisor itself. */
export type SupervisedConnectionInput = ConnectionInput & { reportTo: AnyActorRef };

/**
 * What the supervisor's one `connections` actor is told: start connections, stop one, hand one
 * an event. A connection reports to the supervisor directly (its input's `reportTo`), and a
 * connection's error reaches the supervisor as `xstate.error.actor.<id>`, as a child's would.
 */
export type ConnectionsCommand =
  | { type: 'connection.spawn'; inputs: readonly SupervisedConnectionInput[] }
  | { type: 'connection.stop'; id: string }
  | { type: 'connection.send'; id: string; event: ConnectionEvent };

/** What the `connections` actor is created with: the fleet's first connections. */
export interface ConnectionsInput {
  /** Connections to start at once (the supervisor's initial servers). */
  connections: readonly SupervisedConnectionInput[];
}

/**
 * Logic the supervisor runs once, as its `connections` child, to hold every connection:
 * `connectionHub` (all of them in the supervisor's own actor system) or
 * `isolatedConnections` (in small systems apart, for fleets of thousands).
 */
// The snapshot is left open: the supervisor never reads it, only the connections' messages.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ConnectionsLogic = ActorLogic<any, ConnectionsCommand, ConnectionsInput, any, any>;

interface HubContext {
  /** Where each connection reports, for its errors. */
  reportTo: ReadonlyMap<string, AnyActorRef>;
  /** The input's connections until the hub's entry has started them (not kept after). */
  pending: readonly SupervisedConnectionInput[];
}

/** What the hub itself handles besides commands: its connections' errors. */
type HubEvent = ConnectionsCommand | { type: `xstate.error.actor.${string}`; error: unknown };

const ERROR_PREFIX = 'xstate.error.actor.';

/**
 * A machine holding connections as its children (`id` = `systemId` = server id): the
 * supervisor's default `connections` actor, and the root of each small system of
 * `isolatedConnections`. It hands a connection's error to whoever the connection reports to (an
 * unhandled child error would fail the hub, and every connection with it).
 *
 * @example
 * ```ts
 * const supervisor = createActor(
 *   supervisorMachine.provide({ actors: { connections: connectionHub(myConnectionLogic) } }),
 *   { input },
 * ).start();
 * ```
 */
export function connectionHub(logic: ConnectionMachine = connectionMachine): ConnectionsLogic {
  // Typed as the supervisor sees it: it sends commands; the errors the hub handles come from its children.
  return hubMachine(logic) as ConnectionsLogic;
}

/** The machine of {@link connectionHub}, with its own types (the root of an isolated system). */
export function hubMachine(logic: ConnectionMachine = connectionMachine) {
  return setup({
    types: {
      context: {} as HubContext,
      events: {} as HubEvent,
      input: {} as Partial<ConnectionsInput>,
    },
    actors: { connection: logic },
    actions: {
      /**
       * All in one `assign`: XState copies the children map once per action that spawns, so one
       * `spawnChild` per connection would make a fleet of n cost O(n²) to start. The one exception
       * is an id of `__proto__`: XState gathers what an assignment spawns in a plain object,
       * where that key would set the prototype and the child would be lost.
       */
      spawnConnections: enqueueActions(({ context, enqueue }, params: { inputs: readonly SupervisedConnectionInput[] }) => {
        // An id already held is skipped, as `isolatedConnections` does: ids are unique in a system,
        // and a second spawn would fail the hub and every connection with it.
        const inputs = params.inputs.filter((input) => !context.reportTo.has(input.id));
        if (inputs.length === 0) return;
        const reportTo = new Map(context.reportTo);
        for (const input of inputs) reportTo.set(input.id, input.reportTo);
        const plain = inputs.filter((input) => input.id !== '__proto__');
        enqueue.assign(({ spawn }) => {
          for (const input of plain) spawn('connection', { id: input.id, systemId: input.id, input });
          return { reportTo, pending: [] };
        });
        const proto = inputs.find((input) => input.id === '__proto__');
        if (proto) enqueue.spawnChild('connection', { id: proto.id, systemId: proto.id, input: proto });
      }),
      stopConnection: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'connection.stop') return;
        const reportTo = new Map(context.reportTo);
        reportTo.delete(event.id);
        enqueue.assign({ reportTo });
        enqueue.stopChild(event.id);
      }),
      // Only to a connection it holds (sending to an unknown id would fail the hub), as `isolatedConnections` does.
      sendToConnection: enqueueActions(({ context, event, enqueue }) => {
        if (event.type === 'connection.send' && context.reportTo.has(event.id)) enqueue.sendTo(event.id, event.event);
      }),
      forwardError: enqueueActions(({ context, event, enqueue }) => {
        const to = context.reportTo.get(event.type.slice(ERROR_PREFIX.length));
        if (to) enqueue.sendTo(to, event);
      }),
    },
  }).createMachine({
    id: 'connections',
    context: ({ input }) => ({ reportTo: new Map(), pending: input?.connections ?? [] }),
    entry: { type: 'spawnConnections', params: ({ context }) => ({ inputs: context.pending }) },
    on: {
      'connection.spawn': { actions: { type: 'spawnConnections', params: ({ event }) => ({ inputs: event.type === 'connection.spawn' ? event.inputs : [] }) } },
      'connection.stop': { actions: 'stopConnection' },
      'connection.send': { actions: 'sendToConnection' },
      'xstate.error.actor.*': { actions: 'forwardError' },
    },
  });
}
