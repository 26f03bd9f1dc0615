import { createActor, fromCallback } from 'xstate';
import type { InspectionEvent, Observer } from 'xstate';
import { connectionMachine } from './connection.machine.js';
import type { ConnectionActorRef, ConnectionEvent, ConnectionInput, ConnectionMachine, SupervisorMessage } from './connection.machine.js';

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
 * The supervisor's `connection` child, with the connection statechart running as the root of an
 * actor system of its own. Provide it as the supervisor machine's `connection` actor to run
 * fleets of thousands: in one shared system every actor stop (each probe's and each connect's
 * actor) scans every delayed event of the whole fleet (XState's `scheduler.cancelAll`), so a
 * probe costs O(fleet) and a fleet costs O(fleet²). Here each system holds one connection's timers.
 *
 * The supervisor still spawns one child per server (`id` = `systemId` = server id) and talks
 * to it by events: what it sends the child reaches the connection; the connection sends its
 * supervisor messages to the child (`ConnectionInput.reportTo`), which hands them on. Read a
 * connection's snapshot from the actor given to `onCreated`.
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
  return fromCallback<ConnectionEvent, ConnectionInput>(({ input, self, sendBack, receive }) => {
    const connection = createActor(logic, {
      id: input.id,
      systemId: input.id,
      input: { ...input, reportTo: self },
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    // An error in the connection reaches the supervisor as a child's error would.
    connection.subscribe({ error: (error) => sendBack({ type: `xstate.error.actor.${input.id}`, error }) });
    // Two kinds of event arrive here: the supervisor's, for the connection, and the connection's
    // messages, for the supervisor (facts and commands never share a name).
    receive((event: ConnectionEvent | SupervisorMessage) => {
      if (MESSAGE_TYPES.has(event.type)) sendBack(event);
      else connection.send(event as ConnectionEvent);
    });
    options.onCreated?.(input.id, connection);
    connection.start();
    return () => {
      connection.stop();
      options.onStopped?.(input.id, connection);
    };
  });
}

/** The types of {@link SupervisorMessage}: what a connection tells its supervisor. A new message type fails to compile until it is listed here. */
const MESSAGE_TYPES: ReadonlySet<string> = new Set(
  Object.keys({ 'slot.requested': true, 'state.changed': true, 'connection.closed': true, 'probe.completed': true } satisfies Record<SupervisorMessage['type'], true>),
);
