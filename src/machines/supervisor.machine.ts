import { enqueueActions, raise, setup, stateIn } from 'xstate';
import type { ActorRefFrom, AnyActorRef, SnapshotFrom } from 'xstate';
import { List, Map as ImmutableMap, Set as ImmutableSet } from 'immutable';
import { admit, compareRequests, defaultReservedSlots } from '../core/policy/admission.js';
import type { SlotRequest } from '../core/policy/admission.js';
import { DEFAULT_FLAP_SETTINGS, isFlapping, quarantineDuration, recentDeaths } from '../core/policy/flapping.js';
import type { FlapSettings } from '../core/policy/flapping.js';
import { DEFAULT_PANIC_SETTINGS, panicOver, tooManyLost } from '../core/policy/panic.js';
import type { PanicSettings } from '../core/policy/panic.js';
import type { ConnectionSettings } from '../core/settings.js';
import type { TransportKind } from '../core/session.js';
import type { ServerTarget } from '../core/target.js';
import { connectionHub } from './connection-hub.js';
import type { ConnectionsCommand, SupervisedConnectionInput } from './connection-hub.js';
import type { ConnectionEmitted, ConnectionEvent, SupervisorMessage } from './connection.machine.js';
import type { ConnectionState } from '../core/states.js';

/** One server the supervisor keeps a connection actor for. */
export interface SupervisedServer {
  /** The server's id; also its connection actor's id and `systemId` (in the system it runs in). */
  id: string;
  /** The transport the target uses. */
  transport: TransportKind;
  /** Where the server is; handed to the connection's `connect` actor. */
  target?: ServerTarget;
  /** The connection's resolved settings. */
  settings: ConnectionSettings;
  /** Higher is admitted first. */
  priority: number;
  /** Not admitted until every one of these is `healthy`. */
  dependsOn: string[];
  /** Seed for the connection's backoff and probe jitter. */
  seed?: number;
}

/** What the supervisor actor is created with. */
export interface SupervisorInput {
  /** The servers to start with; more can be added with `server.add`. */
  servers: SupervisedServer[];
  /** At most this many connections in `connecting` at any instant (docs/design.md §3). */
  maxConcurrentReconnects?: number;
  /** Slots only the top priority class may use; default 1 in 4. */
  reservedForTop?: number;
  /** Overrides of `DEFAULT_FLAP_SETTINGS`. */
  flap?: Partial<FlapSettings>;
  /** Overrides of `DEFAULT_PANIC_SETTINGS`. */
  panic?: Partial<PanicSettings>;
}

/** One connection's flap quarantine record. */
export interface Quarantine {
  /** Epoch ms when the quarantine ends; undefined when not quarantined now. */
  until: number | undefined;
  /** How many times this connection has been quarantined; lengthens the next one. */
  times: number;
}

/** Losses in time order, and how many are still lost within the panic window. */
export interface LossWindow {
  /** Every loss (which connection, when in epoch ms) not yet aged out of the window, oldest first. */
  log: List<{ id: string; at: number }>;
  /** Connections lost within the window and not serving again: what the panic threshold is checked against. */
  count: number;
}

/** Panic bookkeeping; whether the supervisor panics now is its `admission.panicking` state. */
export interface PanicStatus {
  /** When the current (or last) panic started. */
  since: number | undefined;
  /** How many times panic mode was entered. */
  count: number;
}

