/**
 * A timed test model of the connection machine for `xstate/graph`.
 *
 * `xstate/graph` traverses any actor logic by calling its `transition` with the events an `events`
 * option proposes. Traversing the connection machine directly cannot tell which of its `after`
 * timers can actually fire, or when: that depends on how long ago each was started, which a machine
 * snapshot does not record. So the traversed logic here wraps the REAL machine: each step runs
 * `connectionMachine.transition` with an actor scope that captures the delayed `xstate.raise` /
 * `xstate.cancel` actions the machine resolves for its `after` timers (exactly what an actor would
 * hand to its scheduler) and the microstep transitions it takes. The wrapped snapshot adds a virtual
 * clock and the pending timers, so the model offers an `xstate.after.*` event only for the timer
 * that is due first, and advances the clock to it.
 *
 * Events the model proposes from a state are the state's own event descriptors, each made concrete:
 * user and transport events, `xstate.done.actor.*` with representative outputs and
 * `xstate.error.actor.*` with a `ConnectionError` of every kind for the actor invoked there, and the
 * first due `xstate.after.*` timer. Guards then decide on the real context, so the traversal finds
 * whatever the machine can do.
 *
 * States are deduplicated by an abstraction that keeps exactly what guards and delays read (see
 * {@link abstractKey}); the executed paths check the real actor against it at every step.
 */
import { createActor, createEmptyActor, fromCallback } from 'xstate';
import type {
  AnyActorScope,
  AnyStateNode,
  AnyTransitionDefinition,
  ActorLogic,
  EventObject,
  ExecutableActionObject,
  InspectionEvent,
  Snapshot,
  StateValue,
} from 'xstate';
import { vi } from 'vitest';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import type { AdjacencyValue, StatePath, TraversalOptions } from 'xstate/graph';
import { connectionMachine, goodStreakOf, missedStreakOf } from '../../src/machines/connection.machine.js';
import type { ConnectionContext, ConnectionEvent, ConnectionInput, ConnectionSnapshot } from '../../src/machines/connection.machine.js';
import { ConnectionError } from '../../src/core/errors.js';
import type { ErrorKind } from '../../src/core/errors.js';
import { healthyProbeInterval } from '../../src/core/policy/probe-interval.js';
import { resolveSettings } from '../../src/core/settings.js';
import type { ConnectionSettings } from '../../src/core/settings.js';
import type { McpSession } from '../../src/core/session.js';
import { fakeSession } from './fake-session.js';

// ---------------------------------------------------------------------------------------------
// Settings and event catalogue
// ---------------------------------------------------------------------------------------------

/**
 * Small numbers, `maxAttempts` finite so `exhausted` is reachable. `resetAfterMs` is short enough
 * for a healthy spell in the model to reach it (attempts are forgiven on a good answer after it;
 * no timer of its own). The model refuses tied timers, as their order would be up to the clock.
 * No probe jitter: it changes how long a probe timer runs, never which transitions exist, and a
 * random remaining time would make every healthy state with two timers a new abstract state.
 */
const MODEL_SETTINGS: ConnectionSettings = resolveSettings({
  healthyIntervalMs: 1000,
  stableIntervalMs: 4000,
  degradedIntervalMs: 500,
  probeJitter: 0,
  pingTimeoutMs: 300,
  degradedLatencyMs: 100,
  connectTimeoutMs: 2000,
  initialBackoffMs: 100,
  multiplier: 2,
  maxBackoffMs: 1000,
  resetAfterMs: 4999,
  zombieAfter: 2,
  recoverAfter: 2,
  maxAttempts: 3,
});

export function modelInput(supervised: boolean): ConnectionInput {
  return { id: supervised ? 'model-supervised' : 'model', transport: 'memory', settings: MODEL_SETTINGS, supervised, seed: 7 };
}

const ERROR_KINDS: readonly ErrorKind[] = ['permanent', 'closed', 'session-expired', 'timeout', 'method-not-found', 'transient', 'resource'];
const ERRORS: readonly ConnectionError[] = ERROR_KINDS.map((kind) => new ConnectionError(kind, `${kind} failure`));

