/**
 * The supervisor machine in virtual time (docs/design.md §3). Real connection machines run as its
 * children with scripted I/O actors: a connect resolves or rejects after a chosen virtual delay,
 * or hangs; a live session can be told to close its transport. Every inspection event recounts
 * the children in `connecting` from their own snapshots, so the admission cap is checked at every
 * instant, not only through the supervisor's own bookkeeping.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, enqueueActions, fromPromise } from 'xstate';
import type { Actor } from 'xstate';
import { connectionMachine, connectionStateOf } from '../../../src/machines/connection.machine.js';
import type { ConnectInput, ConnectionActorRef, ConnectionEvent, ProbeInput, ProbeResult, SessionInput } from '../../../src/machines/connection.machine.js';
import type { ConnectionState } from '../../../src/core/states.js';
import { isPanicking, supervisorMachine } from '../../../src/machines/supervisor.machine.js';
import { isolatedConnections } from '../../../src/machines/isolated-connection.js';
import { connectionHub } from '../../../src/machines/connection-hub.js';
import type { SupervisedServer, SupervisorContext, SupervisorEmitted, SupervisorInput } from '../../../src/machines/supervisor.machine.js';
import { ConnectionError } from '../../../src/core/errors.js';
import { fullJitterDelay } from '../../../src/core/policy/backoff.js';
import { nextRandom } from '../../../src/core/policy/random.js';
import { resolveSettings } from '../../../src/core/settings.js';
import type { ConnectionSettings } from '../../../src/core/settings.js';
import type { McpSession, SessionEvent } from '../../../src/core/session.js';
import { fakeSession as sharedFakeSession } from '../../support/fake-session.js';

// ---------------------------------------------------------------------------------------------
// Settings, servers, scripted I/O
// ---------------------------------------------------------------------------------------------

/**
 * Probes far away (no probe unless asked), connect timeout 10 s, and a backoff that is always 0
 * (full jitter in [0, 1) ms floors to 0), so a lost connection asks for a slot at once.
 */
const SETTINGS = resolveSettings({
  connectTimeoutMs: 10_000,
  pingTimeoutMs: 300,
  healthyIntervalMs: 3_600_000,
  stableIntervalMs: 3_600_000,
  degradedIntervalMs: 3_600_000,
  initialBackoffMs: 1,
  multiplier: 1,
  maxBackoffMs: 1,
  resetAfterMs: 3_600_000,
});

/** Default connect: succeeds after 100 ms of virtual time. */
const CONNECT_MS = 100;

function server(id: string, priority = 0, extra: Partial<SupervisedServer> = {}): SupervisedServer {
  return { id, transport: 'memory', settings: SETTINGS, priority, dependsOn: [], ...extra };
}

/** The fleet's connection logic, failing (its `storeSession` action throws) for the connection `id`. */
function failingOnStore(fleet: Fleet, id: string) {
  const storeSession = fleet.connection.implementations.actions.storeSession!;
  return fleet.connection.provide({
    actions: {
      storeSession: enqueueActions(({ context, enqueue }) => {
        if (context.id === id) throw new Error(`${id} connection`);
        enqueue(storeSession as Parameters<typeof enqueue>[0]);
      }),
    },
  });
}