/** Everything the supervisor actor knows; what its snapshots carry. */
export interface SupervisorContext {
  /** Every supervised server, by id. */
  servers: Record<string, SupervisedServer>;
  /** The last state each connection reported. */
  states: ImmutableMap<string, ConnectionState>;
  /**
   * Waiting for a slot, in admission order (`compareRequests`). A persistent list: a fleet of
   * thousands asking at once (a cold start, a storm) queues and leaves in O(log n) per request,
   * where copying an array per request made the storm O(n²).
   */
  queue: List<SlotRequest>;
  /** The ids in {@link SupervisorContext.queue}. */
  queued: ImmutableSet<string>;
  /** Holding a slot: granted and not yet reported out of `connecting`. */
  inFlight: string[];
  /** The most slots ever held at once; the cap invariant says this never exceeds the cap. */
  maxInFlightSeen: number;
  /** The cap: slots that may be held at once outside panic; default 4. */
  maxConcurrentReconnects: number;
  /** Slots only the top priority class may use. */
  reservedForTop: number;
  /** Flap quarantine settings in force. */
  flap: FlapSettings;
  /** Panic mode settings in force. */
  panicSettings: PanicSettings;
  /** Each connection's deaths (epoch ms) that count toward flapping: pruned to the flap window at each death, cleared on quarantine. */
  deaths: ImmutableMap<string, readonly number[]>;
  /** Each connection's quarantine record, once it has been quarantined. */
  quarantine: ImmutableMap<string, Quarantine>;
  /** When each connection last fell out of service; cleared once it is healthy again. */
  lostAt: ImmutableMap<string, number>;
  /** Losses in time order and how many are still lost within the panic window. */
  losses: LossWindow;
  /** Counts over the reported states, kept up to date per report instead of recounted. */
  tally: { reported: number; stopped: number; serving: number };
  /** The highest priority configured: that class may use the reserved slots. */
  topPriority: number;
  /** Panic bookkeeping (when the last panic started, how many there were). */
  panic: PanicStatus;
  /** Servers being removed: stopped, waiting for their transport to close. */
  removing: string[];
}

/** An operator command to one connection, forwarded by the supervisor (`connection.command`). */
export type ConnectionCommand = 'start' | 'stop' | 'reconnect' | 'probe';

/**
 * What the supervisor actor accepts: its children's messages, fleet changes (`server.add`,
 * `server.remove`, `server.restart`), operator commands, `shutdown`, and internal events.
 */
export type SupervisorEvent =
  | SupervisorMessage
  | { type: 'server.add'; server: SupervisedServer }
  | { type: 'server.remove'; id: string }
  | { type: 'server.restart'; id: string }
  | { type: 'connection.command'; id: string; command: ConnectionCommand }
  /** Stop admitting and stop every connection (graceful shutdown). */
  | { type: 'shutdown' }
  /** Internal: grant what slots the current admission mode allows. */
  | { type: 'admit' }
  | { type: 'quarantine.scheduled' }
  | PanicChanged;

/** Panic mode begins or ends; raised internally and emitted to observers. */
export type PanicChanged =
  | { type: 'panic.started'; lost: number; total: number; at: number }
  | { type: 'panic.ended'; lost: number; total: number; at: number };

/** The one event stream HTTP, metrics and logs read (`supervisor.on('*', …)`). */
export type SupervisorEmitted =
  | { type: 'state.changed'; id: string; from: ConnectionState | undefined; to: ConnectionState; at: number; reason: string | undefined }
  | ConnectionEmitted
  | { type: 'slot.granted'; id: string; waitedMs: number; inFlight: number; at: number }
  | { type: 'quarantine.started'; id: string; until: number; times: number; at: number }
  | PanicChanged
  | { type: 'server.added'; id: string; at: number }
  | { type: 'server.removed'; id: string; at: number };

const LIVE: ReadonlySet<ConnectionState> = new Set(['healthy', 'degraded']);
const DEATH_FROM: ReadonlySet<ConnectionState> = new Set(['healthy', 'degraded', 'zombie']);

const now = (): number => Date.now();

/**
 * A guard on the admission mode for `enqueueActions`' `check` (its guard type is not inferred
 * from `setup`, hence the cast; the guard itself is XState's `stateIn`).
 */
function inAdmission(mode: 'normal' | 'panicking'): never {
  return stateIn({ admission: mode }) as never;
}

/** A server's connection input: it reports to the supervisor itself, wherever it runs. */
function connectionInput(server: SupervisedServer, supervisor: AnyActorRef): SupervisedConnectionInput {
  return {
    id: server.id,
    transport: server.transport,
    target: server.target,
    settings: server.settings,
    supervised: true,
    seed: server.seed,
    reportTo: supervisor,
  };
}

/** A command for one connection, for the supervisor's one `connections` child to hand on. */
function toConnection(id: string, event: ConnectionEvent): ConnectionsCommand {
  return { type: 'connection.send', id, event };
}

function isQuarantined(context: SupervisorContext, id: string, at: number): boolean {
  const until = context.quarantine.get(id)?.until;
  return until !== undefined && until > at;
}

function dependenciesHealthy(context: SupervisorContext, id: string): boolean {
  return (context.servers[id]?.dependsOn ?? []).every((dependency) => context.states.get(dependency) === 'healthy');
}