const FAST_MS = 1;
const SLOW_MS = 10_000;

/** What a resolved `connect` hands over; the model only needs it to be a session. */
export function modelSession(name = 'model'): McpSession {
  return fakeSession({ serverInfo: { name, version: '0' }, toJSON: () => ({ session: name }) });
}
const SESSION = modelSession();

/** A user/transport event, or a synthetic actor outcome or timer the test makes happen. */
type ModelEvent = ConnectionEvent | { type: string; output?: unknown; error?: unknown };

/** Concrete events for each event type a state may handle; a type not listed is tried as `{ type }`. */
const USER_EVENTS: Record<string, readonly ModelEvent[]> = {
  'transport.closed': ERRORS.map((error) => ({ type: 'transport.closed', error })),
  'session.expired': [{ type: 'session.expired', error: new ConnectionError('session-expired', 'session gone') }],
  'call.succeeded': [
    { type: 'call.succeeded', latencyMs: FAST_MS },
    { type: 'call.succeeded', latencyMs: SLOW_MS },
  ],
  'call.failed': ERRORS.map((error) => ({ type: 'call.failed', error, latencyMs: 5 })),
  'resource.exceeded': [{ type: 'resource.exceeded', error: new ConnectionError('resource', 'memory over limit') }],
};

/** Outputs each invoked actor may finish with. */
const OUTPUTS: Record<string, readonly unknown[]> = {
  connect: [SESSION],
  probe: [{ latencyMs: FAST_MS }, { latencyMs: SLOW_MS }],
  closeSession: [undefined],
};

// ---------------------------------------------------------------------------------------------
// Transitions and state nodes of a machine, named the same way for the machine and its .provide() copies
// ---------------------------------------------------------------------------------------------

function shortId(id: string): string {
  return id === 'connection' ? '(root)' : id.replace(/^connection\./, '');
}

function nameOf(thing: unknown): string {
  if (typeof thing === 'string') return thing;
  if (thing && typeof thing === 'object' && 'type' in thing) return String(thing.type);
  return '<inline>';
}

/** `after(backoff)`, `done(connect)`, `error(probe)`, `always`, or the event type. */
function eventLabel(eventType: string, source?: AnyStateNode): string {
  if (eventType === '') return 'always';
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (actor) {
    const invoked = source?.invoke.find((definition) => definition.id === actor[2]);
    return `${actor[1]}(${invoked ? nameOf(invoked.src) : actor[2]})`;
  }
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after(${after[1]})`;
  return eventType;
}

/**
 * A stable name for one transition definition: source, event, position among the candidates for
 * that event (which makes it unique), guard and targets (which make it readable).
 */
export function transitionKey(transition: AnyTransitionDefinition): string {
  const { source } = transition;
  const eventType = transition.eventType as string;
  const candidates: readonly AnyTransitionDefinition[] =
    eventType === '' ? (source.always ?? []) : (source.transitions.get(eventType) ?? []);
  const index = candidates.indexOf(transition);
  const guard = transition.guard === undefined ? '' : ` [${nameOf(transition.guard)}]`;
  const target = transition.target?.length ? transition.target.map((node) => shortId(node.id)).join(',') : '(stay)';
  const reenter = transition.reenter ? ' (reenter)' : '';
  return `${shortId(source.id)} · ${eventLabel(eventType, source)} #${index < 0 ? '?' : index}${guard} → ${target}${reenter}`;
}

function allNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(allNodes)];
}

export function stateNodeIds(machine: { root: AnyStateNode } = connectionMachine): string[] {
  return allNodes(machine.root).map((node) => node.id);
}

/** Every transition the machine defines: `on`, `invoke.onDone/onError`, `after` and `always`. */
export function definedTransitions(machine: { root: AnyStateNode } = connectionMachine): string[] {
  const keys: string[] = [];
  for (const node of allNodes(machine.root)) {
    for (const transitions of node.transitions.values()) keys.push(...transitions.map(transitionKey));
    keys.push(...(node.always ?? []).map(transitionKey));
  }
  return keys;
}