function ids(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}${index}`);
}

type Outcome = 'ok' | 'transient' | 'permanent' | 'hang';
interface Step {
  ms: number;
  outcome: Outcome;
}
const ok = (ms = CONNECT_MS): Step => ({ ms, outcome: 'ok' });
const transient = (ms = CONNECT_MS): Step => ({ ms, outcome: 'transient' });
const permanent = (ms = CONNECT_MS): Step => ({ ms, outcome: 'permanent' });
const hang: Step = { ms: 0, outcome: 'hang' };

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

function fakeSession(id: string, n: number): McpSession {
  return sharedFakeSession({ serverInfo: { name: id, version: String(n) }, toJSON: () => ({ id, n }) });
}

type SupervisorActor = Actor<typeof supervisorMachine>;

class Fleet {
  readonly t0 = Date.now();
  /** Per server: the next connect attempts' scripts; then `defaults`, then `ok()`. */
  readonly plans = new Map<string, Step[]>();
  readonly defaults = new Map<string, Step>();
  readonly connectCalls: Array<{ id: string; at: number; attempt: number }> = [];
  readonly closeCalls: Array<{ id: string | undefined; at: number; session: McpSession | undefined }> = [];
  readonly sessions = new Map<string, McpSession[]>();
  readonly watchers = new Map<string, (event: ConnectionEvent) => void>();
  readonly events: SupervisorEmitted[] = [];

  /** Highest number of children seen in `connecting` at once, recounted on every inspection event. */
  maxConnecting = 0;
  /** The same, only while the supervisor is in panic mode (its `admission.panicking` state). */
  maxConnectingInPanic = 0;
  inspections = 0;
  actor!: SupervisorActor;

  readonly connection = connectionMachine.provide({
    actors: {
      connect: fromPromise<McpSession, ConnectInput>(({ input, signal }) => {
        this.connectCalls.push({ id: input.id, at: this.now(), attempt: input.attempt });
        const step = this.plans.get(input.id)?.shift() ?? this.defaults.get(input.id) ?? ok();
        if (step.outcome === 'hang') return never();
        return new Promise<McpSession>((resolve, reject) => {
          const timer = setTimeout(() => {
            if (step.outcome === 'ok') {
              const list = this.sessions.get(input.id) ?? [];
              const session = fakeSession(input.id, list.length + 1);
              list.push(session);
              this.sessions.set(input.id, list);
              // The session reports to the connection that asked for it, until it is closed.
              this.watchers.set(input.id, (event) => input.connection.send(event));
              resolve(session);
            } else {
              const kind = step.outcome === 'permanent' ? 'permanent' : 'transient';
              reject(new ConnectionError(kind, `${input.id}: ${kind} connect failure`));
            }
          }, step.ms);
          signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
        });
      }),
      probe: fromPromise<ProbeResult, ProbeInput>(async () => ({ latencyMs: 1 })),
      closeSession: fromPromise<void, SessionInput>(async ({ input }) => {
        this.closeCalls.push({ id: input.session?.serverInfo?.name, at: this.now(), session: input.session });
        // A closed session reports nothing more (the next connect makes a new one).
        const id = input.session?.serverInfo?.name;
        if (id !== undefined) this.watchers.delete(id);
      }),
    },
  });

  /** With `isolated`, the connections run in actor systems of their own (`isolatedConnections`), found here. */
  readonly isolatedRefs = new Map<string, ConnectionActorRef>();

  private readonly onInspection = (): void => {
    // Called during creation too, before `actor` is assigned.
    if (!this.actor) return;
    this.inspections += 1;
    const count = this.connectingNow();
    this.maxConnecting = Math.max(this.maxConnecting, count);
    if (isPanicking(this.actor.getSnapshot())) this.maxConnectingInPanic = Math.max(this.maxConnectingInPanic, count);
  };

  readonly logic;

  constructor(readonly isolated = false) {
    this.logic = supervisorMachine.provide({
    actors: {
      connections: this.isolated
        ? isolatedConnections(this.connection, {
            inspect: this.onInspection,
            onCreated: (id, ref) => this.isolatedRefs.set(id, ref),
            onStopped: (id) => this.isolatedRefs.delete(id),
          })
        : connectionHub(this.connection),
    },
  });
  }

  start(input: SupervisorInput): this {
    this.actor = createActor(this.logic, { input, inspect: this.onInspection });
    this.actor.on('*', (event) => this.events.push(event));
    this.actor.start();
    return this;
  }

  now(): number {
    return Date.now() - this.t0;
  }

  plan(id: string, ...steps: Step[]): this {
    this.plans.set(id, [...(this.plans.get(id) ?? []), ...steps]);
    return this;
  }

  children(): ConnectionActorRef[] {
    if (this.isolated) return [...this.isolatedRefs.values()];
    return Object.values(this.hubChildren()).filter((child) => child !== undefined) as ConnectionActorRef[];
  }

  child(id: string): ConnectionActorRef {
    const ref = this.isolated ? this.isolatedRefs.get(id) : (this.hubChildren()[id] as ConnectionActorRef | undefined);
    if (!ref) throw new Error(`no child "${id}"`);
    return ref;
  }

  /** The connections the supervisor's one `connections` child holds (not isolated). */
  hubChildren(): Record<string, unknown> {
    return (this.actor.getSnapshot().children.connections?.getSnapshot() as { children: Record<string, unknown> } | undefined)?.children ?? {};
  }

  /** Children in `connecting` according to their own snapshots. */
  connectingNow(): number {
    return this.children().filter((child) => child.getSnapshot().status === 'active' && connectionStateOf(child.getSnapshot()) === 'connecting')
      .length;
  }

  state(id: string): ConnectionState {
    return connectionStateOf(this.child(id).getSnapshot());
  }

  value(id: string): unknown {
    return this.child(id).getSnapshot().value;
  }

  states(): Record<string, ConnectionState> {
    return Object.fromEntries(Object.keys(this.ctx().servers).map((id) => [id, this.state(id)]));
  }

  ctx(): SupervisorContext {
    return this.actor.getSnapshot().context;
  }

  send(event: Parameters<SupervisorActor['send']>[0]): void {
    this.actor.send(event);
  }

  /** The transport of a live connection reports it closed (child exit, socket reset). */
  kill(id: string): void {
    const watcher = this.watchers.get(id);
    expect(watcher, `"${id}" has no live session to kill`).toBeDefined();
    const event: SessionEvent = { type: 'transport.closed', error: new ConnectionError('closed', `${id}: transport closed`) };
    watcher?.(event);
  }

  of<T extends SupervisorEmitted['type']>(type: T): Array<Extract<SupervisorEmitted, { type: T }>> {
    return this.events.filter((event): event is Extract<SupervisorEmitted, { type: T }> => event.type === type);
  }

  /** Admissions as [id, relative time]. */
  admissions(): Array<[string, number]> {
    return this.of('slot.granted').map((event) => [event.id, event.at - this.t0]);
  }

  /** `panic.started` and `panic.ended`, in order. */
  panics(): Array<Extract<SupervisorEmitted, { type: 'panic.started' | 'panic.ended' }>> {
    return this.events.filter((event) => event.type === 'panic.started' || event.type === 'panic.ended');
  }

  panicking(): boolean {
    return isPanicking(this.actor.getSnapshot());
  }

  admittedIds(): string[] {
    return this.of('slot.granted').map((event) => event.id);
  }

  connectTimes(id: string): number[] {
    return this.connectCalls.filter((call) => call.id === id).map((call) => call.at);
  }

  stop(): void {
    if (this.actor) this.actor.stop();
  }
}

const fleets: Fleet[] = [];
function fleet(input: SupervisorInput, isolated = false): Fleet {
  const created = new Fleet(isolated);
  fleets.push(created);
  return created.start(input);
}

async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}
async function advanceTo(f: Fleet, at: number): Promise<void> {
  expect(at).toBeGreaterThanOrEqual(f.now());
  await advance(at - f.now());
}
/** Settles scripted promises (closeSession, …) without moving the clock. */
async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

function allIn(f: Fleet, state: ConnectionState): boolean {
  return Object.values(f.states()).every((seen) => seen === state);
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const f of fleets.splice(0)) f.stop();
  vi.clearAllTimers();
  vi.useRealTimers();
});

// ---------------------------------------------------------------------------------------------
// The cap
// ---------------------------------------------------------------------------------------------

describe('admission cap', () => {
  it('first start admits at most maxConcurrentReconnects at once, and everyone ends healthy', async () => {
    const names = ids('s', 10);
    const f = fleet({ servers: names.map((id) => server(id)), maxConcurrentReconnects: 3 });
    await flush();
    expect(f.connectingNow()).toBe(3);
    expect(f.ctx().inFlight).toHaveLength(3);
    expect(f.ctx().queue.size).toBe(7);
    expect(f.ctx().queued.size).toBe(7);

    await advanceTo(f, 400);
    expect(allIn(f, 'healthy')).toBe(true);
    expect([...f.ctx().states.values()].every((state) => state === 'healthy')).toBe(true);
    expect(f.inspections).toBeGreaterThan(100);
    expect(f.maxConnecting).toBe(3);
    expect(f.ctx().maxInFlightSeen).toBe(3);
    expect(f.ctx().inFlight).toEqual([]);
    expect(f.ctx().queue.toArray()).toEqual([]);
    // Three at a time, in waves as slots come free.
    expect(f.admissions().map(([, at]) => at)).toEqual([0, 0, 0, 100, 100, 100, 200, 200, 200, 300]);
    expect(new Set(f.admittedIds())).toEqual(new Set(names));
    expect(f.of('slot.granted').map((event) => event.inFlight)).toEqual([1, 2, 3, 3, 3, 3, 3, 3, 3, 3]);
    expect(f.connectCalls).toHaveLength(10);
  });

  it('initial servers named like Object.prototype members (__proto__, constructor, toString) each get a child and come up', async () => {
    // The initial children are spawned from one assignment; `__proto__` must not be lost there.
    const names = ['__proto__', 'constructor', 'toString', 'plain'];
    const f = fleet({ servers: names.map((id) => server(id)), maxConcurrentReconnects: 2 });
    await advanceTo(f, 400);
    for (const id of names) expect(Object.hasOwn(f.hubChildren(), id), id).toBe(true);
    expect(allIn(f, 'healthy')).toBe(true);
    expect(new Set(f.admittedIds())).toEqual(new Set(names));
    f.actor.send({ type: 'connection.command', id: '__proto__', command: 'stop' });
    await flush();
    expect(f.state('__proto__')).toBe('stopped');
    expect(f.state('toString')).toBe('healthy');
  });

  it('one child, `connections`, holds every connection: found by id in the system, added and removed through it', async () => {
    const f = fleet({ servers: ids('s', 3).map((id) => server(id)), maxConcurrentReconnects: 3 });
    await advanceTo(f, 400);
    expect(Object.keys(f.actor.getSnapshot().children)).toEqual(['connections']);
    for (const id of ids('s', 3)) expect(f.actor.system.get(id)).toBe(f.child(id));
    f.send({ type: 'server.add', server: server('late') });
    await advanceTo(f, 800);
    expect(Object.keys(f.actor.getSnapshot().children)).toEqual(['connections']);
    expect(f.state('late')).toBe('healthy');
    const late = f.child('late');
    f.send({ type: 'server.remove', id: 'late' });
    await flush();
    expect(late.getSnapshot().status).toBe('stopped');
    expect(f.actor.system.get('late')).toBeUndefined();
    expect(Object.keys(f.hubChildren()).sort()).toEqual(ids('s', 3).sort());
    // Stopping the supervisor stops its one child, and every connection with it.
    const connections = f.children();
    f.actor.stop();
    for (const connection of connections) expect(connection.getSnapshot().status).toBe('stopped');
  });

  it('a cap of 1 connects one server at a time', async () => {
    const f = fleet({ servers: ids('s', 4).map((id) => server(id)), maxConcurrentReconnects: 1 });
    await advanceTo(f, 400);
    expect(allIn(f, 'healthy')).toBe(true);
    expect(f.maxConnecting).toBe(1);
    expect(f.ctx().maxInFlightSeen).toBe(1);
    expect(f.admissions()).toEqual([
      ['s0', 0],
      ['s1', 100],
      ['s2', 200],
      ['s3', 300],
    ]);
    expect(f.of('slot.granted').map((event) => event.waitedMs)).toEqual([0, 100, 200, 300]);
  });
});

// ---------------------------------------------------------------------------------------------
// Slots are released on every way out of `connecting`
// ---------------------------------------------------------------------------------------------

describe('slot release', () => {
  interface Way {
    name: string;
    setup: (f: Fleet) => void;
    /** Runs at t = 50 while `a` is connecting. */
    act?: (f: Fleet) => void;
    releasedAt: number;
    aState: ConnectionState;
  }
  const ways: Way[] = [
    { name: 'success', setup: (f) => f.plan('a', ok()), releasedAt: 100, aState: 'healthy' },
    { name: 'transient error', setup: (f) => f.plan('a', transient(), ok(5000)), releasedAt: 100, aState: 'reconnecting' },
    { name: 'connect timeout', setup: (f) => f.plan('a', hang, ok(5000)), releasedAt: 10_000, aState: 'reconnecting' },
    { name: 'permanent error', setup: (f) => f.plan('a', permanent()), releasedAt: 100, aState: 'failed' },
    {
      name: 'stop command',
      setup: (f) => f.plan('a', ok(5000)),
      act: (f) => f.send({ type: 'connection.command', id: 'a', command: 'stop' }),
      releasedAt: 50,
      aState: 'stopped',
    },
    {
      name: 'server.remove',
      setup: (f) => f.plan('a', ok(5000)),
      act: (f) => f.send({ type: 'server.remove', id: 'a' }),
      releasedAt: 50,
      aState: 'stopped',
    },
  ];

  it.each(ways)('$name releases the slot and the next waiting connection is admitted at once', async (way) => {
    const f = new Fleet();
    fleets.push(f);
    way.setup(f);
    f.start({ servers: [server('a'), server('b'), server('c')], maxConcurrentReconnects: 1 });
    await flush();
    expect(f.admissions()).toEqual([['a', 0]]);
    expect(f.state('a')).toBe('connecting');
    expect(f.value('b')).toEqual({ reconnecting: 'awaitingSlot' });

    await advanceTo(f, 50);
    way.act?.(f);
    await advanceTo(f, way.releasedAt - 1 > 50 ? way.releasedAt - 1 : 50);
    if (way.releasedAt > 50) {
      expect(f.admissions()).toEqual([['a', 0]]);
      expect(f.ctx().inFlight).toEqual(['a']);
      await advance(1);
    }
    // The slot went to b (it waited longer than a's own new request), at the very instant a left.
    expect(f.admissions()).toEqual([
      ['a', 0],
      ['b', way.releasedAt],
    ]);
    expect(f.of('slot.granted')[1]?.waitedMs).toBe(way.releasedAt);
    expect(f.ctx().inFlight).toEqual(['b']);
    expect(f.state('b')).toBe('connecting');
    if (way.name === 'server.remove') {
      expect(f.hubChildren().a).toBeUndefined();
      expect(f.of('server.removed').map((event) => event.id)).toEqual(['a']);
    } else {
      expect(f.state('a')).toBe(way.aState);
    }
    expect(f.maxConnecting).toBe(1);
    expect(f.ctx().maxInFlightSeen).toBe(1);

    // And the fleet carries on: c gets the slot after b.
    await advance(CONNECT_MS);
    expect(f.state('b')).toBe('healthy');
    expect(f.admittedIds().slice(0, 3)).toEqual(['a', 'b', 'c']);
    expect(f.maxConnecting).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Queue order and the reserved share
// ---------------------------------------------------------------------------------------------

describe('queue order', () => {
  it('admits higher priority first, then the longest waiting', async () => {
    const f = new Fleet();
    fleets.push(f);
    f.plan('blocker', ok(1000));
    f.start({ servers: [server('blocker', 0)], maxConcurrentReconnects: 1 });
    await advanceTo(f, 50);
    f.send({ type: 'server.add', server: server('w', 0) });
    await advanceTo(f, 100);
    f.send({ type: 'server.add', server: server('y', 1) });
    await advanceTo(f, 200);
    // x sorts before y by id, but y has waited longer.
    f.send({ type: 'server.add', server: server('x', 1) });
    await advanceTo(f, 300);
    f.send({ type: 'server.add', server: server('z', 2) });
    await advanceTo(f, 999);
    expect(f.admittedIds()).toEqual(['blocker']);
    // The queue is kept in admission order: priority, then longest waiting.
    expect(f.ctx().queue.toArray().map((request) => request.id)).toEqual(['z', 'y', 'x', 'w']);

    await advanceTo(f, 1400);
    expect(f.admissions()).toEqual([
      ['blocker', 0],
      ['z', 1000],
      ['y', 1100],
      ['x', 1200],
      ['w', 1300],
    ]);
    expect(f.of('slot.granted').map((event) => event.waitedMs)).toEqual([0, 700, 1000, 1000, 1250]);
    expect(allIn(f, 'healthy')).toBe(true);
  });

  it('orders an initial fleet by priority, then id for equal waits', async () => {
    const f = new Fleet();
    fleets.push(f);
    f.plan('first', ok(500));
    f.start({
      servers: [server('first', 0), server('b-low', 0), server('a-low', 0), server('mid', 1), server('top2', 2), server('top1', 2)],
      maxConcurrentReconnects: 1,
    });
    await advanceTo(f, 1000);
    expect(f.admissions()).toEqual([
      ['first', 0],
      ['top1', 500],
      ['top2', 600],
      ['mid', 700],
      ['a-low', 800],
      ['b-low', 900],
    ]);
  });

  it('reserves a share for the top class: low priority alone never fills it, a top server takes it at once', async () => {
    const f = new Fleet();
    fleets.push(f);
    const lows = ids('low', 6);
    for (const id of lows) f.defaults.set(id, ok(5000));
    // cap 4 → 1 slot reserved for priority 5.
    f.start({ servers: [...lows.map((id) => server(id, 0)), server('top', 5)], maxConcurrentReconnects: 4 });
    expect(f.ctx().reservedForTop).toBe(1);
    await flush();
    expect(f.admittedIds()).toEqual(['low0', 'low1', 'low2', 'top']);

    await advanceTo(f, 500);
    expect(f.state('top')).toBe('healthy');
    // Only low priority waits now: three in flight, the fourth slot stays free.
    expect(f.connectingNow()).toBe(3);
    expect(f.ctx().inFlight).toEqual(['low0', 'low1', 'low2']);
    expect(f.ctx().queue.toArray().map((request) => request.id)).toEqual(['low3', 'low4', 'low5']);
    expect(f.value('low3')).toEqual({ reconnecting: 'awaitingSlot' });

    // The top server loses its transport and gets the reserved slot at once.
    await advanceTo(f, 1000);
    f.kill('top');
    await flush();
    expect(f.admissions().at(-1)).toEqual(['top', 1000]);
    expect(f.of('slot.granted').at(-1)).toMatchObject({ id: 'top', waitedMs: 0, inFlight: 4 });
    expect(f.connectingNow()).toBe(4);
    await advanceTo(f, 1100);
    expect(f.state('top')).toBe('healthy');
    expect(f.connectingNow()).toBe(3);

    // The first lows finish at 5000; the next three take the non-reserved slots.
    await advanceTo(f, 5000);
    expect(f.admittedIds().slice(-3)).toEqual(['low3', 'low4', 'low5']);
    expect(f.connectingNow()).toBe(3);
    await advanceTo(f, 10_000);
    expect(allIn(f, 'healthy')).toBe(true);
    expect(f.maxConnecting).toBe(4);
    expect(f.ctx().maxInFlightSeen).toBe(4);
  });
});

// ---------------------------------------------------------------------------------------------
// dependsOn, backoff
// ---------------------------------------------------------------------------------------------

describe('dependsOn', () => {
  it('holds a server until its dependency is healthy, then admits it right away', async () => {
    const f = new Fleet();
    fleets.push(f);
    f.plan('db', transient(200), ok(300));
    f.start({ servers: [server('app', 1, { dependsOn: ['db'] }), server('db', 0)], maxConcurrentReconnects: 4 });
    await flush();
    // app asked first and has the higher priority, but db is not healthy.
    expect(f.admittedIds()).toEqual(['db']);
    expect(f.value('app')).toEqual({ reconnecting: 'awaitingSlot' });

    await advanceTo(f, 200); // db's first attempt fails; still not healthy
    expect(f.state('db')).toBe('connecting');
    expect(f.admittedIds()).toEqual(['db', 'db']);
    await advanceTo(f, 499);
    expect(f.value('app')).toEqual({ reconnecting: 'awaitingSlot' });
    expect(f.connectCalls.filter((call) => call.id === 'app')).toEqual([]);

    await advance(1);
    expect(f.state('db')).toBe('healthy');
    expect(f.admissions()).toEqual([
      ['db', 0],
      ['db', 200],
      ['app', 500],
    ]);
    expect(f.of('slot.granted').at(-1)?.waitedMs).toBe(500);
    await advance(CONNECT_MS);
    expect(f.state('app')).toBe('healthy');
  });

  it('waits for every dependency', async () => {
    const f = new Fleet();
    fleets.push(f);
    f.plan('a', ok(100));
    f.plan('b', ok(300));
    f.start({ servers: [server('c', 0, { dependsOn: ['a', 'b'] }), server('a'), server('b')], maxConcurrentReconnects: 4 });
    await advanceTo(f, 299);
    expect(f.state('a')).toBe('healthy');
    expect(f.admittedIds()).toEqual(['a', 'b']);
    await advance(1);
    expect(f.admissions().at(-1)).toEqual(['c', 300]);
  });
});

describe('backoff', () => {
  const BACKOFF: ConnectionSettings = { ...SETTINGS, initialBackoffMs: 10_000, multiplier: 1, maxBackoffMs: 10_000 };
  /** A seed whose first jitter draw is at least half the ceiling, so the wait is long. */
  const seed = Array.from({ length: 1000 }, (_, index) => index + 1).find((candidate) => nextRandom(candidate).value >= 0.5) ?? 1;
  const delay = fullJitterDelay(0, BACKOFF, nextRandom(seed).value);

  it('waiting out backoff holds no slot: others are admitted meanwhile', async () => {
    expect(delay).toBeGreaterThanOrEqual(5000);
    const f = new Fleet();
    fleets.push(f);
    f.plan('a', transient());
    f.start({ servers: [server('a', 0, { settings: BACKOFF, seed }), server('b'), server('c')], maxConcurrentReconnects: 1 });
    await advanceTo(f, 100);
    expect(f.value('a')).toEqual({ reconnecting: 'backoff' });
    expect(f.child('a').getSnapshot().context.backoffMs).toBe(delay);
    expect(f.admissions()).toEqual([
      ['a', 0],
      ['b', 100],
    ]);
    await advanceTo(f, 300);
    expect(f.admissions().at(-1)).toEqual(['c', 200]);
    expect(f.state('b')).toBe('healthy');
    expect(f.state('c')).toBe('healthy');
    expect(f.value('a')).toEqual({ reconnecting: 'backoff' });
    expect(f.ctx().inFlight).toEqual([]);
    expect(f.ctx().queue.toArray()).toEqual([]);

    await advanceTo(f, 100 + delay);
    expect(f.admissions().at(-1)).toEqual(['a', 100 + delay]);
    expect(f.of('slot.granted').at(-1)?.waitedMs).toBe(0);
    await advance(CONNECT_MS);
    expect(allIn(f, 'healthy')).toBe(true);
    expect(f.maxConnecting).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Flap quarantine
// ---------------------------------------------------------------------------------------------

describe('flap quarantine', () => {
  /** Kills `id` `times` times, 100 ms apart (it reconnects in 100 ms each time). */
  async function flap(f: Fleet, id: string, times: number): Promise<void> {
    for (let index = 0; index < times; index += 1) {
      expect(f.state(id)).toBe('healthy');
      f.kill(id);
      await advance(CONNECT_MS);
    }
  }

  it('more than 5 deaths within 60 s quarantine a connection for 30 s, holding no slot; the second quarantine lasts 60 s', async () => {
    const f = fleet({ servers: [server('flappy'), server('other')], maxConcurrentReconnects: 1 });
    await advanceTo(f, 200);
    expect(allIn(f, 'healthy')).toBe(true);

    await flap(f, 'flappy', 5); // deaths at 200 … 600
    expect(f.of('quarantine.started')).toEqual([]);
    expect(f.ctx().deaths.get('flappy')).toHaveLength(5);
    expect(f.state('flappy')).toBe('healthy');

    // The sixth death within the window.
    expect(f.now()).toBe(700);
    f.kill('flappy');
    await flush();
    const until = f.t0 + 700 + 30_000;
    expect(f.of('quarantine.started')).toEqual([{ type: 'quarantine.started', id: 'flappy', until, times: 1, at: f.t0 + 700 }]);
    expect(f.ctx().quarantine.get('flappy')).toEqual({ until, times: 1 });
    expect(f.ctx().deaths.get('flappy')).toEqual([]);
    expect(f.value('flappy')).toEqual({ reconnecting: 'awaitingSlot' });
    expect(f.ctx().queue.toArray().map((request) => request.id)).toEqual(['flappy']);
    expect(f.ctx().inFlight).toEqual([]);

    // Quarantine holds no slot: with a cap of 1, another connection is admitted at once.
    await advanceTo(f, 1000);
    f.kill('other');
    await flush();
    expect(f.admissions().at(-1)).toEqual(['other', 1000]);
    await advance(CONNECT_MS);
    expect(f.state('other')).toBe('healthy');

    await advanceTo(f, 700 + 30_000 - 1);
    expect(f.admissions().at(-1)).toEqual(['other', 1000]);
    expect(f.value('flappy')).toEqual({ reconnecting: 'awaitingSlot' });
    await advance(1);
    expect(f.admissions().at(-1)).toEqual(['flappy', 30_700]);
    expect(f.of('slot.granted').at(-1)?.waitedMs).toBe(30_000);
    expect(f.ctx().quarantine.get('flappy')).toEqual({ until: undefined, times: 1 });
    await advance(CONNECT_MS);
    expect(f.state('flappy')).toBe('healthy');

    // Six more deaths: quarantined again, for 2 × 30 s.
    await flap(f, 'flappy', 5);
    expect(f.of('quarantine.started')).toHaveLength(1);
    const second = f.now();
    f.kill('flappy');
    await flush();
    expect(f.of('quarantine.started').at(-1)).toEqual({ type: 'quarantine.started', id: 'flappy', until: f.t0 + second + 60_000, times: 2, at: f.t0 + second });
    await advanceTo(f, second + 60_000 - 1);
    expect(f.value('flappy')).toEqual({ reconnecting: 'awaitingSlot' });
    expect(f.admittedIds().filter((id) => id === 'flappy')).toHaveLength(1 + 5 + 1 + 5);
    await advance(1);
    expect(f.admissions().at(-1)).toEqual(['flappy', second + 60_000]);
    await advance(CONNECT_MS);
    expect(allIn(f, 'healthy')).toBe(true);
    expect(f.actor.getSnapshot().value).toEqual({ admission: 'normal', quarantine: 'idle' });
  });

  it('deaths spread wider than the window do not quarantine', async () => {
    const f = fleet({ servers: [server('slow-flapper')], maxConcurrentReconnects: 1 });
    await advanceTo(f, 100);
    for (let index = 0; index < 8; index += 1) {
      await advanceTo(f, 100 + index * 15_000);
      f.kill('slow-flapper');
      await advance(CONNECT_MS);
    }
    expect(f.of('quarantine.started')).toEqual([]);
    expect(f.ctx().deaths.get('slow-flapper')!.length).toBeLessThanOrEqual(5);
  });

  it('two quarantines ending at different times are each timed', async () => {
    const f = fleet({ servers: [server('p'), server('q')], maxConcurrentReconnects: 2 });
    await advanceTo(f, 100);
    for (let index = 0; index < 6; index += 1) {
      f.kill('p');
      await advance(CONNECT_MS);
    }
    await advanceTo(f, 10_000);
    for (let index = 0; index < 6; index += 1) {
      f.kill('q');
      if (index < 5) await advance(CONNECT_MS);
    }
    await flush();
    const [p, q] = f.of('quarantine.started');
    expect(p?.id).toBe('p');
    expect(q?.id).toBe('q');
    await advanceTo(f, p!.until - f.t0);
    expect(f.admissions().at(-1)?.[0]).toBe('p');
    expect(f.value('q')).toEqual({ reconnecting: 'awaitingSlot' });
    await advanceTo(f, q!.until - f.t0);
    expect(f.admissions().at(-1)).toEqual(['q', q!.until - f.t0]);
    await advance(CONNECT_MS);
    expect(allIn(f, 'healthy')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Panic
// ---------------------------------------------------------------------------------------------

describe('panic', () => {
  async function healthyFleet(count = 10, cap = 4): Promise<Fleet> {
    const f = fleet({ servers: ids('s', count).map((id) => server(id)), maxConcurrentReconnects: cap });
    await advanceTo(f, 1000);
    expect(allIn(f, 'healthy')).toBe(true);
    expect(f.maxConnecting).toBe(cap);
    f.maxConnecting = 0;
    return f;
  }

  it('more than half the fleet lost within 10 s → one panic event, admission one at a time until half are healthy again', async () => {
    const f = await healthyFleet();
    const admittedBefore = f.admissions().length;
    for (const id of ids('s', 8)) f.kill(id);
    await flush();
    expect(f.panics()).toEqual([{ type: 'panic.started', lost: 6, total: 10, at: f.t0 + 1000 }]);
    expect(f.panicking()).toBe(true);
    expect(f.ctx().panic).toEqual({ since: f.t0 + 1000, count: 1 });
    expect(f.connectingNow()).toBe(1);

    await advanceTo(f, 1299);
    expect(f.maxConnectingInPanic).toBe(1);
    expect(f.panicking()).toBe(true);
    await advance(1);
    // s0..s2 reconnected one at a time: 5 of 10 serve again.
    expect(f.panics()).toHaveLength(2);
    expect(f.panics()[1]).toEqual({ type: 'panic.ended', lost: 5, total: 10, at: f.t0 + 1300 });
    expect(f.panicking()).toBe(false);
    // `since` keeps when the last panic started.
    expect(f.ctx().panic).toEqual({ since: f.t0 + 1000, count: 1 });
    expect(f.connectingNow()).toBe(4);

    await advanceTo(f, 2000);
    expect(allIn(f, 'healthy')).toBe(true);
    expect(f.admissions().slice(admittedBefore).map(([, at]) => at)).toEqual([1000, 1100, 1200, 1300, 1300, 1300, 1300, 1400]);
    expect(f.maxConnectingInPanic).toBe(1);
    expect(f.maxConnecting).toBe(4);
    expect(f.panics()).toHaveLength(2);
  });

  it('half the fleet is not more than half: no panic', async () => {
    const f = await healthyFleet();
    for (const id of ids('s', 5)) f.kill(id);
    await flush();
    expect(f.panics()).toEqual([]);
    expect(f.connectingNow()).toBe(4);
  });

  it('counts a loss while the connection is still trying to come back (connecting), not only while waiting', async () => {
    const f = await healthyFleet();
    // Every reconnect attempt now takes 3 s, so the lost ones sit in `connecting`.
    for (const id of ids('s', 10)) f.defaults.set(id, ok(3000));
    const victims = ids('s', 6);
    for (const [index, id] of victims.entries()) {
      await advanceTo(f, 1000 + index * 500);
      f.kill(id);
      await flush();
      if (index < 5) expect(f.panics()).toEqual([]);
    }
    // Six of ten lost within 2.5 s, none back yet.
    expect(victims.every((id) => f.state(id) !== 'healthy')).toBe(true);
    expect(f.panics()).toEqual([{ type: 'panic.started', lost: 6, total: 10, at: f.t0 + 3500 }]);
  });

  it('losses spread wider than 10 s do not panic', async () => {
    const f = await healthyFleet();
    for (const [index, id] of ids('s', 8).entries()) {
      await advanceTo(f, 1000 + index * 3000);
      f.kill(id);
    }
    await advance(5000);
    expect(f.panics()).toEqual([]);
  });

  it('an operator stopping most of the fleet is not a panic', async () => {
    const f = await healthyFleet();
    for (const id of ids('s', 8)) f.send({ type: 'connection.command', id, command: 'stop' });
    await advance(5000);
    expect(ids('s', 8).every((id) => f.state(id) === 'stopped')).toBe(true);
    expect(f.panics()).toEqual([]);
    expect(f.panicking()).toBe(false);
  });

  it('shutdown is not a panic', async () => {
    const f = await healthyFleet();
    f.send({ type: 'shutdown' });
    await advance(5000);
    expect(allIn(f, 'stopped')).toBe(true);
    expect(f.panics()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Run-time changes: add, remove, restart, shutdown
// ---------------------------------------------------------------------------------------------

describe('run-time changes', () => {
  it('server.add spawns and admits a new connection', async () => {
    const f = fleet({ servers: [server('a')], maxConcurrentReconnects: 2 });
    await advanceTo(f, 500);
    f.send({ type: 'server.add', server: server('new', 3) });
    await flush();
    expect(f.of('server.added')).toEqual([{ type: 'server.added', id: 'new', at: f.t0 + 500 }]);
    expect(f.hubChildren().new).toBeDefined();
    expect(f.ctx().servers.new?.priority).toBe(3);
    expect(f.admissions().at(-1)).toEqual(['new', 500]);
    await advance(CONNECT_MS);
    expect(f.state('new')).toBe('healthy');
    expect(f.ctx().states.get('new')).toBe('healthy');

    // A duplicate id is ignored.
    f.send({ type: 'server.add', server: server('new', 0) });
    await flush();
    expect(f.of('server.added')).toHaveLength(1);
    expect(f.ctx().servers.new?.priority).toBe(3);
  });

  it('server.remove stops the child, closes its session, then reports it removed and forgets it', async () => {
    const f = fleet({ servers: [server('a'), server('b')], maxConcurrentReconnects: 2 });
    await advanceTo(f, 500);
    const session = f.sessions.get('a')?.[0];
    expect(session).toBeDefined();
    f.send({ type: 'server.remove', id: 'a' });
    await flush();
    expect(f.closeCalls.filter((call) => call.session === session)).toHaveLength(1);
    const trail = f.events.filter((event) => 'id' in event && event.id === 'a').map((event) => (event.type === 'state.changed' ? `${event.to}` : event.type));
    expect(trail.slice(-2)).toEqual(['stopped', 'server.removed']);
    expect(f.of('server.removed')).toEqual([{ type: 'server.removed', id: 'a', at: f.t0 + 500 }]);
    expect(f.hubChildren().a).toBeUndefined();
    expect(Object.keys(f.ctx().servers)).toEqual(['b']);
    expect([...f.ctx().states.keys()]).toEqual(['b']);
    expect(f.ctx().quarantine.get('a')).toBeUndefined();
    expect(f.ctx().removing).toEqual([]);
    expect(f.state('b')).toBe('healthy');
  });

  it('removes an already stopped server, and ignores unknown ids', async () => {
    const f = fleet({ servers: [server('a'), server('b')], maxConcurrentReconnects: 2 });
    await advanceTo(f, 500);
    f.send({ type: 'connection.command', id: 'a', command: 'stop' });
    await flush();
    expect(f.state('a')).toBe('stopped');
    f.send({ type: 'server.remove', id: 'a' });
    await flush();
    expect(f.of('server.removed').map((event) => event.id)).toEqual(['a']);
    expect(f.hubChildren().a).toBeUndefined();
    expect(Object.keys(f.ctx().servers)).toEqual(['b']);

    f.send({ type: 'server.remove', id: 'nope' });
    f.send({ type: 'server.remove', id: 'a' });
    await flush();
    expect(f.of('server.removed')).toHaveLength(1);
  });

  it('a removed server waiting for a slot leaves the queue', async () => {
    const f = new Fleet();
    fleets.push(f);
    f.plan('a', ok(1000));
    f.start({ servers: [server('a'), server('b'), server('c')], maxConcurrentReconnects: 1 });
    await advanceTo(f, 100);
    f.send({ type: 'server.remove', id: 'b' });
    await flush();
    expect(f.ctx().queue.toArray().map((request) => request.id)).toEqual(['c']);
    expect(f.of('server.removed').map((event) => event.id)).toEqual(['b']);
    await advanceTo(f, 1100);
    expect(f.admissions()).toEqual([
      ['a', 0],
      ['c', 1000],
    ]);
    expect(f.state('c')).toBe('healthy');
  });

  it('a server stopped while waiting for a slot leaves the queue and is never granted one', async () => {
    const f = new Fleet();
    fleets.push(f);
    f.plan('a', ok(1000));
    f.start({ servers: [server('a'), server('b'), server('c')], maxConcurrentReconnects: 1 });
    await advanceTo(f, 100);
    f.send({ type: 'connection.command', id: 'b', command: 'stop' });
    await flush();
    expect(f.state('b')).toBe('stopped');
    expect(f.ctx().queue.toArray().map((request) => request.id)).toEqual(['c']);
    await advanceTo(f, 1100);
    expect(f.admissions()).toEqual([
      ['a', 0],
      ['c', 1000],
    ]);
    expect(f.ctx().inFlight).toEqual([]);
    expect(f.state('c')).toBe('healthy');
    // Started again, it queues anew and gets the next free slot.
    f.send({ type: 'connection.command', id: 'b', command: 'start' });
    await advance(CONNECT_MS);
    expect(f.admissions().at(-1)).toEqual(['b', 1100]);
    expect(allIn(f, 'healthy')).toBe(true);
  });

  it('a removed id can be added again', async () => {
    const f = fleet({ servers: [server('a')], maxConcurrentReconnects: 1 });
    await advanceTo(f, 200);
    f.send({ type: 'server.remove', id: 'a' });
    await flush();
    expect(f.of('server.removed')).toHaveLength(1);
    f.send({ type: 'server.add', server: server('a') });
    await advance(CONNECT_MS);
    expect(f.state('a')).toBe('healthy');
    expect(f.connectTimes('a')).toEqual([0, 200]);
  });

  it('server.restart reconnects a live server, and starts a stopped one', async () => {
    const f = fleet({ servers: [server('a'), server('b')], maxConcurrentReconnects: 2 });
    await advanceTo(f, 500);
    f.send({ type: 'connection.command', id: 'b', command: 'stop' });
    await flush();
    f.send({ type: 'server.restart', id: 'a' });
    f.send({ type: 'server.restart', id: 'b' });
    await flush();
    expect(f.state('a')).toBe('connecting');
    expect(f.state('b')).toBe('connecting');
    await advance(CONNECT_MS);
    expect(allIn(f, 'healthy')).toBe(true);
    expect(f.connectTimes('a')).toEqual([0, 500]);
    expect(f.connectTimes('b')).toEqual([0, 500]);
    const transitions = (id: string) => f.of('state.changed').filter((event) => event.id === id).map((event) => event.to);
    expect(transitions('a')).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
    expect(transitions('b')).toEqual(['connecting', 'healthy', 'stopped', 'reconnecting', 'connecting', 'healthy']);
    // The old session was closed before the new one.
    expect(f.closeCalls.filter((call) => call.id === 'a').map((call) => call.at)).toEqual([500]);
  });

  it('server.restart brings a failed server back', async () => {
    const f = new Fleet();
    fleets.push(f);
    f.plan('a', permanent());
    f.start({ servers: [server('a')], maxConcurrentReconnects: 1 });
    await advanceTo(f, 500);
    expect(f.state('a')).toBe('failed');
    f.send({ type: 'server.restart', id: 'a' });
    await advance(CONNECT_MS);
    expect(f.state('a')).toBe('healthy');
    expect(f.admissions()).toEqual([
      ['a', 0],
      ['a', 500],
    ]);
  });

  it('shutdown stops every connection and admits no one any more', async () => {
    const f = new Fleet();
    fleets.push(f);
    f.plan('a', ok(1000));
    f.start({ servers: [server('a'), server('b'), server('c')], maxConcurrentReconnects: 1 });
    await advanceTo(f, 50);
    f.send({ type: 'shutdown' });
    await flush();
    expect(allIn(f, 'stopped')).toBe(true);
    expect(f.actor.getSnapshot().matches({ admission: 'shuttingDown' })).toBe(true);
    expect(f.ctx().queue.toArray()).toEqual([]);
    expect(f.ctx().inFlight).toEqual([]);
    expect(f.children().every((child) => child.getSnapshot().context.session === undefined)).toBe(true);
    // Even a restart during shutdown gets no slot.
    f.send({ type: 'server.restart', id: 'b' });
    await advance(10_000);
    expect(f.admissions()).toEqual([['a', 0]]);
    expect(f.connectCalls).toHaveLength(1);
    expect(f.panics()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The event stream
// ---------------------------------------------------------------------------------------------

describe('event stream', () => {
  it('transitions carry from, to, at and the reason', async () => {
    const f = new Fleet();
    fleets.push(f);
    f.plan('a', transient(), ok());
    f.start({ servers: [server('a')], maxConcurrentReconnects: 1 });
    await advanceTo(f, 300);
    expect(f.of('state.changed').map(({ from, to, at, reason }) => ({ from, to, at: at - f.t0, reason }))).toEqual([
      // The first start's wait for a slot is not a transition: the first one is to connecting.
      { from: undefined, to: 'connecting', at: 0, reason: undefined },
      { from: 'connecting', to: 'reconnecting', at: 100, reason: 'a: transient connect failure' },
      { from: 'reconnecting', to: 'connecting', at: 100, reason: undefined },
      { from: 'connecting', to: 'healthy', at: 200, reason: undefined },
    ]);
    expect(f.of('state.changed').every((event) => event.id === 'a')).toBe(true);
  });

  it('forwards probe results', async () => {
    const f = fleet({ servers: [server('a')], maxConcurrentReconnects: 1 });
    await advanceTo(f, 200);
    f.send({ type: 'connection.command', id: 'a', command: 'probe' });
    await flush();
    expect(f.of('probe.completed')).toEqual([{ type: 'probe.completed', id: 'a', kind: 'ping', outcome: 'fast', latencyMs: 1, at: f.t0 + 200 }]);
  });

  it('admissions carry how long each connection waited and how many slots are held', async () => {
    const f = fleet({ servers: ids('s', 3).map((id) => server(id)), maxConcurrentReconnects: 2 });
    await advanceTo(f, 300);
    expect(f.of('slot.granted').map(({ id, waitedMs, inFlight, at }) => ({ id, waitedMs, inFlight, at: at - f.t0 }))).toEqual([
      { id: 's0', waitedMs: 0, inFlight: 1, at: 0 },
      { id: 's1', waitedMs: 0, inFlight: 2, at: 0 },
      { id: 's2', waitedMs: 100, inFlight: 2, at: 100 },
    ]);
  });

  it('ignores messages about unknown servers and commands for them', async () => {
    const f = fleet({ servers: [server('a')], maxConcurrentReconnects: 1 });
    await advanceTo(f, 200);
    const before = f.events.length;
    f.send({ type: 'state.changed', id: 'ghost', to: 'reconnecting', at: Date.now(), reason: undefined });
    f.send({ type: 'slot.requested', id: 'ghost' });
    f.send({ type: 'connection.command', id: 'ghost', command: 'stop' });
    f.send({ type: 'server.restart', id: 'ghost' });
    await flush();
    expect(f.events.length).toBe(before);
    expect(f.ctx().queue.toArray()).toEqual([]);
    expect([...f.ctx().states.keys()]).toEqual(['a']);
  });
});

// ---------------------------------------------------------------------------------------------
// Each connection in an actor system of its own (`isolatedConnections`, what the fleet runs)
// ---------------------------------------------------------------------------------------------

describe('isolated connections', () => {
  it('connections share small systems of their own, not the supervisor\'s; the cap, the events and everyone healthy as with plain children', async () => {
    const names = ids('s', 10);
    const f = fleet({ servers: names.map((id) => server(id)), maxConcurrentReconnects: 3 }, true);
    await flush();
    const systems = new Set(f.children().map((child) => child.system));
    expect(systems.size).toBe(1);
    expect(systems.has(f.actor.system)).toBe(false);
    expect(f.connectingNow()).toBe(3);

    await advanceTo(f, 400);
    expect(allIn(f, 'healthy')).toBe(true);
    expect(f.maxConnecting).toBe(3);
    expect(f.admissions().map(([, at]) => at)).toEqual([0, 0, 0, 100, 100, 100, 200, 200, 200, 300]);
    expect(f.of('state.changed').filter((event) => event.to === 'healthy')).toHaveLength(10);
  });

  it('commands reach the connection; a lost one asks again; removal stops it and its system', async () => {
    const f = fleet({ servers: ['a', 'b'].map((id) => server(id)), maxConcurrentReconnects: 1 }, true);
    await advanceTo(f, 300);
    expect(f.states()).toEqual({ a: 'healthy', b: 'healthy' });

    f.kill('a');
    await advance(CONNECT_MS + 10);
    expect(f.state('a')).toBe('healthy');
    expect(f.connectTimes('a')).toHaveLength(2);

    f.send({ type: 'connection.command', id: 'b', command: 'stop' });
    await flush();
    expect(f.state('b')).toBe('stopped');

    const a = f.child('a');
    f.send({ type: 'server.remove', id: 'a' });
    await flush();
    expect(a.getSnapshot().status).toBe('stopped');
    expect(f.isolatedRefs.has('a')).toBe(false);
    expect(f.of('server.removed').map((event) => event.id)).toEqual(['a']);
  });

  it('at most 16 connections a system; a removal makes room, and an emptied system is stopped', async () => {
    const f = fleet({ servers: ids('s', 40).map((id) => server(id)), maxConcurrentReconnects: 8 }, true);
    await advanceTo(f, 800);
    expect(allIn(f, 'healthy')).toBe(true);
    const sizes = () => {
      const counts = new Map<unknown, number>();
      for (const child of f.children()) counts.set(child.system, (counts.get(child.system) ?? 0) + 1);
      return [...counts.values()].sort((a, b) => b - a);
    };
    expect(sizes()).toEqual([16, 16, 8]);

    // The 16 of the first system go: its root stops with the last of them.
    const first = f.child('s0');
    const host = first.system.get('s0')!._parent!;
    const mates = f.children().filter((child) => child.system === first.system).map((child) => child.id);
    for (const id of mates.slice(0, 15)) f.send({ type: 'server.remove', id });
    await flush();
    expect(host.getSnapshot().status).toBe('active');
    f.send({ type: 'server.remove', id: mates[15]! });
    await flush();
    expect(host.getSnapshot().status).toBe('stopped');
    expect(sizes()).toEqual([16, 8]);

    // A new server joins a system with room rather than opening a new one.
    f.send({ type: 'server.add', server: server('late') });
    await advance(200);
    expect(f.state('late')).toBe('healthy');
    expect(sizes()).toEqual([16, 9]);
  });

  it('ids named like Object.prototype members share a system like any other', async () => {
    const names = ['constructor', 'toString', 'valueOf', 'a', 'b'];
    const f = fleet({ servers: names.map((id) => server(id)), maxConcurrentReconnects: 5 }, true);
    await advanceTo(f, 400);
    expect(allIn(f, 'healthy')).toBe(true);
    expect(new Set(f.children().map((child) => child.system)).size).toBe(1);
  });

  it('the hub ignores a second spawn of an id it holds and an event for an id it does not hold, as the isolated form does', async () => {
    const f = fleet({ servers: ['a'].map((id) => server(id)), maxConcurrentReconnects: 1 });
    await advanceTo(f, 200);
    const hub = f.actor.getSnapshot().children.connections!;
    const a = f.child('a');
    hub.send({ type: 'connection.spawn', inputs: [{ id: 'a', transport: 'memory', settings: SETTINGS, supervised: true, reportTo: f.actor }] });
    hub.send({ type: 'connection.send', id: 'nobody', event: { type: 'probe' } });
    await flush();
    expect(hub.getSnapshot().status).toBe('active');
    expect(f.actor.getSnapshot().status).toBe('active');
    expect(f.child('a')).toBe(a);
    expect(f.state('a')).toBe('healthy');
  });

  it('an error in one connection reaches the supervisor as a child\'s error; the root of its system does not fail with it', async () => {
    const throwing = failingOnStore(new Fleet(true), 'bad');
    const hosts = new Set<unknown>();
    const connections = new Map<string, ConnectionActorRef>();
    const logic = supervisorMachine.provide({
      actors: { connections: isolatedConnections(throwing, { onCreated: (id, ref) => (connections.set(id, ref), hosts.add(ref.system)) }) },
    });
    const supervisor = createActor(logic, { input: { servers: ['good', 'bad'].map((id) => server(id)), maxConcurrentReconnects: 2 } });
    supervisor.subscribe({ error: () => undefined });
    supervisor.start();
    try {
      await vi.advanceTimersByTimeAsync(400);
      expect(hosts.size).toBe(1);
      expect(connections.get('bad')!.getSnapshot().status).toBe('error');
      expect(supervisor.getSnapshot().status).toBe('error');
      expect(String(supervisor.getSnapshot().error)).toContain('bad connection');
      // Had the root not handled it, it would have failed, stopping every connection it holds.
      const root = connections.get('bad')!._parent!;
      expect(root.getSnapshot().status).not.toBe('error');
    } finally {
      supervisor.stop();
    }
  });

  it('with the default hub too, an error in one connection reaches the supervisor as a child\'s error', async () => {
    const throwing = failingOnStore(new Fleet(false), 'bad');
    const supervisor = createActor(supervisorMachine.provide({ actors: { connections: connectionHub(throwing) } }), {
      input: { servers: ['good', 'bad'].map((id) => server(id)), maxConcurrentReconnects: 2 },
    });
    supervisor.subscribe({ error: () => undefined });
    supervisor.start();
    try {
      await vi.advanceTimersByTimeAsync(400);
      expect(supervisor.getSnapshot().status).toBe('error');
      expect(String(supervisor.getSnapshot().error)).toContain('bad connection');
    } finally {
      supervisor.stop();
    }
  });

  it('a server removed and added again at once (from the removal event) gets a connection of its own', async () => {
    const refs = new Map<string, ConnectionActorRef>();
    const plain = new Fleet(true).connection;
    const logic = supervisorMachine.provide({
      actors: {
        connections: isolatedConnections(plain, {
          onCreated: (id, ref) => refs.set(id, ref),
          onStopped: (id, ref) => {
            if (refs.get(id) === ref) refs.delete(id);
          },
        }),
      },
    });
    const supervisor = createActor(logic, { input: { servers: ['a', 'b', '__proto__'].map((id) => server(id)), maxConcurrentReconnects: 4 } });
    const errors: unknown[] = [];
    supervisor.subscribe({ error: (error) => errors.push(error) });
    let readded = 0;
    supervisor.on('server.removed', (event) => {
      if (readded++ < 2) supervisor.send({ type: 'server.add', server: server(event.id) });
    });
    supervisor.start();
    try {
      await vi.advanceTimersByTimeAsync(400);
      for (const id of ['a', '__proto__']) {
        const old = refs.get(id)!;
        supervisor.send({ type: 'server.remove', id });
        await vi.advanceTimersByTimeAsync(400);
        expect(old.getSnapshot().status, id).toBe('stopped');
        expect(refs.get(id), id).not.toBe(old);
        expect(connectionStateOf(refs.get(id)!.getSnapshot()), id).toBe('healthy');
      }
      expect(errors).toEqual([]);
      expect(supervisor.getSnapshot().status).toBe('active');
    } finally {
      supervisor.stop();
    }
    for (const ref of refs.values()) expect(ref.getSnapshot().status).toBe('stopped');
  });

  it('one isolatedConnections provided to two supervisors: servers of the same id get connections of their own', async () => {
    const refs: Array<Map<string, ConnectionActorRef>> = [new Map(), new Map()];
    let which = 0;
    const logic = supervisorMachine.provide({
      actors: { connections: isolatedConnections(new Fleet(true).connection, { onCreated: (id, ref) => refs[which]!.set(id, ref) }) },
    });
    const one = createActor(logic, { input: { servers: [server('a')], maxConcurrentReconnects: 1 } }).start();
    which = 1;
    const two = createActor(logic, { input: { servers: [server('a')], maxConcurrentReconnects: 1 } }).start();
    try {
      await vi.advanceTimersByTimeAsync(400);
      expect(refs[1]!.get('a')).not.toBe(refs[0]!.get('a'));
      for (const map of refs) expect(connectionStateOf(map.get('a')!.getSnapshot())).toBe('healthy');
    } finally {
      one.stop();
      two.stop();
    }
  });

  it('a connection that fails as it starts: the supervisor is told that error', async () => {
    const logic = supervisorMachine.provide({ actors: { connections: isolatedConnections(new Fleet(true).connection) } });
    // No settings: the connection's first state reads them and throws, as any error while starting would.
    const supervisor = createActor(logic, { input: { servers: [server('good'), { ...server('bad'), settings: undefined as never }], maxConcurrentReconnects: 2 } });
    supervisor.subscribe({ error: () => undefined });
    supervisor.start();
    await vi.advanceTimersByTimeAsync(50);
    expect(supervisor.getSnapshot().status).toBe('error');
    expect(String(supervisor.getSnapshot().error)).toMatch(/TypeError/);
    expect(String(supervisor.getSnapshot().error)).not.toContain('busy');
  });

  it('a fleet starting fills each system in one event (40 servers: 3 spawns, not 40); an id a system already holds goes to another', async () => {
    const spawns: string[][] = [];
    const systems = [new Map<string, unknown>(), new Map<string, unknown>()];
    let which = 0;
    const logic = supervisorMachine.provide({
      actors: {
        connections: isolatedConnections(new Fleet(true).connection, {
          // What each system's root is told to start, one event at a time.
          inspect: (event) => {
            if (event.type === '@xstate.event' && event.event.type === 'connection.spawn') {
              spawns.push((event.event as unknown as { inputs: Array<{ id: string }> }).inputs.map((input) => input.id));
            }
          },
          onCreated: (id, ref) => systems[which]!.set(id, ref.system),
        }),
      },
    });
    const one = createActor(logic, { input: { servers: ids('s', 40).map((id) => server(id)), maxConcurrentReconnects: 4 } }).start();
    which = 1;
    spawns.push([]);
    // A second supervisor on the same connections: the third system has room for `x0` and `x2`,
    // but already holds an `s33` (ids are unique in a system), so this `s33` goes to a new one.
    const two = createActor(logic, { input: { servers: ['x0', 's33', 'x2'].map((id) => server(id)), maxConcurrentReconnects: 4 } }).start();
    try {
      expect(spawns.map((inputs) => inputs.length)).toEqual([16, 16, 8, 0, 2, 1]);
      expect(spawns.slice(0, 3).flat()).toEqual(ids('s', 40));
      expect(spawns.slice(4)).toEqual([['x0', 'x2'], ['s33']]);
      expect(new Set(systems[0]!.values()).size).toBe(3);
      // (Systems compared by identity, as booleans: a system does not print.)
      expect(systems[1]!.get('x0') === systems[0]!.get('s39')).toBe(true);
      expect(systems[1]!.get('x2') === systems[0]!.get('s39')).toBe(true);
      expect([...systems[0]!.values()].includes(systems[1]!.get('s33'))).toBe(false);
      await vi.advanceTimersByTimeAsync(2_000);
      for (const actor of [one, two]) expect(Object.values(actor.getSnapshot().context.states.toObject())).not.toContain('connecting');
    } finally {
      one.stop();
      two.stop();
    }
  });

  it('servers named like Object.prototype members are supervised too', async () => {
    const names = ['__proto__', 'constructor', 'toString'];
    const f = fleet({ servers: names.map((id) => server(id)), maxConcurrentReconnects: 3 }, true);
    await advanceTo(f, 200);
    expect(f.states()).toEqual({ ['__proto__']: 'healthy', constructor: 'healthy', toString: 'healthy' });
  });
});