/**
 * The next `lostAt` table and loss window after one report, in amortized O(1) (persistent maps
 * and lists, so the context is replaced, never mutated): losses are logged in time order, and
 * entries leave the count when they age out of the window or when their connection serves again.
 */
function trackLoss(
  context: SupervisorContext,
  id: string,
  from: ConnectionState | undefined,
  to: ConnectionState,
  at: number,
): { lostAt: ImmutableMap<string, number>; losses: LossWindow } {
  const windowStart = at - context.panicSettings.windowMs;
  let { count, log } = context.losses;
  let { lostAt } = context;
  const previous = lostAt.get(id);
  // Cleared once serving again (or stopped on purpose): a lost connection that is back in
  // `connecting` is still out of service and still counts toward panic.
  if (LIVE.has(to) || to === 'stopped') {
    if (previous !== undefined && previous > windowStart) count -= 1;
    lostAt = lostAt.delete(id);
  } else if (from !== undefined && LIVE.has(from)) {
    if (previous !== undefined && previous > windowStart) count -= 1;
    lostAt = lostAt.set(id, at);
    log = log.push({ id, at });
    count += 1;
  }
  for (let oldest = log.first(); oldest !== undefined && oldest.at <= windowStart; oldest = log.first()) {
    log = log.shift();
    if (lostAt.get(oldest.id) === oldest.at) count -= 1;
  }
  return { lostAt, losses: { log, count } };
}