// ---------------------------------------------------------------------------------------------
// The abstraction states are deduplicated by
// ---------------------------------------------------------------------------------------------

export interface PendingTimer {
  type: string;
  /** Virtual ms until it fires. */
  remaining: number;
}

function saturation(settings: ConnectionSettings): { good: number; missed: number } {
  // goodStreak is read by `recoversWithThisProbe` (goodStreak + 1 >= recoverAfter) and by the
  // healthy interval, which stops growing at stableIntervalMs: beyond both it changes nothing.
  let stretch = 0;
  while (stretch < 1000 && healthyProbeInterval(settings, stretch + 1) !== healthyProbeInterval(settings, stretch)) stretch += 1;
  return { good: Math.max(settings.recoverAfter - 1, stretch, 0), missed: Math.max(settings.zombieAfter - 1, 0) };
}

/**
 * What decides the machine's future: its state value, what its guards and delays read from the
 * context (not timestamps, samples, rng state or the error text), whether a healthy connection's
 * past attempts are forgiven on its next good answer or way out (read from `since` and the clock
 * at `clock`; the forgiving itself is tested in backoff.test.ts), and its pending timers. With a
 * single pending timer only its type is kept (how long it has left only matters relative to another
 * timer, and here a second timer is only ever started together with the first, in `healthy`), so the
 * randomly drawn backoff does not make every reconnect a new state.
 */
export function abstractKey(value: StateValue, context: ConnectionContext, timers: readonly PendingTimer[], clock: number): string {
  const cap = saturation(context.settings);
  const sorted = [...timers].sort((a, b) => a.remaining - b.remaining);
  return JSON.stringify({
    value,
    supervised: context.supervised,
    session: context.session !== undefined,
    probeKind: context.probeKind,
    attempts: context.attempts,
    forgivable: isHealthy(value) && context.attempts > 0 && clock - context.since >= context.settings.resetAfterMs,
    goodStreak: Math.min(goodStreakOf(context), cap.good),
    missedStreak: Math.min(missedStreakOf(context), cap.missed),
    backoffDue: context.backoffMs > 0,
    timers: sorted.length === 1 ? [sorted[0]?.type] : sorted.map((timer) => `${timer.type}@${timer.remaining}`),
  });
}

function isHealthy(value: StateValue): boolean {
  return typeof value === 'object' && typeof value.serving === 'object' && 'healthy' in value.serving;
}

// ---------------------------------------------------------------------------------------------
// The timed model
// ---------------------------------------------------------------------------------------------

interface Timer {
  id: string;
  type: string;
  due: number;
  seq: number;
}

type TimedSnapshot = Snapshot<undefined> & {
  machine: ConnectionSnapshot;
  /** Virtual ms since the start. */
  now: number;
  /** Pending timers, first due first. */
  timers: readonly Timer[];
  /** Keys of the transitions the step that produced this snapshot took. */
  taken: readonly string[];
  /** Ids of the state nodes that step entered or passed through. */
  entered: readonly string[];
  key: string;
};

export const isAfterEvent = (type: string): boolean => type.startsWith('xstate.after.');
export const ACTOR_EVENT = /^xstate\.(done|error)\.actor\.(.+)$/;

/** The `src` of the actor invoked with `id` in one of the snapshot's active state nodes. */
function invokedSrc(snapshot: ConnectionSnapshot, id: string): string | undefined {
  for (const node of snapshot._nodes as AnyStateNode[]) {
    const definition = node.invoke.find((invoke) => invoke.id === id);
    if (definition) return nameOf(definition.src);
  }
  return undefined;
}

/** Records what `connectionMachine.transition` resolves instead of executing it. */
interface Recorded<T> {
  result: T;
  actions: ExecutableActionObject[];
  transitions: AnyTransitionDefinition[];
  /** State nodes active after any microstep, including states passed through. */
  entered: Set<string>;
}

