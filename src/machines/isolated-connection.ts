import { createActor, fromCallback } from 'xstate';
import type { Actor, InspectionEvent, Observer } from 'xstate';
import { hubMachine } from './connection-hub.js';
import type { ConnectionsCommand, ConnectionsInput, SupervisedConnectionInput } from './connection-hub.js';
import { connectionMachine } from './connection.machine.js';
import type { ConnectionActorRef, ConnectionMachine } from './connection.machine.js';

/** Options of {@link isolatedConnections}. */
export interface IsolatedConnectionOptions {
  /** Inspection of the connections' own actor systems (the supervisor's own is set on its actor). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Called with each connection actor as soon as it runs, so the owner can find it by id. */
  onCreated?: (id: string, connection: ConnectionActorRef) => void;
  /** Called when the connection actor has been stopped (the supervisor removed it, or stopped). */
  onStopped?: (id: string, connection: ConnectionActorRef) => void;
}

/**
 * Connections per actor system. Small, so that an actor's stop (each probe's and each connect's
 * actor stops) scans few delayed events (XState's `scheduler.cancelAll` visits every delayed
 * event of the system); more than one, so that a system's own cost (~3 kB: its registry, its
 * scheduler, their closures) is shared: at 16, an actor stop scans ~50 events, and the system
 * costs ~200 bytes a connection.
 */
const CONNECTIONS_PER_SYSTEM = 16;

/**
 * The supervisor's `connections` actor for fleets of thousands: each connection statechart runs
 * outside the supervisor's actor system, in a small system it shares with at most 15 others
 * (each system's root is a {@link connectionHub}). In one shared system every actor stop (each
 * probe's and each connect's actor) scans every delayed event of the whole fleet (XState's
 * `scheduler.cancelAll`), so a probe costs O(fleet) and a fleet costs O(fleet²); here a stop
 * scans the delayed events of 16 connections at most.
 *
 * The supervisor has this one child for the whole fleet, not one per server: what it tells it
 * reaches the connection named; each connection reports to the supervisor directly
 * (`ConnectionInput.reportTo`), and so does its error. Read a connection's snapshot from the actor
 * given to `onCreated`. Each call of this function keeps its own systems.
 *
 * @example
 * ```ts
 * const connections = new Map<string, ConnectionActorRef>();
 * const supervisor = createActor(
 *   supervisorMachine.provide({
 *     actors: { connections: isolatedConnections(myConnectionLogic, { onCreated: (id, ref) => connections.set(id, ref) }) },
 *   }),
 *   { input },
 * ).start();
 * ```
 */
export function isolatedConnections(logic: ConnectionMachine = connectionMachine, options: IsolatedConnectionOptions = {}) {
  const shards = new Shards(logic, options.inspect);
  return fromCallback<ConnectionsCommand, ConnectionsInput>(({ input, receive }) => {
    // This supervisor's connections, and the system each runs in.
    const held = new Map<string, { host: Host; connection: ConnectionActorRef }>();
    const spawn = (inputs: readonly SupervisedConnectionInput[]): void => {
      shards.spawn(
        inputs.filter((input) => !held.has(input.id)),
        (batch) => {
          for (const spawned of batch) {
            held.set(spawned.id, spawned);
            options.onCreated?.(spawned.id, spawned.connection);
          }
        },
      );
    };
    const stop = (id: string): void => {
      const entry = held.get(id);
      if (!entry) return;
      held.delete(id);
      shards.stop(entry.host, id);
      options.onStopped?.(id, entry.connection);
    };
    receive((command) => {
      if (command.type === 'connection.spawn') spawn(command.inputs);
      else if (command.type === 'connection.stop') stop(command.id);
      else held.get(command.id)?.connection.send(command.event);
    });
    spawn(input.connections);
    return () => {
      for (const id of [...held.keys()]) stop(id);
    };
  });
}

type Host = Actor<ReturnType<typeof hubMachine>>;

/** One connection started, and the host it runs in. */
interface Spawned {
  id: string;
  host: Host;
  connection: ConnectionActorRef;
}

/** The shared systems of one {@link isolatedConnections}: filled up to {@link CONNECTIONS_PER_SYSTEM}, stopped once empty. */
class Shards {
  private readonly machine: ReturnType<typeof hubMachine>;
  /** Connections per host. */
  private readonly counts = new Map<Host, number>();
  /** Hosts with room for another connection. */
  private readonly open = new Set<Host>();