/** Binary search for where `request` belongs in a queue sorted by `compareRequests`. */
function insertionIndex(queue: List<SlotRequest>, request: SlotRequest): number {
  let low = 0;
  let high = queue.size;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const other = queue.get(middle);
    if (other !== undefined && compareRequests(other, request) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

function topPriorityOf(servers: Iterable<SupervisedServer>): number {
  let top = Number.NEGATIVE_INFINITY;
  for (const server of servers) top = Math.max(top, server.priority);
  return Number.isFinite(top) ? top : 0;
}

function without<T>(record: Record<string, T>, id: string): Record<string, T> {
  const { [id]: _removed, ...rest } = record;
  return rest;
}

/**
 * The supervisor statechart: one `connections` child that holds a connection actor per server
 * (`systemId` = server id; by default in the supervisor's own system, `isolatedConnections` for
 * large fleets) and two parallel regions, `admission` (`normal`, `panicking`, `shuttingDown`) and `quarantine` (the
 * timer that ends quarantines). It grants reconnect slots under a concurrency cap, by priority
 * and dependencies, quarantines flapping connections and admits slowly in a panic; every fact
 * it emits is a {@link SupervisorEmitted}. Provide the `connections` actor with
 * `.provide()` (`connectionHub(logic)` with real I/O, or scripted actors in tests). Each
 * connection reports to the supervisor directly; the supervisor has one child, not one per
 * server, so adding a server or stopping the fleet does not copy a children map of the fleet's size.
 *
 * @example
 * ```ts
 * import { createActor } from 'xstate';
 * const supervisor = createActor(
 *   supervisorMachine.provide({ actors: { connections: connectionHub(myConnectionLogic) } }),
 *   { input: { servers: [{ id: 'files', transport: 'stdio', settings: resolveSettings(), priority: 0, dependsOn: [] }] } },
 * ).start();
 * supervisor.on('*', (event) => console.log(event.type, event));
 * ```
 */
export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
    emitted: {} as SupervisorEmitted,
  },
  actors: {
    /** Holds every connection: `connectionHub(createConnectionLogic())` (real I/O), `isolatedConnections(…)`, or scripted actors (tests). */
    connections: connectionHub(),
  },
  guards: {
    noActiveQuarantine: ({ context }) => !context.quarantine.some((_entry, id) => isQuarantined(context, id, now())),
  },
  delays: {
    untilNextQuarantineEnds: ({ context }) => {
      const ends = [...context.quarantine.values()]
        .map((entry) => entry.until)
        .filter((until): until is number => until !== undefined);
      return Math.max(0, Math.min(...ends) - now());
    },
  },
  actions: {
    addServer: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'server.add' || Object.hasOwn(context.servers, event.server.id)) return;
      const { server } = event;
      enqueue.assign({ servers: { ...context.servers, [server.id]: server }, topPriority: Math.max(context.topPriority, server.priority) });
      enqueue.sendTo('connections', { type: 'connection.spawn', inputs: [connectionInput(server, self)] });
      enqueue.emit({ type: 'server.added', id: server.id, at: now() });
    }),
    /** Removal stops the connection first; the child is dropped once its transport is closed. */
    beginRemoval: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'server.remove' || !Object.hasOwn(context.servers, event.id) || context.removing.includes(event.id)) return;
      enqueue.assign({ removing: [...context.removing, event.id] });
      enqueue.sendTo('connections', toConnection(event.id, { type: 'stop' }));
    }),
    finishRemoval: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'connection.closed' || !context.removing.includes(event.id)) return;
      const { id } = event;
      enqueue.sendTo('connections', { type: 'connection.stop', id });
      const state = context.states.get(id);
      const servers = without(context.servers, id);
      enqueue.assign({
        servers,
        topPriority: topPriorityOf(Object.values(servers)),
        tally: {
          reported: context.tally.reported - (state === undefined ? 0 : 1),
          stopped: context.tally.stopped - (state === 'stopped' ? 1 : 0),
          serving: context.tally.serving - (state !== undefined && LIVE.has(state) ? 1 : 0),
        },
        states: context.states.delete(id),
        deaths: context.deaths.delete(id),
        quarantine: context.quarantine.delete(id),
        lostAt: context.lostAt.delete(id),
        queue: context.queue.filter((request) => request.id !== id),
        queued: context.queued.delete(id),
        inFlight: context.inFlight.filter((held) => held !== id),
        removing: context.removing.filter((removing) => removing !== id),
      });
      enqueue.emit({ type: 'server.removed', id, at: now() });
    }),
    restartServer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'server.restart' || !Object.hasOwn(context.servers, event.id)) return;
      enqueue.sendTo('connections', toConnection(event.id, { type: context.states.get(event.id) === 'stopped' ? 'start' : 'reconnect' }));
    }),
    forwardCommand: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'connection.command' || !Object.hasOwn(context.servers, event.id)) return;
      enqueue.sendTo('connections', toConnection(event.id, { type: event.command }));
    }),
    beginShutdown: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ queue: List<SlotRequest>(), queued: ImmutableSet<string>() });
      for (const id of Object.keys(context.servers)) enqueue.sendTo('connections', toConnection(id, { type: 'stop' }));
    }),
    enqueueRequest: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'slot.requested') return;
      const server = context.servers[event.id];
      if (!server || context.queued.has(event.id) || context.inFlight.includes(event.id)) return;
      // Kept in admission order, so admission reads it from the front.
      const request = { id: event.id, priority: server.priority, requestedAt: now() };
      const index = insertionIndex(context.queue, request);
      // The usual case (same priority, newest) appends, which a persistent list does cheaply.
      const queue = index === context.queue.size ? context.queue.push(request) : context.queue.insert(index, request);
      enqueue.assign({ queue, queued: context.queued.add(event.id) });
    }),
    /**
     * Everything a reported state change means to the supervisor: slot release, the event
     * stream, flap counting and quarantine, and panic detection. The per-server tables are
     * persistent maps (Immutable.js): each report replaces the context in O(log n) without
     * mutating it. Copying plain records on every report made a storm O(fleet²) (3000
     * connections took 27 s to come up), and mutating them in place broke snapshot immutability.
     */
    recordChange: enqueueActions(({ context, event, enqueue, check }) => {
      if (event.type !== 'state.changed' || !Object.hasOwn(context.servers, event.id)) return;
      const { id, to, at, reason } = event;
      const from = context.states.get(id);
      const states = context.states.set(id, to);
      const tally = {
        reported: context.tally.reported + (from === undefined ? 1 : 0),
        stopped: context.tally.stopped + (to === 'stopped' ? 1 : 0) - (from === 'stopped' ? 1 : 0),
        serving: context.tally.serving + (LIVE.has(to) ? 1 : 0) - (from !== undefined && LIVE.has(from) ? 1 : 0),
      };
      const inFlight = to === 'connecting' || !context.inFlight.includes(id) ? context.inFlight : context.inFlight.filter((held) => held !== id);
      const leavesQueue = (to === 'stopped' || to === 'failed') && context.queued.has(id);
      const queue = leavesQueue ? context.queue.filter((request) => request.id !== id) : context.queue;
      const queued = leavesQueue ? context.queued.delete(id) : context.queued;
      enqueue.emit({ type: 'state.changed', id, from, to, at, reason });

      // A process that crashes soon after starting is a death too, even if it never got healthy.
      let { deaths, quarantine } = context;
      const died = to === 'reconnecting' && ((from !== undefined && DEATH_FROM.has(from)) || event.earlyExit === true);
      if (died) {
        const recent = [...recentDeaths(context.deaths.get(id) ?? [], at, context.flap.flapWindowMs), at];
        if (isFlapping(recent, at, context.flap)) {
          const times = (context.quarantine.get(id)?.times ?? 0) + 1;
          const until = at + quarantineDuration(times, context.flap);
          quarantine = quarantine.set(id, { until, times });
          deaths = deaths.set(id, []);
          enqueue.emit({ type: 'quarantine.started', id, until, times, at });
          enqueue.raise({ type: 'quarantine.scheduled' });
        } else {
          deaths = deaths.set(id, recent);
        }
      }

      const { lostAt, losses } = trackLoss(context, id, from, to, at);
      // Servers the operator stopped are not part of the fleet being judged.
      const total = tally.reported - tally.stopped;
      let panic = context.panic;
      if (check(inAdmission('normal')) && tooManyLost(losses.count, total, context.panicSettings)) {
        panic = { since: at, count: panic.count + 1 };
        const started = { type: 'panic.started', lost: losses.count, total, at } as const;
        enqueue.emit(started);
        // Raised before `admit`, so admission already runs under the panic cap.
        enqueue.raise(started);
      } else if (check(inAdmission('panicking')) && panicOver(tally.serving, total, context.panicSettings)) {
        const ended = { type: 'panic.ended', lost: total - tally.serving, total, at } as const;
        enqueue.emit(ended);
        enqueue.raise(ended);
      }
      enqueue.assign({ states, deaths, quarantine, lostAt, tally, inFlight, queue, queued, losses, panic });
    }),
    endQuarantines: enqueueActions(({ context, enqueue }) => {
      const at = now();
      const quarantine = context.quarantine.map((entry) => (entry.until !== undefined && entry.until <= at ? { ...entry, until: undefined } : entry));
      enqueue.assign({ quarantine });
    }),
    forwardProbe: enqueueActions(({ event, enqueue }) => {
      if (event.type === 'probe.completed') enqueue.emit(event);
    }),
    /** Asks the admission region to grant what slots its mode allows (after any panic change raised before it). */
    requestAdmission: raise({ type: 'admit' }),
    /** Grants slots to waiting connections in priority order, never beyond the cap. */
    admitWaiting: enqueueActions(({ context, enqueue }, params: { panicking: boolean }) => {
      if (context.queue.size === 0) return;
      const at = now();
      const cap = params.panicking
        ? Math.min(context.maxConcurrentReconnects, context.panicSettings.panicConcurrency)
        : context.maxConcurrentReconnects;
      // Full: nothing to decide (the common case in a storm, so it must be cheap).
      if (context.inFlight.length >= cap) return;
      const admitted = admit({
        queue: context.queue,
        sorted: true,
        inFlight: new Set(context.inFlight),
        priorityOf: (id) => context.servers[id]?.priority ?? 0,
        maxConcurrent: cap,
        reservedForTop: context.reservedForTop,
        topPriority: context.topPriority,
        isAdmissible: (request) => !isQuarantined(context, request.id, at) && dependenciesHealthy(context, request.id),
      });
      if (admitted.length === 0) return;
      const inFlight = [...context.inFlight, ...admitted];
      const granted = new Set(admitted);
      const requestedAt = new Map<string, number>();
      // Admission reads from the front, so the admitted are usually the first few: drop them by
      // slicing (cheap on a persistent list); anyone skipped in between means a filter.
      let skipped = false;
      for (const request of context.queue) {
        if (!granted.has(request.id)) skipped = true;
        else requestedAt.set(request.id, request.requestedAt);
        if (requestedAt.size === granted.size) break;
      }
      const queue = skipped ? context.queue.filter((request) => !granted.has(request.id)) : context.queue.slice(granted.size);
      const queued = admitted.reduce((ids, id) => ids.delete(id), context.queued);
      enqueue.assign({ inFlight, queue, queued, maxInFlightSeen: Math.max(context.maxInFlightSeen, inFlight.length) });
      for (const id of admitted) {
        enqueue.sendTo('connections', toConnection(id, { type: 'slot.granted' }));
        enqueue.emit({ type: 'slot.granted', id, waitedMs: at - (requestedAt.get(id) ?? at), inFlight: inFlight.length, at });
      }
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => {
    const maxConcurrentReconnects = input.maxConcurrentReconnects ?? 4;
    return {
      servers: Object.fromEntries(input.servers.map((server) => [server.id, server])),
      states: ImmutableMap<string, ConnectionState>(),
      queue: List<SlotRequest>(),
      queued: ImmutableSet<string>(),
      inFlight: [],
      maxInFlightSeen: 0,
      maxConcurrentReconnects,
      reservedForTop: input.reservedForTop ?? defaultReservedSlots(maxConcurrentReconnects),
      flap: { ...DEFAULT_FLAP_SETTINGS, ...input.flap },
      panicSettings: { ...DEFAULT_PANIC_SETTINGS, ...input.panic },
      deaths: ImmutableMap<string, readonly number[]>(),
      quarantine: ImmutableMap<string, Quarantine>(),
      lostAt: ImmutableMap<string, number>(),
      losses: { log: List<{ id: string; at: number }>(), count: 0 },
      tally: { reported: 0, stopped: 0, serving: 0 },
      topPriority: topPriorityOf(input.servers),
      panic: { since: undefined, count: 0 },
      removing: [],
    };
  },
  invoke: {
    id: 'connections',
    src: 'connections',
    input: ({ context, self }) => ({ connections: Object.values(context.servers).map((server) => connectionInput(server, self)) }),
  },
  on: {
    'slot.requested': { actions: ['enqueueRequest', 'requestAdmission'] },
    'state.changed': { actions: ['recordChange', 'requestAdmission'] },
    'connection.closed': { actions: ['finishRemoval', 'requestAdmission'] },
    'probe.completed': { actions: 'forwardProbe' },
    'server.add': { actions: 'addServer' },
    'server.remove': { actions: 'beginRemoval' },
    'server.restart': { actions: 'restartServer' },
    'connection.command': { actions: 'forwardCommand' },
  },
  type: 'parallel',
  states: {
    // How reconnections are admitted: the mode a reader of the chart needs to see.
    admission: {
      initial: 'normal',
      states: {
        normal: {
          on: {
            admit: { actions: { type: 'admitWaiting', params: { panicking: false } } },
            'panic.started': 'panicking',
            shutdown: 'shuttingDown',
          },
        },
        // Most of the fleet was lost at once: admit slowly rather than hammer every server.
        panicking: {
          on: {
            admit: { actions: { type: 'admitWaiting', params: { panicking: true } } },
            'panic.ended': 'normal',
            shutdown: 'shuttingDown',
          },
        },
        // Graceful stop: no more admissions, every connection told to stop. Shutting down is not a panic.
        shuttingDown: {
          entry: 'beginShutdown',
        },
      },
    },
    // Quarantines end on a timer; the only timer the supervisor needs.
    quarantine: {
      initial: 'idle',
      states: {
        idle: {
          on: { 'quarantine.scheduled': 'timing' },
        },
        timing: {
          always: { guard: 'noActiveQuarantine', target: 'idle' },
          after: {
            untilNextQuarantineEnds: { target: 'timing', reenter: true, actions: ['endQuarantines', 'requestAdmission'] },
          },
          on: {
            // A new quarantine may end before the one being timed: time again.
            'quarantine.scheduled': { target: 'timing', reenter: true },
          },
        },
      },
    },
  },
});

/** The type of {@link supervisorMachine}. */
export type SupervisorMachine = typeof supervisorMachine;
/** A reference to a running supervisor actor. */
export type SupervisorActorRef = ActorRefFrom<SupervisorMachine>;
/** A supervisor actor's snapshot: its regions' state and {@link SupervisorContext}. */
export type SupervisorSnapshot = SnapshotFrom<SupervisorMachine>;

/** Whether the supervisor is in panic mode now. */
export function isPanicking(snapshot: Pick<SupervisorSnapshot, 'matches'>): boolean {
  return snapshot.matches({ admission: 'panicking' });
}

/** Connections actually in `connecting` according to their own reports. */
export function connectingCount(context: Pick<SupervisorContext, 'states'>): number {
  return context.states.count((state) => state === 'connecting');
}