function recordingScope(): { scope: AnyActorScope; record: <T>(run: (scope: AnyActorScope) => T) => Recorded<T> } {
  // `sendParent` needs a parent to resolve against (a supervised connection reports to one).
  const self = createActor(fromCallback(() => undefined), { parent: createEmptyActor() });
  let actions: ExecutableActionObject[] = [];
  let transitions: AnyTransitionDefinition[] = [];
  let entered = new Set<string>();
  self.system.inspect((event: InspectionEvent) => {
    if (event.type !== '@xstate.microstep') return;
    transitions.push(...event._transitions);
    for (const node of (event.snapshot as ConnectionSnapshot)._nodes as AnyStateNode[]) entered.add(node.id);
  });
  const scope: AnyActorScope = {
    self,
    id: '',
    sessionId: self.sessionId,
    logger: () => undefined,
    defer: () => undefined,
    emit: () => undefined,
    system: self.system,
    stopChild: () => undefined,
    actionExecutor: (action) => {
      actions.push(action);
    },
  };
  return {
    scope,
    record: (run) => {
      actions = [];
      transitions = [];
      entered = new Set();
      const result = run(scope);
      return { result, actions, transitions, entered };
    },
  };
}

function createTimedModel(input: ConnectionInput): ActorLogic<TimedSnapshot, ModelEvent> {
  const { record } = recordingScope();
  const memo = new WeakMap<TimedSnapshot, Map<string, TimedSnapshot>>();
  let seq = 0;

  function settle(now: number, before: readonly Timer[], recorded: Recorded<ConnectionSnapshot>): TimedSnapshot {
    const { result: machine, actions, transitions, entered } = recorded;
    const timers = new Map(before.map((timer) => [timer.id, timer]));
    for (const action of actions) {
      if (action.type === 'xstate.cancel') {
        timers.delete((action.params as { sendId: string }).sendId);
      } else if (action.type === 'xstate.raise') {
        const { event, id, delay } = action.params as { event: EventObject; id?: string; delay?: number };
        if (typeof delay === 'number') {
          const timerId = id ?? `anonymous-${seq}`;
          timers.set(timerId, { id: timerId, type: event.type, due: now + delay, seq: seq++ });
        }
      }
    }
    const pending = [...timers.values()].sort((a, b) => a.due - b.due || a.seq - b.seq);
    const [first, second] = pending;
    if (first && second && first.due === second.due) {
      throw new Error(`model: timers ${first.type} and ${second.type} fall due at the same instant; pick other settings`);
    }
    if (machine.status !== 'active') {
      throw new Error(`model: the machine ended in status ${machine.status}: ${String(machine.error)}`);
    }
    return {
      status: 'active',
      output: undefined,
      error: undefined,
      machine,
      now,
      timers: pending,
      taken: transitions.map(transitionKey),
      entered: [...new Set([...entered, ...(machine._nodes as AnyStateNode[]).map((node) => node.id)])],
      key: abstractKey(machine.value, machine.context, pending.map((timer) => ({ type: timer.type, remaining: timer.due - now })), MODEL_EPOCH + now),
    };
  }

  return {
    getInitialSnapshot: () => settle(0, [], atModelTime(0, () => record((scope) => connectionMachine.getInitialSnapshot(scope as never, input)))),
    transition: (snapshot, event) => {
      // The graph functions each build the adjacency map; with this cache the second build is free.
      let known = memo.get(snapshot);
      if (!known) memo.set(snapshot, (known = new Map()));
      const eventKey = formatEvent(event);
      const cached = known.get(eventKey);
      if (cached) return cached;
      const next = step(snapshot, event);
      known.set(eventKey, next);
      return next;
    },
    getPersistedSnapshot: (snapshot) => snapshot,
  };

  function step(snapshot: TimedSnapshot, event: ModelEvent): TimedSnapshot {
    let { now } = snapshot;
    let timers = snapshot.timers;
    if (isAfterEvent(event.type)) {
      const timer = timers.find((pending) => pending.type === event.type);
      if (!timer) throw new Error(`model: no pending timer ${event.type}`);
      now = timer.due;
      timers = timers.filter((pending) => pending !== timer);
    }
    return settle(now, timers, atModelTime(now, () => record((scope) => connectionMachine.transition(snapshot.machine, event as ConnectionEvent, scope as never))));
  }
}