  constructor(
    logic: ConnectionMachine,
    private readonly inspect: IsolatedConnectionOptions['inspect'],
  ) {
    this.machine = hubMachine(logic);
  }

  /**
   * Starts these connections, each host with room taking as many as fit in one event (a fleet of
   * 10 000 starting is ~625 host transitions, not 10 000), and hands each batch to `started` as
   * soon as its host has them, so what runs is known even if a later batch fails. An id given
   * twice is started once.
   */
  spawn(inputs: readonly SupervisedConnectionInput[], started: (batch: readonly Spawned[]) => void): void {
    const unique = new Map<string, SupervisedConnectionInput>();
    for (const input of inputs) if (!unique.has(input.id)) unique.set(input.id, input);
    this.place([...unique.values()], started);
  }

  /**
   * Fills hosts in input order. An id a host still holds (one being stopped while a server of the
   * same id is added again, or another supervisor's) is left for another round, in its order: ids
   * are unique in a system. Each round places at least its first input ({@link Shards.hostFor}
   * picks a host with room that lacks it), so the rounds end.
   */
  private place(inputs: readonly SupervisedConnectionInput[], started: (batch: readonly Spawned[]) => void): void {
    const elsewhere: SupervisedConnectionInput[] = [];
    let index = 0;
    while (index < inputs.length) {
      const host = this.hostFor((inputs[index] as SupervisedConnectionInput).id);
      const { children } = host.getSnapshot();
      const batch: SupervisedConnectionInput[] = [];
      for (let room = CONNECTIONS_PER_SYSTEM - (this.counts.get(host) ?? 0); room > 0 && index < inputs.length; index += 1) {
        const input = inputs[index] as SupervisedConnectionInput;
        if (Object.hasOwn(children, input.id)) elsewhere.push(input);
        else {
          batch.push(input);
          room -= 1;
        }
      }
      started(this.spawnIn(host, batch));
    }
    if (elsewhere.length > 0) this.place(elsewhere, started);
  }

  private spawnIn(host: Host, inputs: readonly SupervisedConnectionInput[]): Spawned[] {
    host.send({ type: 'connection.spawn', inputs });
    // Counted before they are looked up: a host that took them holds them, found or not.
    const count = (this.counts.get(host) ?? 0) + inputs.length;
    this.counts.set(host, count);
    if (count >= CONNECTIONS_PER_SYSTEM) this.open.delete(host);
    // From the host's children, not its registry: a connection that failed as it started has
    // left the registry, and its error is on its way to the supervisor.
    const { children } = host.getSnapshot();
    return inputs.map((input): Spawned => {
      // Own keys only: `children` is a plain object, where `constructor` or `toString` always answer.
      const connection = (Object.hasOwn(children, input.id) ? children[input.id] : undefined) as ConnectionActorRef | undefined;
      // The host is idle here: a supervisor spawns its children while it processes its own
      // events, never from inside a host's.
      if (!connection) throw new Error(`connection "${input.id}" was not spawned: its host was busy`);
      return { id: input.id, host, connection };
    });
  }

  /** A host with room that does not hold a connection of this id; a new one when none does. */
  private hostFor(id: string): Host {
    for (const host of this.open) if (!Object.hasOwn(host.getSnapshot().children, id)) return host;
    return this.newHost();
  }

  stop(host: Host, id: string): void {
    host.send({ type: 'connection.stop', id });
    const count = (this.counts.get(host) ?? 1) - 1;
    if (count > 0) {
      this.counts.set(host, count);
      this.open.add(host);
      return;
    }
    this.counts.delete(host);
    this.open.delete(host);
    host.stop();
  }

  private newHost(): Host {
    const host = createActor(this.machine, { input: {}, ...(this.inspect ? { inspect: this.inspect } : {}) });
    // The host's own actions do not throw; should it fail anyway, each connection's supervisor
    // hears it as that connection's error, and the host is not used again (an unobserved root
    // error would be thrown from a timer and end the process).
    host.subscribe({
      error: (error) => {
        this.counts.delete(host);
        this.open.delete(host);
        for (const [id, reportTo] of host.getSnapshot().context.reportTo) reportTo.send({ type: `xstate.error.actor.${id}`, error });
      },
    });
    host.start();
    this.open.add(host);
    return host;
  }
}
