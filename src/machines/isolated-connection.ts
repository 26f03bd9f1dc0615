import { createActor, enqueueActions, fromCallback, setup } from 'xstate';
import type { Actor, AnyActorRef, InspectionEvent, Observer } from 'xstate';
import { connectionMachine } from './connection.machine.js';
import type { ConnectionActorRef, ConnectionEvent, ConnectionInput, ConnectionMachine, SupervisorMessage } from './connection.machine.js';

/** Options of {@link isolatedConnection}. */
export interface IsolatedConnectionOptions {
  /** Inspection of the connections' own actor systems (the supervisor's own is set on its actor). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Called with each connection actor as soon as it runs, so the owner can find it by id. */
  onCreated?: (id: string, connection: ConnectionActorRef) => void;
  /** Called when the connection actor has been stopped (the supervisor dropped or stopped its child). */
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
 * The supervisor's `connection` child, with the connection statechart running outside the
 * supervisor's actor system, in a small system it shares with at most 15 other connections.
 * Provide it as the supervisor machine's `connection` actor to run fleets of thousands: in one
 * shared system every actor stop (each probe's and each connect's actor) scans every delayed
 * event of the whole fleet (XState's `scheduler.cancelAll`), so a probe costs O(fleet) and a
 * fleet costs O(fleet²). Here a stop scans the delayed events of 16 connections at most.
 *
 * The supervisor still spawns one child per server (`id` = `systemId` = server id) and talks
 * to it by events: what it sends the child reaches the connection; the connection sends its
 * supervisor messages to the child (`ConnectionInput.reportTo`), which hands them on, and so does
 * an error of the connection. Read a connection's snapshot from the actor given to `onCreated`.
 * Each call of this function keeps its own systems.
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
  const shards = new Shards(logic, options.inspect);
  return fromCallback<ConnectionEvent, ConnectionInput>(({ input, self, sendBack, receive }) => {
    let connection: ConnectionActorRef | undefined;
    // Three kinds of event arrive here: the supervisor's, for the connection; the connection's
    // messages, for the supervisor (facts and commands never share a name); and the
    // connection's error, which reaches the supervisor as a child's error would. Listening
    // before the connection starts: it may report (or fail) as it starts.
    receive((event: ConnectionEvent | SupervisorMessage | { type: string; error?: unknown }) => {
      if (MESSAGE_TYPES.has(event.type) || event.type === `xstate.error.actor.${input.id}`) sendBack(event as SupervisorMessage);
      else connection?.send(event as ConnectionEvent);
    });
    // Object.assign, not `{ ...input, reportTo }`: on Node 20 a spread followed by a key gives each object a map of its own (~300 bytes kept per connection).
    const spawned = shards.spawn(Object.assign({}, input, { reportTo: self }));
    connection = spawned.connection;
    const { host } = spawned;
    options.onCreated?.(input.id, connection);
    return () => {
      shards.stop(host, input.id);
      options.onStopped?.(input.id, connection);
    };
  });
}

/** What a shard's host is told: spawn a connection, stop one. */
type HostEvent =
  | { type: 'connection.spawn'; input: ConnectionInput & { reportTo: AnyActorRef } }
  | { type: 'connection.stop'; id: string }
  | { type: `xstate.error.actor.${string}`; error: unknown };

/**
 * The root of one shared system: it holds the connections as its children, and hands a
 * connection's error to that connection's supervisor child (an unhandled child error would
 * stop the host, and every connection with it).
 */
function hostMachine(logic: ConnectionMachine) {
  return setup({
    types: { context: {} as { reportTo: ReadonlyMap<string, AnyActorRef> }, events: {} as HostEvent },
    actors: { connection: logic },
    actions: {
      spawnConnection: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'connection.spawn') return;
        const { input } = event;
        enqueue.assign({ reportTo: new Map(context.reportTo).set(input.id, input.reportTo) });
        enqueue.spawnChild('connection', { id: input.id, systemId: input.id, input });
      }),
      stopConnection: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'connection.stop') return;
        const reportTo = new Map(context.reportTo);
        reportTo.delete(event.id);
        enqueue.assign({ reportTo });
        enqueue.stopChild(event.id);
      }),
      forwardError: enqueueActions(({ context, event, enqueue }) => {
        const id = event.type.slice(ERROR_PREFIX.length);
        const to = context.reportTo.get(id);
        if (to) enqueue.sendTo(to, event);
      }),
    },
  }).createMachine({
    id: 'connections',
    context: { reportTo: new Map() },
    on: {
      'connection.spawn': { actions: 'spawnConnection' },
      'connection.stop': { actions: 'stopConnection' },
      'xstate.error.actor.*': { actions: 'forwardError' },
    },
  });
}

const ERROR_PREFIX = 'xstate.error.actor.';

type Host = Actor<ReturnType<typeof hostMachine>>;

/** The shared systems of one {@link isolatedConnection}: filled up to {@link CONNECTIONS_PER_SYSTEM}, stopped once empty. */
class Shards {
  private readonly machine: ReturnType<typeof hostMachine>;
  /** Connections per host. */
  private readonly counts = new Map<Host, number>();
  /** Hosts with room for another connection. */
  private readonly open = new Set<Host>();

  constructor(
    logic: ConnectionMachine,
    private readonly inspect: IsolatedConnectionOptions['inspect'],
  ) {
    this.machine = hostMachine(logic);
  }

  spawn(input: ConnectionInput & { reportTo: AnyActorRef }): { host: Host; connection: ConnectionActorRef } {
    // A host that still holds a connection of this id (one being stopped while a server of the
    // same id is added again, or another supervisor's) is not a place for this one: ids are
    // unique in a system.
    const host = this.hostWithRoom(input.id);
    host.send({ type: 'connection.spawn', input });
    // From the host's children, not its registry: a connection that failed as it started has
    // left the registry, and its error is on its way to the supervisor.
    const connection = host.getSnapshot().children[input.id] as ConnectionActorRef | undefined;
    // The host is idle here: a supervisor spawns its children while it processes its own
    // events, never from inside a host's.
    if (!connection) throw new Error(`connection "${input.id}" was not spawned: its host was busy`);
    const count = (this.counts.get(host) ?? 0) + 1;
    this.counts.set(host, count);
    if (count >= CONNECTIONS_PER_SYSTEM) this.open.delete(host);
    return { host, connection };
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

  private hostWithRoom(id: string): Host {
    for (const host of this.open) if (host.getSnapshot().children[id] === undefined) return host;
    const host = createActor(this.machine, this.inspect ? { inspect: this.inspect } : {});
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

/** The types of {@link SupervisorMessage}: what a connection tells its supervisor. A new message type fails to compile until it is listed here. */
const MESSAGE_TYPES: ReadonlySet<string> = new Set(
  Object.keys({ 'slot.requested': true, 'state.changed': true, 'connection.closed': true, 'probe.completed': true } satisfies Record<SupervisorMessage['type'], true>),
);