/** The wall-clock instant the model's virtual time 0 stands for. */
const MODEL_EPOCH = Date.UTC(2026, 0, 1);

/**
 * Runs `run` with the clock at the model's virtual `now`: the machine reads the clock for what a
 * delay waits (the time left until a probe is due), and a real clock moving during the plan would
 * make two runs of one path differ by a millisecond. The clock is put back as it was after: real,
 * a `Date` mock, or a test's fake clock at the instant it showed.
 */
function atModelTime<T>(now: number, run: () => T): T {
  const fakeTimers = vi.isFakeTimers();
  const mocked = vi.getMockedSystemTime();
  const before = Date.now();
  vi.setSystemTime(MODEL_EPOCH + now);
  try {
    return run();
  } finally {
    if (fakeTimers) vi.setSystemTime(before);
    else if (mocked) vi.setSystemTime(mocked);
    else vi.useRealTimers();
  }
}

/** The concrete events worth trying from a model state. */
function modelEvents(snapshot: TimedSnapshot): ModelEvent[] {
  const { machine } = snapshot;
  const types = [...new Set((machine._nodes as AnyStateNode[]).flatMap((node) => node.ownEvents as string[]))];
  const events: ModelEvent[] = [];
  for (const type of types) {
    if (isAfterEvent(type)) {
      // Only the timer due first can fire next; the others are still running.
      if (snapshot.timers[0]?.type === type) events.push({ type });
      continue;
    }
    const actor = ACTOR_EVENT.exec(type);
    if (actor) {
      const [, outcome, id] = actor;
      if (id === undefined || !(id in machine.children)) continue;
      if (outcome === 'done') {
        const src = invokedSrc(machine, id) ?? '';
        events.push(...(OUTPUTS[src] ?? [undefined]).map((output) => ({ type, output })));
      } else {
        events.push(...ERRORS.map((error) => ({ type, error })));
      }
      continue;
    }
    events.push(...(USER_EVENTS[type] ?? [{ type }]));
  }
  return events;
}

