import { createActor, fromCallback, sendTo, setup, spawnChild } from 'xstate';
import type { AnyActorRef, AnyEventObject, InspectionEvent, Observer } from 'xstate';
import { connectionMachine } from './connection.machine.js';
import type { ConnectionActorRef, ConnectionEvent, ConnectionInput, ConnectionMachine } from './connection.machine.js';

/** Options of {@link isolatedConnection}. */
export interface IsolatedConnectionOptions {
  /** Inspection of each connection's own actor system (the supervisor's own is set on its actor). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Called with each connection actor as soon as it runs, so the owner can find it by id. */
  onCreated?: (id: string, connection: ConnectionActorRef) => void;
  /** Called when the connection actor has been stopped (the supervisor dropped or stopped its child). */
  onStopped?: (id: string, connection: ConnectionActorRef) => void;
}

/**
 * The supervisor's `connection` child, with the connection statechart running in an actor system
 * of its own. Provide it as the supervisor machine's `connection` actor to run fleets of
 * thousands: in one shared system every actor stop (each probe's and each connect's actor)
 * scans every delayed event of the whole fleet (XState's `scheduler.cancelAll`), so a probe
 * costs O(fleet) and a fleet costs O(fleet²). Here each system holds one connection's timers.
 *
 * The supervisor still spawns one child per server (`id` = `systemId` = server id) and talks
 * to it by events: what it sends the child reaches the connection; what the connection sends its
 * parent (`sendParent`) reaches the supervisor through a link actor, the root of the connection's
 * system, whose only child the connection is. Read a connection's snapshot from the actor given
 * to `onCreated`.
 *
 * @example
 * ```ts
 * const connections = new Map<string, ConnectionActorRef>();
 * const supervisor = createActor(
 *   supervisorMachine.provide({
 *     actors: { connection: isolatedConnection(myConnectionLogic, { onCreated: (id, ref) => connections.set(id, ref) }) },
 *   }),
 *   { input },
 * ).start();
 * ```
 */
export function isolatedConnection(logic: ConnectionMachine = connectionMachine, options: IsolatedConnectionOptions = {}) {
  // The root of each connection's own system. It spawns the connection as its only child, so
  // stopping the root stops the connection, and passes on whatever the connection sends its parent.
  const link = setup({
    types: {
      context: {} as LinkContext,
      input: {} as LinkContext,
    },
    actors: { connection: logic },
  }).createMachine({
    context: ({ input }) => input,
    entry: spawnChild('connection', { id: ({ context }) => context.connection.id, input: ({ context }) => context.connection }),
    on: { '*': { actions: sendTo(({ context }) => context.host, ({ event }): LinkMessage => ({ type: 'link.message', message: event })) } },
  });
  return fromCallback<ConnectionEvent, ConnectionInput>(({ input, self, sendBack, receive }) => {
    const root = createActor(link, {
      id: `${input.id}.link`,
      input: { connection: input, host: self },
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    root.start();
    const connection = root.getSnapshot().children[input.id] as ConnectionActorRef;
    options.onCreated?.(input.id, connection);
    // Besides the supervisor's events, the link's messages (not part of the public event type).
    receive((event: ConnectionEvent | LinkMessage) => {
      if (event.type === 'link.message') sendBack(event.message);
      else connection.send(event);
    });
    return () => {
      root.stop();
      options.onStopped?.(input.id, connection);
    };
  });
}

interface LinkContext {
  /** The connection's input. */
  connection: ConnectionInput;
  /** The supervisor's child: it hands the connection's messages on to the supervisor. */
  host: AnyActorRef;
}

/** A message from the connection, on its way from the link to the supervisor's child. */
interface LinkMessage {
  type: 'link.message';
  message: AnyEventObject;
}