/** Short, readable form of an event, also used to compare event sequences. */
function formatEvent(event: ModelEvent, snapshot?: ConnectionSnapshot): string {
  const actor = ACTOR_EVENT.exec(event.type);
  const base = actor && snapshot ? `${actor[1]}(${invokedSrc(snapshot, actor[2] ?? '') ?? actor[2]})` : eventLabel(event.type);
  const details: string[] = [];
  if ('error' in event && event.error instanceof ConnectionError) details.push(event.error.kind);
  if ('latencyMs' in event && typeof event.latencyMs === 'number') details.push(`${event.latencyMs}ms`);
  if ('output' in event && event.output && typeof event.output === 'object' && 'latencyMs' in event.output) {
    details.push(`${String(event.output.latencyMs)}ms`);
  }
  return details.length ? `${base}:${details.join(',')}` : base;
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

export interface ModelStep {
  event: ModelEvent;
  /** Short form, e.g. `error(probe):closed`, `after(pingTimeout)`. */
  label: string;
  /** The model state after the event: value and abstract key. */
  value: StateValue;
  key: string;
}

export interface ModelPath {
  /** Steps from the initial state; empty for the initial state itself. */
  steps: ModelStep[];
  /** Transitions crossed on the way, including the initial eventless ones. */
  crosses: string[];
  description: string;
}

export interface ModelPlan {
  initial: { value: StateValue; key: string };
  /** Abstract states and edges the traversal found. */
  stateCount: number;
  edgeCount: number;
  /** Every transition crossed anywhere in the model, and every state node id reached. */
  crossed: Set<string>;
  reached: Set<string>;
  /** Shortest paths crossing every crossed transition, prefixes removed. */
  paths: ModelPath[];
}

/**
 * Traverses the timed model with `getAdjacencyMap` (every abstract state and edge) and
 * `getShortestPaths` (the shortest path to every abstract state), then, for every transition the
 * model can cross, takes the shortest path to an edge crossing it, plus that edge. Paths that are a
 * prefix of another are dropped.
 */
export function planModel(input: ConnectionInput): ModelPlan {
  const logic = createTimedModel(input);
  const fromState = logic.getInitialSnapshot(undefined as never, undefined);
  const options: TraversalOptions<TimedSnapshot, ModelEvent, unknown> = {
    fromState,
    events: modelEvents,
    serializeState: (snapshot) => snapshot.key,
    serializeEvent: (event) => formatEvent(event),
  };
  const adjacency = getAdjacencyMap(logic, options);
  const shortest = new Map<string, StatePath<TimedSnapshot, ModelEvent>>();
  for (const path of getShortestPaths(logic, options)) shortest.set(path.state.key, path);

  // For every transition: the cheapest (prefix state, event) crossing it.
  const best = new Map<string, { weight: number; prefix: ModelEvent[]; event: ModelEvent | undefined }>();
  const consider = (key: string, weight: number, prefix: ModelEvent[], event: ModelEvent | undefined): void => {
    const current = best.get(key);
    if (!current || weight < current.weight) best.set(key, { weight, prefix, event });
  };
  for (const key of fromState.taken) consider(key, 0, [], undefined);
  const reached = new Set<string>(fromState.entered);
  let edgeCount = 0;
  for (const [serial, { transitions }] of Object.entries(adjacency) as Array<[string, AdjacencyValue<TimedSnapshot, ModelEvent>]>) {
    const path = shortest.get(serial);
    if (!path) throw new Error(`model: no shortest path to ${serial}`);
    // `steps[0]` is a synthetic `xstate.init` step; each later step holds the event that led to its state.
    const prefix = path.steps.slice(1).map((step) => step.event);
    for (const { event, state: next } of Object.values(transitions) as Array<{ event: ModelEvent; state: TimedSnapshot }>) {
      edgeCount += 1;
      for (const id of next.entered) reached.add(id);
      for (const key of next.taken) consider(key, prefix.length + 1, prefix, event);
    }
  }

  // Replay each sequence through the model, so every step's expectation comes from this very
  // sequence (the graph's paths show one representative snapshot per abstract state).
  const replay = (events: readonly ModelEvent[]): ModelPath => {
    let snapshot = fromState;
    const crosses = [...fromState.taken];
    const steps: ModelStep[] = [];
    for (const event of events) {
      const label = formatEvent(event, snapshot.machine);
      snapshot = logic.transition(snapshot, event, undefined as never);
      crosses.push(...snapshot.taken);
      steps.push({ event, label, value: snapshot.machine.value, key: snapshot.key });
    }
    return { steps, crosses, description: steps.length ? steps.map((step) => step.label).join(' → ') : '(initial)' };
  };

  const sequences = [...best.values()]
    .map(({ prefix, event }) => (event ? [...prefix, event] : prefix))
    .sort((a, b) => b.length - a.length);
  const kept: ModelEvent[][] = [];
  const signature = (events: readonly ModelEvent[]): string[] => events.map((event) => formatEvent(event));
  for (const sequence of sequences) {
    const mine = signature(sequence);
    const covered = kept.some((other) => {
      const theirs = signature(other);
      return mine.every((label, index) => theirs[index] === label);
    });
    if (!covered) kept.push(sequence);
  }
  const paths = kept.map(replay).sort((a, b) => a.description.localeCompare(b.description));

  // The graph's path to each state and the replay must agree on every abstract state.
  for (const [serial, path] of shortest) {
    const replayed = replay(path.steps.slice(1).map((step) => step.event));
    const end = replayed.steps.at(-1)?.key ?? fromState.key;
    if (end !== serial) throw new Error(`model: replaying the path to ${serial} ends in ${end}`);
  }

  return {
    initial: { value: fromState.machine.value, key: fromState.key },
    stateCount: Object.keys(adjacency).length,
    edgeCount,
    crossed: new Set(best.keys()),
    reached,
    paths,
  };
}
