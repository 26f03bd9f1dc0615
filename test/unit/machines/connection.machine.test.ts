/**
 * The connection machine in virtual time. Every I/O actor is scripted (`connectionMachine.provide`),
 * every timer is an XState delay driven by vitest's fake clock, and each test asserts the whole
 * sequence of top-level states. The last block checks the machine's structure against a hard-coded
 * list of transitions and that every one of them was taken by some test in this file.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assign, createActor, fromCallback, fromPromise, setup } from 'xstate';
import type { InspectionEvent } from 'xstate';
import { connectionMachine, connectionStateOf } from '../../../src/machines/connection.machine.js';
import { CONNECTION_STATES } from '../../../src/core/states.js';
import type { ConnectInput, ConnectionActorRef, ConnectionContext, ConnectionEmitted, ConnectionEvent, ConnectionInput, ConnectionSnapshot, ProbeInput, ProbeOutcome, ProbeResult, SessionInput, SupervisorMessage } from '../../../src/machines/connection.machine.js';
import type { ConnectionState } from '../../../src/core/states.js';
import { toConnectionError } from '../../../src/runtime/classify.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ConnectionError } from '../../../src/core/errors.js';
import type { ErrorKind } from '../../../src/core/errors.js';
import { backoffCeiling, fullJitterDelay } from '../../../src/core/policy/backoff.js';
import { healthyProbeInterval } from '../../../src/core/policy/probe-interval.js';
import { nextRandom } from '../../../src/core/policy/random.js';
import { resolveSettings } from '../../../src/core/settings.js';
import type { ConnectionSettings } from '../../../src/core/settings.js';
import type { McpSession, SessionEvent } from '../../../src/core/session.js';

// ---------------------------------------------------------------------------------------------
// Settings and helpers
// ---------------------------------------------------------------------------------------------

const SMALL: Partial<ConnectionSettings> = {
  healthyIntervalMs: 1000,
  stableIntervalMs: 4000,
  degradedIntervalMs: 500,
  pingTimeoutMs: 300,
  degradedLatencyMs: 100,
  connectTimeoutMs: 2000,
  initialBackoffMs: 100,
  multiplier: 2,
  maxBackoffMs: 1000,
  resetAfterMs: 5000,
};
const S = resolveSettings(SMALL); // zombieAfter 2, recoverAfter 2, maxAttempts Infinity
const SEED = 42;

const FAST = 10;
const SLOW = 150;

function err(kind: ErrorKind, message = `${kind} failure`): ConnectionError {
  return new ConnectionError(kind, message);
}

/** The backoff delays the machine must draw for attempts 0..count-1 from `seed`. */
function expectedBackoffs(seed: number, count: number, settings: ConnectionSettings = S): number[] {
  const delays: number[] = [];
  let state = seed >>> 0;
  for (let attempt = 0; attempt < count; attempt += 1) {
    const random = nextRandom(state);
    state = random.state;
    delays.push(fullJitterDelay(attempt, settings, random.value));
  }
  return delays;
}
const B = expectedBackoffs(SEED, 16);

function fakeSession(n: number): McpSession {
  return {
    transport: 'stdio',
    pid: 1000 + n,
    serverInfo: { name: 'fake', version: String(n) },
    probe: async () => undefined,
    listTools: async () => [],
    callTool: async () => ({ content: [] }),
    onEvent: () => () => undefined,
    close: async () => undefined,
    toJSON: () => ({ session: n }),
  };
}

type ConnectStep = 'ok' | 'hang' | { reject: unknown };
type ProbeStep = { latencyMs: number } | 'hang' | { reject: unknown };
type CloseStep = 'ok' | 'hang' | { reject: unknown };

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

// ---------------------------------------------------------------------------------------------
// Transition coverage: every transition any test takes is recorded here via the inspection API.
// ---------------------------------------------------------------------------------------------

interface NodeLike {
  id: string;
  key: string;
  invoke: ReadonlyArray<{ id: string; src: unknown }>;
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[] | undefined;
  after: ReadonlyArray<{ eventType: string; delay: unknown }>;
  states: Record<string, NodeLike>;
}
interface TransitionLike {
  eventType: string;
  source: NodeLike;
  target?: readonly NodeLike[] | undefined;
  guard?: unknown;
  actions: readonly unknown[];
  reenter: boolean;
}

const covered = new Set<string>();

function shortId(id: string): string {
  return id === 'connection' ? '(root)' : id.replace(/^connection\./, '');
}

function nameOf(thing: unknown): string {
  if (typeof thing === 'string') return thing;
  if (thing && typeof thing === 'object' && 'type' in thing) return String(thing.type);
  return '<inline>';
}

function eventName(transition: TransitionLike): string {
  const { eventType, source } = transition;
  if (eventType === '') return 'always';
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (actor) {
    const invoked = source.invoke.find((definition) => definition.id === actor[2]);
    return `${actor[1]}(${invoked ? nameOf(invoked.src) : actor[2]})`;
  }
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after(${after[1]})`;
  return eventType;
}

function describeTransition(transition: TransitionLike): string {
  const guard = transition.guard === undefined ? '' : ` [${nameOf(transition.guard)}]`;
  const target = transition.target?.length ? transition.target.map((node) => shortId(node.id)).join(',') : '(stay)';
  const reenter = transition.reenter ? ' (reenter)' : '';
  const actions = transition.actions.length ? ` / ${transition.actions.map(nameOf).join(', ')}` : '';
  return `${shortId(transition.source.id)} · ${eventName(transition)}${guard} → ${target}${reenter}${actions}`;
}

function recordCoverage(event: InspectionEvent): void {
  if (event.type !== '@xstate.microstep') return;
  for (const transition of event._transitions as unknown as TransitionLike[]) {
    if (transition.source.id === 'connection' || transition.source.id.startsWith('connection.')) {
      covered.add(describeTransition(transition));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The harness: scripted actors, recorded calls, recorded states
// ---------------------------------------------------------------------------------------------

interface HarnessOptions {
  settings?: Partial<ConnectionSettings>;
  seed?: number;
  id?: string;
  supervised?: boolean;
}

class Harness {
  readonly t0 = Date.now();
  readonly input: ConnectionInput;

  connectPlan: ConnectStep[] = [];
  connectDefault: ConnectStep = 'ok';
  probePlan: ProbeStep[] = [];
  probeDefault: ProbeStep = { latencyMs: FAST };
  closePlan: CloseStep[] = [];
  closeDefault: CloseStep = 'ok';

  readonly sessions: McpSession[] = [];
  readonly connectCalls: Array<{ at: number; input: ConnectInput; signal: AbortSignal }> = [];
  readonly probeCalls: Array<{ at: number; input: ProbeInput; signal: AbortSignal }> = [];
  readonly closeCalls: Array<{ at: number; session: McpSession | undefined }> = [];
  readonly watchCalls: Array<{ at: number; session: McpSession | undefined }> = [];
  readonly watchers = new Set<(event: SessionEvent) => void>();
  readonly states: ConnectionState[] = [];
  readonly emitted: ConnectionEmitted[] = [];

  ref!: ConnectionActorRef;
  private parentInbox: (() => SupervisorMessage[]) | undefined;
  private stopRoot: (() => void) | undefined;

  readonly machine = connectionMachine.provide({
    actors: {
      connect: fromPromise<McpSession, ConnectInput>(({ input, signal }) => {
        this.connectCalls.push({ at: this.now(), input, signal });
        return this.play(this.connectPlan.shift() ?? this.connectDefault, () => {
          const session = fakeSession(this.sessions.length + 1);
          this.sessions.push(session);
          return session;
        });
      }),
      probe: fromPromise<ProbeResult, ProbeInput>(({ input, signal }) => {
        this.probeCalls.push({ at: this.now(), input, signal });
        const step = this.probePlan.shift() ?? this.probeDefault;
        if (step === 'hang') return never();
        if ('reject' in step) return Promise.reject(step.reject);
        return Promise.resolve({ latencyMs: step.latencyMs });
      }),
      closeSession: fromPromise<void, SessionInput>(({ input }) => {
        this.closeCalls.push({ at: this.now(), session: input.session });
        return this.play(this.closePlan.shift() ?? this.closeDefault, () => undefined);
      }),
      watchSession: fromCallback<ConnectionEvent, SessionInput>(({ input, sendBack }) => {
        this.watchCalls.push({ at: this.now(), session: input.session });
        const listener = (event: SessionEvent): void => sendBack(event);
        this.watchers.add(listener);
        return () => {
          this.watchers.delete(listener);
        };
      }),
    },
  });

  constructor(options: HarnessOptions = {}) {
    this.input = {
      id: options.id ?? 'conn-1',
      transport: 'stdio',
      settings: resolveSettings(SMALL, options.settings),
      seed: options.seed ?? SEED,
      ...(options.supervised === undefined ? {} : { supervised: options.supervised }),
    };
  }

  private play<T>(step: ConnectStep | CloseStep, value: () => T): Promise<T> {
    if (step === 'hang') return never();
    if (step === 'ok') return Promise.resolve(value());
    return Promise.reject(step.reject);
  }

  now(): number {
    return Date.now() - this.t0;
  }

  private record(snapshot: ConnectionSnapshot): void {
    const state = connectionStateOf(snapshot);
    if (this.states[this.states.length - 1] !== state) this.states.push(state);
  }

  private attach(ref: ConnectionActorRef): void {
    this.ref = ref;
    ref.subscribe((snapshot) => this.record(snapshot));
    ref.on('probe.completed', (event) => this.emitted.push(event));
  }

  /** Runs the machine on its own (the unsupervised, library use). */
  start(): this {
    const actor = createActor(this.machine, { input: this.input, inspect: recordCoverage });
    this.attach(actor);
    actor.start();
    this.record(actor.getSnapshot());
    this.stopRoot = () => actor.stop();
    return this;
  }

  /** Runs the machine invoked by a tiny parent that records the slot messages it receives. */
  startUnderParent(): this {
    const child = this.machine;
    const input = this.input;
    const parentMachine = setup({
      types: {
        context: {} as { inbox: SupervisorMessage[] },
        events: {} as SupervisorMessage,
      },
      actors: { child },
    }).createMachine({
      id: 'testParent',
      context: { inbox: [] },
      invoke: { id: 'conn', src: 'child', input },
      on: {
        '*': { actions: assign({ inbox: ({ context, event }) => [...context.inbox, event] }) },
      },
    });
    const parent = createActor(parentMachine, { inspect: recordCoverage });
    parent.start();
    const ref = parent.getSnapshot().children.conn as ConnectionActorRef | undefined;
    if (!ref) throw new Error('parent did not invoke the connection');
    this.attach(ref);
    this.record(ref.getSnapshot());
    this.parentInbox = () => parent.getSnapshot().context.inbox;
    this.stopRoot = () => parent.stop();
    return this;
  }

  inbox(): SupervisorMessage[] {
    if (!this.parentInbox) throw new Error('not started under a parent');
    return this.parentInbox();
  }

  /** The parent's inbox in short: reported states by name, other messages by type. */
  trail(): string[] {
    return this.inbox().map((message) => (message.type === 'state.changed' ? message.to : message.type));
  }

  stop(): void {
    this.stopRoot?.();
  }

  send(event: ConnectionEvent): void {
    this.ref.send(event);
  }

  /** What the transport would report on its own (child exit, socket closed, session lost). */
  transport(event: SessionEvent): void {
    expect(this.watchers.size).toBeGreaterThan(0);
    for (const watcher of [...this.watchers]) watcher(event);
  }

  snapshot(): ConnectionSnapshot {
    return this.ref.getSnapshot();
  }
  state(): ConnectionState {
    return connectionStateOf(this.snapshot());
  }
  value(): unknown {
    return this.snapshot().value;
  }
  ctx(): ConnectionContext {
    return this.snapshot().context;
  }
  probeTimes(): number[] {
    return this.probeCalls.map((call) => call.at);
  }
  connectTimes(): number[] {
    return this.connectCalls.map((call) => call.at);
  }
  outcomes(): ProbeOutcome[] {
    return this.emitted.map((event) => event.outcome);
  }
  liveCloses(): Array<McpSession | undefined> {
    return this.closeCalls.map((call) => call.session).filter((session) => session !== undefined);
  }
}

const harnesses: Harness[] = [];
function harness(options?: HarnessOptions): Harness {
  const created = new Harness(options);
  harnesses.push(created);
  return created;
}

/** Virtual time only: never waits for the real clock. */
async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}
async function advanceTo(h: Harness, at: number): Promise<void> {
  expect(at).toBeGreaterThanOrEqual(h.now());
  await advance(at - h.now());
}
/** Lets settled promises (scripted actors) deliver their results without moving the clock. */
async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

/** Starts, connects, and returns a harness sitting in healthy.idle at t = 0. */
async function healthyHarness(options?: HarnessOptions): Promise<Harness> {
  const h = harness(options).start();
  await flush();
  expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
  expect(h.now()).toBe(0);
  return h;
}

/** Healthy at t = 0, then a slow probe at t = 1000 makes it degraded. */
async function degradedHarness(options?: HarnessOptions): Promise<Harness> {
  const h = await healthyHarness(options);
  h.probePlan.push({ latencyMs: SLOW });
  await advanceTo(h, 1000);
  expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
  return h;
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const h of harnesses.splice(0)) h.stop();
  vi.clearAllTimers();
  vi.useRealTimers();
});

// ---------------------------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------------------------

describe('connecting', () => {
  it('starts unsupervised: connecting → healthy, with the session stored and watched', async () => {
    const h = harness().start();
    expect(h.state()).toBe('connecting');
    expect(h.connectCalls.map((call) => call.input)).toEqual([{ id: 'conn-1', attempt: 0 }]);
    await flush();
    expect(h.states).toEqual(['connecting', 'healthy']);
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    const session = h.sessions[0];
    expect(session).toBeDefined();
    expect(h.ctx().session).toBe(session);
    expect(h.ctx().attempts).toBe(0);
    expect(h.ctx().lastError).toBeUndefined();
    expect(h.watchCalls).toEqual([{ at: 0, session }]);
    expect(h.probeCalls).toEqual([]);
  });

  it('a transient connect error → reconnecting, then connecting again exactly after the backoff', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('transient', 'ECONNREFUSED-ish hiccup') }, 'ok');
    h.start();
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().backoffMs).toBe(B[0]);
    expect(h.ctx().lastError).toMatchObject({ kind: 'transient', message: 'ECONNREFUSED-ish hiccup' });
    expect(B[0]).toBeGreaterThan(1);

    await advanceTo(h, B[0]! - 1);
    expect(h.state()).toBe('reconnecting');
    expect(h.connectCalls).toHaveLength(1);

    await advance(1);
    expect(h.connectTimes()).toEqual([0, B[0]]);
    expect(h.connectCalls[1]!.input).toEqual({ id: 'conn-1', attempt: 1 });
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'healthy']);
    expect(h.closeCalls).toEqual([]); // no session to close after a failed connect
  });

  it('treats an error that is not a ConnectionError as transient', async () => {
    const h = harness();
    h.connectPlan.push({ reject: new Error('weird') });
    h.start();
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.ctx().lastError).toMatchObject({ kind: 'transient', message: 'weird' });
  });

  it('a connect that exceeds connectTimeoutMs → reconnecting, and the attempt is aborted', async () => {
    const h = harness();
    h.connectPlan.push('hang');
    h.start();
    await advanceTo(h, S.connectTimeoutMs - 1);
    expect(h.state()).toBe('connecting');
    expect(h.connectCalls[0]!.signal.aborted).toBe(false);

    await advance(1);
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.connectCalls[0]!.signal.aborted).toBe(true);
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().backoffMs).toBe(B[0]);
    expect(h.ctx().lastError).toMatchObject({ kind: 'timeout', at: Date.now() });
    expect(h.ctx().lastError?.message).toContain('2000 ms');

    await advance(B[0]!);
    expect(h.connectTimes()).toEqual([0, 2000 + B[0]!]);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'healthy']);
  });

  it('a permanent error (command not found) → failed at once, holding the reason, and never retries', async () => {
    const h = harness();
    h.connectPlan.push({ reject: toConnectionError(Object.assign(new Error('spawn nope ENOENT'), { code: 'ENOENT', syscall: 'spawn nope', path: 'nope' })) });
    h.start();
    await flush();
    expect(h.states).toEqual(['connecting', 'failed']);
    expect(h.ctx().lastError).toMatchObject({ kind: 'permanent' });
    expect(h.ctx().lastError?.message).toContain('command not found');
    expect(h.ctx().attempts).toBe(0);
    await advance(60_000);
    expect(h.connectCalls).toHaveLength(1);
    expect(h.states).toEqual(['connecting', 'failed']);
  });

  it('an HTTP 401 is permanent too', async () => {
    const h = harness();
    h.connectPlan.push({ reject: toConnectionError(new StreamableHTTPError(401, 'Unauthorized')) });
    h.start();
    await flush();
    expect(h.states).toEqual(['connecting', 'failed']);
    expect(h.ctx().lastError).toMatchObject({ kind: 'permanent' });
    expect(h.ctx().lastError?.message).toContain('Unauthorized');
    await advance(60_000);
    expect(h.connectCalls).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Probing: slow, missed, zombie
// ---------------------------------------------------------------------------------------------

describe('probing', () => {
  it('a slow probe → degraded; one good probe is not enough, recoverAfter (2) good probes → healthy', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ latencyMs: SLOW });
    await advanceTo(h, 999);
    expect(h.probeCalls).toEqual([]);
    await advance(1);
    expect(h.probeTimes()).toEqual([1000]);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });

    await advanceTo(h, 1000 + S.degradedIntervalMs);
    expect(h.probeTimes()).toEqual([1000, 1500]);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } }); // one good probe is not enough

    await advanceTo(h, 2000);
    expect(h.probeTimes()).toEqual([1000, 1500, 2000]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'healthy']);
    expect(h.outcomes()).toEqual(['slow', 'fast', 'fast']);
    expect(h.ctx().session).toBe(h.sessions[0]);
    // One watcher for the whole spell in `serving`: healthy → degraded → healthy does not restart it.
    expect(h.watchCalls.map((call) => call.session)).toEqual([h.sessions[0]]);
  });

  it('a slow probe while degraded keeps it degraded and starts the recovery count over', async () => {
    const h = await degradedHarness();
    h.probePlan.push({ latencyMs: FAST }, { latencyMs: SLOW }, { latencyMs: FAST }, { latencyMs: FAST });
    await advanceTo(h, 2000);
    expect(h.outcomes()).toEqual(['slow', 'fast', 'slow']);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    await advanceTo(h, 2500);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    await advanceTo(h, 3000);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'healthy']);
    expect(h.probeTimes()).toEqual([1000, 1500, 2000, 2500, 3000]);
  });

  it('missed probes: pingTimeout → degraded; zombieAfter misses → zombie → closeSession → reconnecting → connecting → healthy', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang', 'hang');
    const first = h.sessions[0];

    await advanceTo(h, 1000 + S.pingTimeoutMs - 1);
    expect(h.value()).toEqual({ serving: { healthy: 'probing' } });
    await advance(1);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(h.ctx().missedStreak).toBe(1);
    expect(h.probeCalls[0]!.signal.aborted).toBe(true);

    await advanceTo(h, 1300 + 500);
    expect(h.probeTimes()).toEqual([1000, 1800]);
    await advanceTo(h, 1800 + 299);
    expect(h.value()).toEqual({ serving: { degraded: 'probing' } });
    await advance(1);

    // zombie → closeSession(first) → reconnecting
    expect(h.closeCalls).toEqual([{ at: 2100, session: first }]);
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.ctx().session).toBeUndefined();
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().backoffMs).toBe(B[0]);
    expect(h.ctx().lastError).toMatchObject({ kind: 'zombie' });
    expect(h.ctx().lastError?.message).toContain('2 probes in a row');

    await advance(B[0]!);
    expect(h.connectTimes()).toEqual([0, 2100 + B[0]!]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'zombie', 'reconnecting', 'connecting', 'healthy']);
    expect(h.ctx().session).toBe(h.sessions[1]);
    expect(h.sessions[1]).not.toBe(first);
    expect(h.outcomes()).toEqual(['missed', 'missed']);

    // The new session is probed afresh.
    await advance(1000);
    expect(h.probeCalls[2]!.input.session).toBe(h.sessions[1]);
    expect(h.state()).toBe('healthy');
  });

  it('a probe rejecting with kind "timeout" counts as a miss too', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ reject: err('timeout') }, { reject: err('timeout') });
    await advanceTo(h, 1000);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    await advanceTo(h, 1500);
    expect(h.closeCalls.map((call) => call.session)).toEqual([h.sessions[0]]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'zombie', 'reconnecting']);
    expect(h.outcomes()).toEqual(['missed', 'missed']);
  });

  it('misses below zombieAfter keep it degraded, and a good answer breaks the streak', async () => {
    const h = await healthyHarness({ settings: { zombieAfter: 3 } });
    // healthy miss (timeout) at 1000..1300, degraded miss by rejection at 1800, good probe at 2300,
    // then two misses at 2800 (rejection) and 3400 (timeout): only 2 in a row, so not a zombie.
    h.probePlan.push('hang', { reject: err('timeout') }, { latencyMs: FAST }, { reject: err('timeout') }, 'hang');
    await advanceTo(h, 1300);
    expect(h.ctx().missedStreak).toBe(1);
    await advanceTo(h, 1800);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(h.ctx().missedStreak).toBe(2);
    await advanceTo(h, 2300);
    expect(h.ctx().missedStreak).toBe(0);
    await advanceTo(h, 2800);
    expect(h.ctx().missedStreak).toBe(1);
    await advanceTo(h, 3300 + 300);
    expect(h.probeTimes()).toEqual([1000, 1800, 2300, 2800, 3300]);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(h.ctx().missedStreak).toBe(2);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded']);
    // The third miss in a row (a timeout while degraded) makes it a zombie.
    h.probePlan.push('hang');
    await advanceTo(h, 3600 + 500 + 300);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'zombie', 'reconnecting']);
  });

  it('a fast tool call while degraded resets the miss streak', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang', 'hang');
    await advanceTo(h, 1300);
    expect(h.ctx().missedStreak).toBe(1);
    h.send({ type: 'call.succeeded', latencyMs: 20 });
    expect(h.ctx().missedStreak).toBe(0);
    expect(h.ctx().samples.at(-1)).toMatchObject({ ok: true, latencyMs: 20, source: 'call' });
    await advanceTo(h, 1800 + 300);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } }); // only one miss in a row now
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded']);
  });

  it('fast tool calls while degraded do not count toward recovery: only probes bring it back', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang', { latencyMs: 5 });
    await advanceTo(h, 1300);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    h.send({ type: 'call.succeeded', latencyMs: 5 });
    h.send({ type: 'call.succeeded', latencyMs: 5 });
    expect(h.ctx().goodStreak).toBe(0);
    await advanceTo(h, 1800);
    // One good probe after two fast calls: recoverAfter is 2, so still degraded.
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded']);
  });

  it('emits probe.completed with outcomes fast, slow and missed', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ latencyMs: 7 }, { latencyMs: SLOW }, 'hang');
    await advanceTo(h, 1000); // fast
    await advanceTo(h, 2500); // slow → degraded
    await advanceTo(h, 3000 + 300); // missed
    expect(h.emitted).toEqual([
      { type: 'probe.completed', id: 'conn-1', kind: 'ping', outcome: 'fast', latencyMs: 7, at: h.t0 + 1000 },
      { type: 'probe.completed', id: 'conn-1', kind: 'ping', outcome: 'slow', latencyMs: SLOW, at: h.t0 + 2500 },
      { type: 'probe.completed', id: 'conn-1', kind: 'ping', outcome: 'missed', latencyMs: undefined, at: h.t0 + 3300 },
    ]);
  });

  it('updates quality after probes', async () => {
    const h = await healthyHarness();
    expect(h.ctx().samples).toEqual([]);
    expect(h.ctx().quality.samples).toBe(0);
    expect(h.ctx().quality.score).toBe(0);
    await advanceTo(h, 1000 + 1500 + 2250);
    expect(h.probeCalls).toHaveLength(3);
    expect(h.ctx().samples).toHaveLength(3);
    expect(h.ctx().samples.every((sample) => sample.ok && sample.source === 'probe' && sample.latencyMs === FAST)).toBe(true);
    expect(h.ctx().quality.samples).toBe(3);
    expect(h.ctx().quality.successRate).toBe(1);
    expect(h.ctx().quality.score).toBeGreaterThan(0);
    const goodScore = h.ctx().quality.score;

    h.probePlan.push('hang');
    await advance(3375 + 300);
    expect(h.ctx().samples).toHaveLength(4);
    expect(h.ctx().samples.at(-1)).toMatchObject({ ok: false, source: 'probe' });
    expect(h.ctx().quality.successRate).toBeLessThan(1);
    expect(h.ctx().quality.score).toBeLessThan(goodScore);
  });
});

// ---------------------------------------------------------------------------------------------
// Hard evidence: transport closed, session expired, method not found
// ---------------------------------------------------------------------------------------------

describe('hard transport evidence', () => {
  it('transport.closed while healthy → reconnecting at once, without waiting for a probe', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 400);
    h.transport({ type: 'transport.closed', error: err('closed', 'child exited with code 1') });
    expect(h.state()).toBe('reconnecting');
    expect(h.now()).toBe(400);
    expect(h.probeCalls).toEqual([]);
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().lastError).toMatchObject({ kind: 'closed', message: 'child exited with code 1' });
    expect(h.closeCalls).toEqual([{ at: 400, session: h.sessions[0] }]);
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.ctx().session).toBeUndefined();
    await advance(B[0]!);
    expect(h.states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
    expect(h.probeCalls).toEqual([]);
    expect(h.watchers.size).toBe(1); // the old watcher was cleaned up
  });

  it('a process that exits under restart "never" → failed with its exit status (healthy and degraded)', async () => {
    const h = await healthyHarness();
    h.transport({ type: 'transport.closed', error: err('permanent', 'the server process exited (exit code 3, signal none) and restart is "never"') });
    expect(h.state()).toBe('failed');
    expect(h.ctx().lastError).toMatchObject({ kind: 'permanent', message: expect.stringMatching(/exit code 3/) });

    const d = await degradedHarness();
    d.transport({ type: 'transport.closed', error: err('permanent', 'exited; restart is "never"') });
    expect(d.states).toEqual(['connecting', 'healthy', 'degraded', 'failed']);
  });

  it('failed closes the session it was left with, even when closing fails', async () => {
    const h = await healthyHarness();
    h.transport({ type: 'transport.closed', error: err('permanent', 'exited; restart is "never"') });
    await flush();
    expect(h.state()).toBe('failed');
    expect(h.closeCalls.map((call) => call.session)).toEqual([h.sessions[0]]);
    expect(h.ctx().session).toBeUndefined();

    const d = await healthyHarness();
    d.closePlan.push({ reject: new Error('close failed') });
    d.transport({ type: 'transport.closed', error: err('permanent', 'exited; restart is "never"') });
    await flush();
    expect(d.state()).toBe('failed');
    expect(d.ctx().session).toBeUndefined();
  });

  it('an early process exit is carried in lastError and reported to a supervisor', async () => {
    const h = await healthyHarness();
    h.transport({ type: 'transport.closed', error: new ConnectionError('closed', 'exited after 20 ms', { earlyExit: true }) });
    expect(h.ctx().lastError).toMatchObject({ kind: 'closed', earlyExit: true });
  });

  it('transport.closed during a probe aborts the probe', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang');
    await advanceTo(h, 1100);
    h.transport({ type: 'transport.closed', error: err('closed') });
    expect(h.state()).toBe('reconnecting');
    expect(h.probeCalls[0]!.signal.aborted).toBe(true);
  });

  it('transport.closed while degraded → reconnecting at once', async () => {
    const h = await degradedHarness();
    await advanceTo(h, 1200);
    h.transport({ type: 'transport.closed', error: err('closed') });
    expect(h.state()).toBe('reconnecting');
    expect(h.probeTimes()).toEqual([1000]);
    expect(h.closeCalls.map((call) => call.session)).toEqual([h.sessions[0]]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting']);
  });

  it('a probe rejecting with kind "closed" → reconnecting (healthy and degraded)', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ reject: err('closed', 'ECONNRESET') });
    await advanceTo(h, 1000);
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().lastError).toMatchObject({ kind: 'closed', message: 'ECONNRESET' });
    expect(h.outcomes()).toEqual(['closed']);
    expect(h.ctx().samples.at(-1)).toMatchObject({ ok: false, source: 'probe' });

    const d = await degradedHarness();
    d.probePlan.push({ reject: err('closed') });
    await advanceTo(d, 1500);
    expect(d.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting']);
    expect(d.outcomes()).toEqual(['slow', 'closed']);
    expect(d.closeCalls.map((call) => call.session)).toEqual([d.sessions[0]]);
  });
});

describe('session expired', () => {
  /** Healthy with one failed attempt behind it, so "attempts not incremented" means something. */
  async function healthyAfterOneFailure(options?: HarnessOptions): Promise<{ h: Harness; at: number }> {
    const h = harness(options);
    h.connectPlan.push({ reject: err('transient') }, 'ok');
    h.start();
    await advance(B[0]!);
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    expect(h.ctx().attempts).toBe(1);
    return { h, at: h.now() };
  }

  it('session.expired → reconnecting with no backoff → connecting at once; attempts unchanged', async () => {
    const { h, at } = await healthyAfterOneFailure();
    await advanceTo(h, at + 200);
    h.transport({ type: 'session.expired', error: err('session-expired', 'HTTP 404 with session id') });
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().backoffMs).toBe(0);
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().lastError).toMatchObject({ kind: 'session-expired', message: 'HTTP 404 with session id' });
    await flush();
    expect(h.closeCalls).toEqual([{ at: at + 200, session: h.sessions[0] }]);
    expect(h.connectTimes()).toEqual([0, at, at + 200]);
    expect(h.connectCalls[2]!.input.attempt).toBe(1);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
    expect(h.ctx().session).toBe(h.sessions[1]);
  });

  it('a probe rejecting with kind "session-expired" does the same', async () => {
    const { h, at } = await healthyAfterOneFailure();
    h.probePlan.push({ reject: err('session-expired') });
    await advanceTo(h, at + 1000);
    expect(h.connectTimes()).toEqual([0, at, at + 1000]);
    expect(h.ctx().attempts).toBe(1);
    expect(h.outcomes()).toEqual(['session-expired']);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
  });

  it('works the same from degraded (event and probe)', async () => {
    const a = await degradedHarness();
    a.transport({ type: 'session.expired', error: err('session-expired') });
    await flush();
    expect(a.connectTimes()).toEqual([0, 1000]);
    expect(a.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting', 'connecting', 'healthy']);
    expect(a.ctx().attempts).toBe(0);

    const b = await degradedHarness();
    b.probePlan.push({ reject: err('session-expired') });
    await advanceTo(b, 1500);
    expect(b.connectTimes()).toEqual([0, 1500]);
    expect(b.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting', 'connecting', 'healthy']);
    expect(b.outcomes()).toEqual(['slow', 'session-expired']);
  });
});

describe('method not found (-32601)', () => {
  it('answers ping with -32601 → stays healthy, switches to tools/list and probes with it', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ reject: err('method-not-found', 'MCP error -32601: Method not found') });
    await advanceTo(h, 1000);
    expect(h.probeCalls.map((call) => [call.at, call.input.kind])).toEqual([
      [1000, 'ping'],
      [1000, 'tools/list'],
    ]);
    expect(h.probeCalls[1]!.input.session).toBe(h.sessions[0]);
    expect(h.ctx().probeKind).toBe('tools/list');
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    expect(h.outcomes()).toEqual(['method-not-found', 'fast']);
    expect(h.emitted.map((event) => event.kind)).toEqual(['ping', 'tools/list']);

    await advanceTo(h, 1000 + healthyProbeInterval(S, 1));
    expect(h.probeCalls.map((call) => call.input.kind)).toEqual(['ping', 'tools/list', 'tools/list']);
    expect(h.states).toEqual(['connecting', 'healthy']);
  });

  it('does the same while degraded', async () => {
    const h = await degradedHarness();
    h.probePlan.push({ reject: err('method-not-found') });
    await advanceTo(h, 1500);
    expect(h.probeCalls.map((call) => [call.at, call.input.kind])).toEqual([
      [1000, 'ping'],
      [1500, 'ping'],
      [1500, 'tools/list'],
    ]);
    expect(h.ctx().probeKind).toBe('tools/list');
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    await advanceTo(h, 2000);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'healthy']);
  });

  it('-32601 to tools/list is no answer at all: it counts as a miss', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ reject: err('method-not-found') }, { reject: err('method-not-found') });
    await advanceTo(h, 1000);
    expect(h.probeCalls.map((call) => call.input.kind)).toEqual(['ping', 'tools/list']);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(h.outcomes()).toEqual(['method-not-found', 'missed']);
  });
});

// ---------------------------------------------------------------------------------------------
// Adaptive probe interval
// ---------------------------------------------------------------------------------------------

describe('probe interval', () => {
  it('stretches with good probes: 1000, 1500, 2250, 3375, then capped at 4000; a slow probe resets it', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 20_125);
    const times = h.probeTimes();
    expect(times).toEqual([1000, 2500, 4750, 8125, 12_125, 16_125, 20_125]);
    const gaps = times.map((at, index) => at - (times[index - 1] ?? 0));
    expect(gaps).toEqual([1000, 1500, 2250, 3375, 4000, 4000, 4000]);

    // A slow probe degrades and starts the streak over: back in healthy, the interval is short
    // again (recoverAfter good probes make a streak of 2 → 2250), not 4000.
    h.probePlan.push({ latencyMs: SLOW });
    await advanceTo(h, 24_125);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    await advanceTo(h, 25_125);
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    await advanceTo(h, 25_125 + 2250);
    // Back from degraded, the stretch starts over at the base interval.
    expect(h.probeTimes().slice(7)).toEqual([24_125, 24_625, 25_125, 26_125]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'healthy']);
  });

  it('a miss resets the stretch as well', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 8125);
    h.probePlan.push('hang');
    await advanceTo(h, 12_125 + 300);
    expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(h.ctx().goodStreak).toBe(0);
    await advanceTo(h, 12_425 + 500 + 500 + 2250);
    expect(h.probeTimes().slice(4)).toEqual([12_125, 12_925, 13_425, 14_425]);
  });

  it('a fast call.succeeded in healthy.idle replaces the due probe', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 600);
    h.send({ type: 'call.succeeded', latencyMs: 20 });
    expect(h.ctx().samples).toEqual([{ at: h.t0 + 600, ok: true, latencyMs: 20, source: 'call' }]);
    await advanceTo(h, 1000);
    expect(h.probeCalls).toEqual([]);
    const next = 600 + healthyProbeInterval(S, 1);
    await advanceTo(h, next - 1);
    expect(h.probeCalls).toEqual([]);
    await advance(1);
    expect(h.probeTimes()).toEqual([next]);
    expect(h.states).toEqual(['connecting', 'healthy']);
  });

  it('a connection kept busy by fast calls is never pinged', async () => {
    const h = await healthyHarness();
    for (let at = 900; at <= 10_000; at += 900) {
      await advanceTo(h, at);
      h.send({ type: 'call.succeeded', latencyMs: 5 });
    }
    expect(h.probeCalls).toEqual([]);
    expect(h.ctx().samples).toHaveLength(11);
  });

  it('a slow call.succeeded does not stand in for the probe', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 600);
    h.send({ type: 'call.succeeded', latencyMs: SLOW });
    expect(h.ctx().samples).toEqual([{ at: h.t0 + 600, ok: true, latencyMs: SLOW, source: 'call' }]);
    expect(h.ctx().goodStreak).toBe(0);
    await advanceTo(h, 1000);
    expect(h.probeTimes()).toEqual([1000]);
  });

  it('a call.succeeded during a probe is recorded and the probe goes on', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang');
    await advanceTo(h, 1100);
    h.send({ type: 'call.succeeded', latencyMs: 30 });
    expect(h.value()).toEqual({ serving: { healthy: 'probing' } });
    expect(h.ctx().samples).toEqual([{ at: h.t0 + 1100, ok: true, latencyMs: 30, source: 'call' }]);
    expect(h.probeCalls[0]!.signal.aborted).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Backoff and attempts
// ---------------------------------------------------------------------------------------------

describe('backoff', () => {
  async function failingBackoffs(seed: number, count: number): Promise<Array<{ attempts: number; backoffMs: number }>> {
    const h = harness({ seed });
    h.connectDefault = { reject: err('transient') };
    h.start();
    await flush();
    const seen: Array<{ attempts: number; backoffMs: number }> = [];
    for (let index = 0; index < count; index += 1) {
      expect(h.state()).toBe('reconnecting');
      const { attempts, backoffMs } = h.ctx();
      seen.push({ attempts, backoffMs });
      await advance(backoffMs);
    }
    expect(h.connectCalls.map((call) => call.input.attempt)).toEqual(Array.from({ length: count + 1 }, (_, index) => index));
    return seen;
  }

  it('counts each failure and draws a full-jitter delay within min(maxBackoffMs, initial * multiplier^attempt)', async () => {
    const seen = await failingBackoffs(SEED, 16);
    expect(seen.map((entry) => entry.attempts)).toEqual(Array.from({ length: 16 }, (_, index) => index + 1));
    seen.forEach(({ backoffMs }, attempt) => {
      const ceiling = Math.min(S.maxBackoffMs, S.initialBackoffMs * S.multiplier ** attempt);
      expect(ceiling).toBe(backoffCeiling(attempt, S));
      expect(backoffMs).toBeGreaterThanOrEqual(0);
      expect(backoffMs).toBeLessThan(ceiling);
    });
    // Exactly the seeded sequence, so a fleet's behaviour is reproducible.
    expect(seen.map((entry) => entry.backoffMs)).toEqual(B);
    // The capped region is actually reached and jittered.
    expect(new Set(seen.slice(4).map((entry) => entry.backoffMs)).size).toBeGreaterThan(1);
  });

  it('the same seed gives the same delays; another seed gives others', async () => {
    const first = await failingBackoffs(SEED, 8);
    const again = await failingBackoffs(SEED, 8);
    const other = await failingBackoffs(SEED + 1, 8);
    expect(again).toEqual(first);
    expect(other.map((entry) => entry.backoffMs)).not.toEqual(first.map((entry) => entry.backoffMs));
  });

  it('attempts reset only after resetAfterMs of continuous healthy', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('transient') }, { reject: err('transient') }, 'ok');
    h.start();
    await advance(B[0]!);
    await advance(B[1]!);
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    const since = h.now();
    expect(h.ctx().attempts).toBe(2);
    await advanceTo(h, since + S.resetAfterMs - 1);
    expect(h.ctx().attempts).toBe(2);
    await advance(1);
    expect(h.ctx().attempts).toBe(0);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'reconnecting', 'connecting', 'healthy']);
  });

  it('a spell in degraded restarts the healthy clock for the reset', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('transient') }, 'ok');
    h.start();
    await advance(B[0]!);
    const since = h.now();
    h.probePlan.push({ latencyMs: SLOW });
    await advanceTo(h, since + 1000);
    expect(h.state()).toBe('degraded');
    await advanceTo(h, since + 2000);
    expect(h.state()).toBe('healthy');
    await advanceTo(h, since + S.resetAfterMs);
    expect(h.ctx().attempts).toBe(1);
    await advanceTo(h, since + 2000 + S.resetAfterMs - 1);
    expect(h.ctx().attempts).toBe(1);
    await advance(1);
    expect(h.ctx().attempts).toBe(0);
  });

  it('maxAttempts reached → failed with lastError kind "exhausted"', async () => {
    const h = harness({ settings: { maxAttempts: 3 } });
    h.connectDefault = { reject: err('transient', 'refused again') };
    h.start();
    await advance(10_000);
    expect(h.connectCalls).toHaveLength(3);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'reconnecting', 'connecting', 'failed']);
    expect(h.ctx().attempts).toBe(3);
    expect(h.ctx().lastError).toMatchObject({ kind: 'exhausted' });
    expect(h.ctx().lastError?.message).toContain('gave up after 3 attempts');
    expect(h.ctx().lastError?.message).toContain('refused again');
  });

  it('maxAttempts holds even when the drawn backoff happens to be 0', async () => {
    // Seed 1 draws 0 ms for attempt 1 (see expectedBackoffs): the limit must still stop it.
    const settings = resolveSettings(SMALL, { maxAttempts: 2 });
    expect(expectedBackoffs(1, 2, settings)[1]).toBe(0);
    const h = harness({ seed: 1, settings: { maxAttempts: 2 } });
    h.connectDefault = { reject: err('transient') };
    h.start();
    await advance(10_000);
    expect(h.connectCalls).toHaveLength(2);
    expect(h.state()).toBe('failed');
    expect(h.ctx().lastError).toMatchObject({ kind: 'exhausted' });
  });

  it('maxAttempts reached from healthy still closes the live session before failing', async () => {
    const h = harness({ settings: { maxAttempts: 2 } });
    h.connectPlan.push({ reject: err('transient') }, 'ok');
    h.start();
    await advance(B[0]!);
    expect(h.state()).toBe('healthy');
    h.transport({ type: 'transport.closed', error: err('closed') });
    await flush();
    expect(h.state()).toBe('failed');
    // `failed` closes whatever session it holds; here reconnecting already closed it.
    expect(h.closeCalls.filter((call) => call.session !== undefined).map((call) => call.session)).toEqual([h.sessions[0]]);
    expect(h.ctx().session).toBeUndefined();
    expect(h.ctx().lastError).toMatchObject({ kind: 'exhausted' });
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'healthy', 'reconnecting', 'failed']);
  });
});

// ---------------------------------------------------------------------------------------------
// Operator commands
// ---------------------------------------------------------------------------------------------

describe('commands', () => {
  it('stop from connecting → stopped; the attempt is aborted and nothing retries', async () => {
    const h = harness();
    h.connectPlan.push('hang');
    h.start();
    await advance(100);
    h.send({ type: 'stop' });
    await flush();
    expect(h.states).toEqual(['connecting', 'stopped']);
    expect(h.connectCalls[0]!.signal.aborted).toBe(true);
    expect(h.liveCloses()).toEqual([]);
    await advance(60_000);
    expect(h.connectCalls).toHaveLength(1);
    expect(h.state()).toBe('stopped');
  });

  it('stop from healthy → stopped, closing the session; no more probes', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 500);
    h.send({ type: 'stop' });
    await flush();
    expect(h.states).toEqual(['connecting', 'healthy', 'stopped']);
    expect(h.closeCalls).toEqual([{ at: 500, session: h.sessions[0] }]);
    expect(h.ctx().session).toBeUndefined();
    expect(h.watchers.size).toBe(0);
    await advance(60_000);
    expect(h.probeCalls).toEqual([]);
    expect(h.connectCalls).toHaveLength(1);
  });

  it('stop from healthy with a close that fails still forgets the session', async () => {
    const h = await healthyHarness();
    h.closePlan.push({ reject: new Error('kill failed') });
    h.send({ type: 'stop' });
    await flush();
    expect(h.state()).toBe('stopped');
    expect(h.ctx().session).toBeUndefined();
  });

  it('stop from degraded → stopped, closing the session', async () => {
    const h = await degradedHarness();
    h.send({ type: 'stop' });
    await flush();
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'stopped']);
    expect(h.liveCloses()).toEqual([h.sessions[0]]);
    expect(h.ctx().session).toBeUndefined();
  });

  it('stop from zombie (teardown still running) → stopped, which closes the session again', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang', 'hang');
    h.closePlan.push('hang');
    await advanceTo(h, 2100);
    expect(h.state()).toBe('zombie');
    expect(h.ctx().lastError).toMatchObject({ kind: 'zombie' });
    h.send({ type: 'stop' });
    await flush();
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'zombie', 'stopped']);
    expect(h.liveCloses()).toEqual([h.sessions[0], h.sessions[0]]);
    expect(h.ctx().session).toBeUndefined();
  });

  it('a zombie whose teardown fails still goes on to reconnecting', async () => {
    const h = await healthyHarness();
    h.probePlan.push('hang', 'hang');
    h.closePlan.push({ reject: new Error('SIGKILL failed') });
    await advanceTo(h, 2100);
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.ctx().session).toBeUndefined();
    expect(h.ctx().attempts).toBe(1);
    await advance(B[0]!);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'zombie', 'reconnecting', 'connecting', 'healthy']);
  });

  it('stop while waiting out the backoff → stopped; the backoff timer does not fire', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('transient') });
    h.start();
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    h.send({ type: 'stop' });
    await advance(10_000);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'stopped']);
    expect(h.connectCalls).toHaveLength(1);
  });

  it('stop from failed → stopped', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('permanent', 'command not found') });
    h.start();
    await flush();
    h.send({ type: 'stop' });
    await flush();
    expect(h.states).toEqual(['connecting', 'failed', 'stopped']);
  });

  it('start from stopped → connecting (no backoff) → healthy, with attempts and probe kind reset', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('transient') }, 'ok');
    h.start();
    await flush();
    h.send({ type: 'stop' });
    await flush();
    expect(h.ctx().attempts).toBe(1);
    await advanceTo(h, 50);
    h.send({ type: 'start' });
    expect(h.ctx().attempts).toBe(0);
    await flush();
    expect(h.connectCalls.map((call) => [call.at, call.input.attempt])).toEqual([
      [0, 0],
      [50, 0],
    ]);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'stopped', 'connecting', 'healthy']);
    expect(h.ctx().probeKind).toBe('ping');
  });

  it('start after a tools/list switch goes back to ping', async () => {
    const h = await healthyHarness();
    h.probePlan.push({ reject: err('method-not-found') });
    await advanceTo(h, 1000);
    expect(h.ctx().probeKind).toBe('tools/list');
    h.send({ type: 'stop' });
    h.send({ type: 'start' });
    // The stop's teardown has not finished yet, so the new start waits for its own close first.
    expect(h.value()).toEqual({ reconnecting: 'closing' });
    await flush();
    expect(h.ctx().probeKind).toBe('ping');
    expect(h.liveCloses()).toEqual([h.sessions[0], h.sessions[0]]);
    expect(h.connectTimes()).toEqual([0, 1000]);
    expect(h.states).toEqual(['connecting', 'healthy', 'stopped', 'reconnecting', 'connecting', 'healthy']);
  });

  it('reconnect from healthy → reconnecting (closes the session) → connecting without backoff', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 300);
    h.send({ type: 'reconnect' });
    expect(h.state()).toBe('reconnecting');
    await flush();
    expect(h.closeCalls).toEqual([{ at: 300, session: h.sessions[0] }]);
    expect(h.connectTimes()).toEqual([0, 300]);
    expect(h.ctx().attempts).toBe(0);
    expect(h.ctx().session).toBe(h.sessions[1]);
    expect(h.states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
  });

  it('reconnect from healthy waits for the old session to close first', async () => {
    const h = await healthyHarness();
    h.closePlan.push('hang');
    h.send({ type: 'reconnect' });
    await advance(10_000);
    expect(h.value()).toEqual({ reconnecting: 'closing' });
    expect(h.connectCalls).toHaveLength(1);
  });

  it('reconnect goes on when closing the old session fails', async () => {
    const h = await healthyHarness();
    h.closePlan.push({ reject: new Error('close failed') });
    h.send({ type: 'reconnect' });
    await flush();
    expect(h.connectTimes()).toEqual([0, 0]);
    expect(h.ctx().session).toBe(h.sessions[1]);
    expect(h.states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
  });

  it('reconnect from degraded → reconnecting → connecting without backoff', async () => {
    const h = await degradedHarness();
    await advanceTo(h, 1100);
    h.send({ type: 'reconnect' });
    await flush();
    expect(h.liveCloses()).toEqual([h.sessions[0]]);
    expect(h.connectTimes()).toEqual([0, 1100]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting', 'connecting', 'healthy']);
  });

  it('reconnect during the backoff skips the wait', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('transient') }, 'ok');
    h.start();
    await flush();
    expect(B[0]).toBeGreaterThan(10);
    await advanceTo(h, 10);
    h.send({ type: 'reconnect' });
    await flush();
    expect(h.connectCalls.map((call) => [call.at, call.input.attempt])).toEqual([
      [0, 0],
      [10, 1],
    ]);
    expect(h.states).toEqual(['connecting', 'reconnecting', 'connecting', 'healthy']);
  });

  it('reconnect from failed → connecting, forgiving past attempts', async () => {
    const h = harness();
    h.connectPlan.push({ reject: err('permanent', '401') }, 'ok');
    h.start();
    await flush();
    expect(h.state()).toBe('failed');
    await advanceTo(h, 5000);
    h.send({ type: 'reconnect' });
    await flush();
    expect(h.connectCalls.map((call) => [call.at, call.input.attempt])).toEqual([
      [0, 0],
      [5000, 0],
    ]);
    expect(h.states).toEqual(['connecting', 'failed', 'connecting', 'healthy']);

    const exhausted = harness({ settings: { maxAttempts: 1 } });
    exhausted.connectPlan.push({ reject: err('transient') }, 'ok');
    exhausted.start();
    await flush();
    expect(exhausted.state()).toBe('failed');
    expect(exhausted.ctx().attempts).toBe(1);
    exhausted.send({ type: 'reconnect' });
    await flush();
    expect(exhausted.ctx().attempts).toBe(0);
    expect(exhausted.states).toEqual(['connecting', 'failed', 'connecting', 'healthy']);
  });

  it('ignores commands that do not apply', async () => {
    const h = await healthyHarness();
    h.send({ type: 'start' });
    h.send({ type: 'slot.granted' });
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    await advanceTo(h, 1000);
    expect(h.connectCalls).toHaveLength(1);
    expect(h.probeTimes()).toEqual([1000]);

    h.probePlan.push('hang');
    await advanceTo(h, 2500);
    h.send({ type: 'probe' }); // already probing
    expect(h.probeTimes()).toEqual([1000, 2500]);

    h.send({ type: 'stop' });
    await flush();
    h.send({ type: 'reconnect' });
    h.send({ type: 'stop' });
    h.send({ type: 'probe' });
    h.send({ type: 'call.succeeded', latencyMs: 1 });
    await advance(60_000);
    expect(h.state()).toBe('stopped');
    expect(h.connectCalls).toHaveLength(1);
    expect(h.probeCalls).toHaveLength(2);
    expect(h.states).toEqual(['connecting', 'healthy', 'stopped']);

    const c = harness();
    c.connectPlan.push('hang');
    c.start();
    c.send({ type: 'start' });
    c.send({ type: 'reconnect' });
    c.send({ type: 'probe' });
    await advance(100);
    expect(c.connectCalls).toHaveLength(1);
    expect(c.probeCalls).toEqual([]);
    expect(c.states).toEqual(['connecting']);

    const r = harness();
    r.connectPlan.push({ reject: err('transient') });
    r.start();
    await flush();
    r.send({ type: 'start' });
    r.send({ type: 'probe' });
    expect(r.value()).toEqual({ reconnecting: 'backoff' });
    expect(r.probeCalls).toEqual([]);
  });

  it('probe in healthy.idle starts a probe at once', async () => {
    const h = await healthyHarness();
    await advanceTo(h, 200);
    h.send({ type: 'probe' });
    expect(h.probeTimes()).toEqual([200]);
    await flush();
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    await advanceTo(h, 200 + healthyProbeInterval(S, 1));
    expect(h.probeTimes()).toEqual([200, 1700]);
  });

  it('probe in degraded.idle starts a probe at once', async () => {
    const h = await degradedHarness();
    await advanceTo(h, 1100);
    h.send({ type: 'probe' });
    expect(h.probeTimes()).toEqual([1000, 1100]);
    await flush();
    await advanceTo(h, 1600);
    expect(h.probeTimes()).toEqual([1000, 1100, 1600]);
    expect(h.states).toEqual(['connecting', 'healthy', 'degraded', 'healthy']);
  });
});

// ---------------------------------------------------------------------------------------------
// Tool call results reported by the caller
// ---------------------------------------------------------------------------------------------

describe('call.failed', () => {
  it('kind "closed" → reconnecting with backoff', async () => {
    const h = await healthyHarness();
    h.send({ type: 'call.failed', error: err('closed', 'EPIPE'), latencyMs: 3 });
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().attempts).toBe(1);
    expect(h.ctx().backoffMs).toBe(B[0]);
    expect(h.ctx().lastError).toMatchObject({ kind: 'closed', message: 'EPIPE' });
    expect(h.ctx().samples).toEqual([{ at: h.t0, ok: false, latencyMs: 3, source: 'call' }]);
    await flush();
    expect(h.liveCloses()).toEqual([h.sessions[0]]);
    expect(h.connectCalls).toHaveLength(1);
  });

  it('kind "session-expired" → reconnecting with no backoff', async () => {
    const h = await healthyHarness();
    h.send({ type: 'call.failed', error: err('session-expired') });
    expect(h.ctx().backoffMs).toBe(0);
    expect(h.ctx().attempts).toBe(0);
    await flush();
    expect(h.connectTimes()).toEqual([0, 0]);
    expect(h.states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
  });

  it('other kinds only record a failed sample', async () => {
    const h = await healthyHarness();
    h.send({ type: 'call.failed', error: err('timeout'), latencyMs: 900 });
    h.send({ type: 'call.failed', error: err('method-not-found') });
    h.send({ type: 'call.failed', error: err('permanent') });
    h.send({ type: 'call.failed', error: new Error('tool threw') });
    expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
    expect(h.ctx().samples.map((sample) => [sample.ok, sample.latencyMs, sample.source])).toEqual([
      [false, 900, 'call'],
      [false, 0, 'call'],
      [false, 0, 'call'],
      [false, 0, 'call'],
    ]);
    expect(h.ctx().attempts).toBe(0);
    expect(h.ctx().quality.successRate).toBe(0);
    await advanceTo(h, 1000);
    expect(h.probeTimes()).toEqual([1000]); // failed calls do not stand in for probes
    expect(h.states).toEqual(['connecting', 'healthy']);
  });

  it('works the same while degraded', async () => {
    const a = await degradedHarness();
    a.send({ type: 'call.failed', error: err('timeout') });
    expect(a.value()).toEqual({ serving: { degraded: 'idle' } });
    expect(a.ctx().samples.at(-1)).toMatchObject({ ok: false, source: 'call' });
    a.send({ type: 'call.failed', error: err('closed') });
    expect(a.state()).toBe('reconnecting');
    expect(a.ctx().attempts).toBe(1);

    const b = await degradedHarness();
    b.send({ type: 'call.failed', error: err('session-expired') });
    await flush();
    expect(b.connectTimes()).toEqual([0, 1000]);
    expect(b.states).toEqual(['connecting', 'healthy', 'degraded', 'reconnecting', 'connecting', 'healthy']);
  });
});

// ---------------------------------------------------------------------------------------------
// Supervised: slots from the parent
// ---------------------------------------------------------------------------------------------

describe('supervised', () => {
  it('waits in reconnecting.awaitingSlot and asks the parent; only slot.granted connects', async () => {
    const h = harness({ supervised: true, id: 'files' }).startUnderParent();
    expect(h.value()).toEqual({ reconnecting: 'awaitingSlot' });
    expect(h.inbox()).toEqual([
      { type: 'state.changed', id: 'files', to: 'reconnecting', at: h.t0, reason: undefined },
      { type: 'slot.requested', id: 'files' },
    ]);
    await advance(60_000);
    expect(h.connectCalls).toEqual([]);
    expect(h.state()).toBe('reconnecting');

    h.send({ type: 'slot.granted' });
    expect(h.state()).toBe('connecting');
    expect(h.trail()).toEqual(['reconnecting', 'slot.requested', 'connecting']);
    await flush();
    expect(h.state()).toBe('healthy');
    // Reporting `healthy` is what frees the slot: the supervisor holds it until a non-connecting state.
    expect(h.trail()).toEqual(['reconnecting', 'slot.requested', 'connecting', 'healthy']);
    expect(h.states).toEqual(['reconnecting', 'connecting', 'healthy']);
  });

  it('reports the failure (freeing the slot) and asks again only after the backoff', async () => {
    const h = harness({ supervised: true, id: 'files' });
    h.connectPlan.push({ reject: err('transient') }, 'ok');
    h.startUnderParent();
    h.send({ type: 'slot.granted' });
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'backoff' });
    expect(h.trail()).toEqual(['reconnecting', 'slot.requested', 'connecting', 'reconnecting']);
    const failure = h.inbox().at(-1);
    expect(failure).toMatchObject({ type: 'state.changed', to: 'reconnecting', reason: expect.any(String) });
    await advance(B[0]! - 1);
    expect(h.inbox()).toHaveLength(4);
    await advance(1);
    expect(h.value()).toEqual({ reconnecting: 'awaitingSlot' });
    expect(h.trail()).toEqual(['reconnecting', 'slot.requested', 'connecting', 'reconnecting', 'slot.requested']);
    await advance(10_000);
    expect(h.connectCalls).toHaveLength(1);
    h.send({ type: 'slot.granted' });
    await flush();
    expect(h.states).toEqual(['reconnecting', 'connecting', 'reconnecting', 'connecting', 'healthy']);
    expect(h.trail().slice(-2)).toEqual(['connecting', 'healthy']);
  });

  it('reports leaving connecting on connect timeout, permanent failure and stop', async () => {
    const timeout = harness({ supervised: true });
    timeout.connectPlan.push('hang');
    timeout.startUnderParent();
    timeout.send({ type: 'slot.granted' });
    await advance(S.connectTimeoutMs);
    expect(timeout.trail()).toEqual(['reconnecting', 'slot.requested', 'connecting', 'reconnecting']);

    const permanent = harness({ supervised: true });
    permanent.connectPlan.push({ reject: err('permanent') });
    permanent.startUnderParent();
    permanent.send({ type: 'slot.granted' });
    await flush();
    expect(permanent.state()).toBe('failed');
    expect(permanent.trail()).toEqual(['reconnecting', 'slot.requested', 'connecting', 'failed']);

    const stopped = harness({ supervised: true });
    stopped.connectPlan.push('hang');
    stopped.startUnderParent();
    stopped.send({ type: 'slot.granted' });
    stopped.send({ type: 'stop' });
    expect(stopped.state()).toBe('stopped');
    await flush();
    // `connection.closed` follows once the transport is fully closed: safe to remove the child.
    expect(stopped.trail()).toEqual(['reconnecting', 'slot.requested', 'connecting', 'stopped', 'connection.closed']);
  });

  it('session expiry skips the backoff but still goes through a slot', async () => {
    const h = harness({ supervised: true });
    h.startUnderParent();
    h.send({ type: 'slot.granted' });
    await flush();
    h.transport({ type: 'session.expired', error: err('session-expired') });
    await flush();
    expect(h.value()).toEqual({ reconnecting: 'awaitingSlot' });
    expect(h.trail()).toEqual(['reconnecting', 'slot.requested', 'connecting', 'healthy', 'reconnecting', 'slot.requested']);
    expect(h.connectCalls).toHaveLength(1);
  });

  it('forwards its probe results to the parent', async () => {
    const h = harness({ supervised: true, id: 'files' });
    h.probePlan.push({ latencyMs: 7 });
    h.startUnderParent();
    h.send({ type: 'slot.granted' });
    await flush();
    await advance(S.healthyIntervalMs);
    expect(h.inbox().filter((message) => message.type === 'probe.completed')).toEqual([
      { type: 'probe.completed', id: 'files', kind: 'ping', outcome: 'fast', latencyMs: 7, at: h.t0 + S.healthyIntervalMs },
    ]);
  });

  it('stop while awaiting a slot → stopped; a late grant is ignored', async () => {
    const h = harness({ supervised: true }).startUnderParent();
    h.send({ type: 'stop' });
    h.send({ type: 'slot.granted' });
    await flush();
    expect(h.states).toEqual(['reconnecting', 'stopped']);
    expect(h.connectCalls).toEqual([]);
    expect(h.trail()).toEqual(['reconnecting', 'slot.requested', 'stopped', 'connection.closed']);
  });

  it('a stop while already stopped and closed reports closed again, for a supervisor removing it', async () => {
    const h = harness({ supervised: true }).startUnderParent();
    h.send({ type: 'stop' });
    await flush();
    expect(h.trail()).toEqual(['reconnecting', 'slot.requested', 'stopped', 'connection.closed']);
    h.send({ type: 'stop' });
    expect(h.trail()).toEqual(['reconnecting', 'slot.requested', 'stopped', 'connection.closed', 'connection.closed']);
    expect(h.states).toEqual(['reconnecting', 'stopped']);
  });

  it('sends nothing to its parent when not supervised', async () => {
    const h = harness({ supervised: false }).startUnderParent();
    await flush();
    expect(h.state()).toBe('healthy');
    h.send({ type: 'reconnect' });
    await flush();
    expect(h.inbox()).toEqual([]);
    expect(h.states).toEqual(['connecting', 'healthy', 'reconnecting', 'connecting', 'healthy']);
  });
});

// ---------------------------------------------------------------------------------------------
// Structure: states and transitions are a closed, fully tested list
// ---------------------------------------------------------------------------------------------

function allNodes(node: NodeLike): NodeLike[] {
  return [node, ...Object.values(node.states).flatMap(allNodes)];
}

function allTransitions(): string[] {
  const root = connectionMachine.root as unknown as NodeLike;
  const descriptions: string[] = [];
  for (const node of allNodes(root)) {
    for (const transitions of node.transitions.values()) descriptions.push(...transitions.map(describeTransition));
    for (const transition of node.always ?? []) descriptions.push(describeTransition(transition));
  }
  return descriptions;
}

const EXPECTED_STATES = [
  '(root)',
  'connecting',
  'serving',
  'serving.healthy',
  'serving.healthy.idle',
  'serving.healthy.probing',
  'serving.degraded',
  'serving.degraded.idle',
  'serving.degraded.probing',
  'zombie',
  'reconnecting',
  'reconnecting.closing',
  'reconnecting.backoff',
  'reconnecting.awaitingSlot',
  'failed',
  'stopped',
];

const EXPECTED_TRANSITIONS = [
  'connecting · stop → stopped',
  'connecting · done(connect) → serving / storeSession',
  'connecting · error(connect) [isPermanentError] → failed / recordPermanentError',
  'connecting · error(connect) → reconnecting / recordFailure',
  'connecting · after(connectTimeout) → reconnecting / recordConnectTimeout',
  'serving · transport.closed [isPermanentError] → failed / recordPermanentError',
  'serving · transport.closed → reconnecting / recordFailure',
  'serving · session.expired → reconnecting / recordSessionExpired',
  'serving · call.failed [isClosedError] → reconnecting / recordCallFailed, recordFailure',
  'serving · call.failed [isSessionExpired] → reconnecting / recordCallFailed, recordSessionExpired',
  'serving · call.failed → (stay) / recordCallFailed',
  'serving · reconnect → reconnecting / skipBackoff',
  'serving · stop → stopped',
  'serving.healthy · after(resetAfter) → (stay) / resetAttempts',
  'serving.healthy.idle · probe → serving.healthy.probing',
  'serving.healthy.idle · call.succeeded [callWasFast] → serving.healthy.idle (reenter) / recordCallSucceeded',
  'serving.healthy.idle · call.succeeded → (stay) / recordCallSucceeded',
  'serving.healthy.idle · after(healthyProbeInterval) → serving.healthy.probing',
  'serving.healthy.probing · call.succeeded → (stay) / recordCallSucceeded',
  'serving.healthy.probing · done(probe) [probeWasSlow] → serving.degraded / recordSlowProbe',
  'serving.healthy.probing · done(probe) → serving.healthy.idle / recordGoodProbe',
  'serving.healthy.probing · error(probe) [isMethodNotFound] → serving.healthy.probing (reenter) / recordMethodNotFound, switchProbeToToolsList',
  'serving.healthy.probing · error(probe) [isClosedError] → reconnecting / recordLostProbe, recordFailure',
  'serving.healthy.probing · error(probe) [isSessionExpired] → reconnecting / recordLostProbe, recordSessionExpired',
  'serving.healthy.probing · error(probe) → serving.degraded / recordMissedProbe',
  'serving.healthy.probing · after(pingTimeout) → serving.degraded / recordMissedProbe',
  'serving.degraded · call.succeeded → (stay) / recordCallAnswered',
  'serving.degraded.idle · probe → serving.degraded.probing',
  'serving.degraded.idle · after(degradedProbeInterval) → serving.degraded.probing',
  'serving.degraded.probing · done(probe) [probeWasSlow] → serving.degraded.idle / recordSlowProbe',
  'serving.degraded.probing · done(probe) [recoversWithThisProbe] → serving.healthy / recordGoodProbe, restartStretch',
  'serving.degraded.probing · done(probe) → serving.degraded.idle / recordGoodProbe',
  'serving.degraded.probing · error(probe) [isMethodNotFound] → serving.degraded.probing (reenter) / recordMethodNotFound, switchProbeToToolsList',
  'serving.degraded.probing · error(probe) [isClosedError] → reconnecting / recordLostProbe, recordFailure',
  'serving.degraded.probing · error(probe) [isSessionExpired] → reconnecting / recordLostProbe, recordSessionExpired',
  'serving.degraded.probing · error(probe) [zombieWithThisMiss] → zombie / recordMissedProbe',
  'serving.degraded.probing · error(probe) → serving.degraded.idle / recordMissedProbe',
  'serving.degraded.probing · after(pingTimeout) [zombieWithThisMiss] → zombie / recordMissedProbe',
  'serving.degraded.probing · after(pingTimeout) → serving.degraded.idle / recordMissedProbe',
  'zombie · stop → stopped',
  'zombie · done(closeSession) → reconnecting / forgetSession, recordFailure',
  'zombie · error(closeSession) → reconnecting / forgetSession, recordFailure',
  'reconnecting · stop → stopped',
  'reconnecting.closing · done(closeSession) → reconnecting.backoff / forgetSession',
  'reconnecting.closing · error(closeSession) → reconnecting.backoff / forgetSession',
  'reconnecting.closing · always [hasNoSession] → reconnecting.backoff',
  'reconnecting.backoff · reconnect → reconnecting.awaitingSlot / skipBackoff',
  'reconnecting.backoff · after(backoff) → reconnecting.awaitingSlot',
  'reconnecting.backoff · always [attemptsExhausted] → failed / recordExhausted',
  'reconnecting.backoff · always [noBackoffDue] → reconnecting.awaitingSlot',
  'reconnecting.awaitingSlot · slot.granted → connecting',
  'reconnecting.awaitingSlot · always [isUnsupervised] → connecting',
  'failed · reconnect → reconnecting / resetForManualStart',
  'failed · stop → stopped',
  'failed · done(closeSession) → (stay) / forgetSession',
  'failed · error(closeSession) → (stay) / forgetSession',
  'stopped · start → reconnecting / resetForManualStart',
  'stopped · stop [hasNoSession] → (stay) / reportClosed',
  'stopped · done(closeSession) → (stay) / forgetSession, reportClosed',
  'stopped · error(closeSession) → (stay) / forgetSession, reportClosed',
];

describe('structure', () => {
  it('has exactly the expected states, and the documented top-level ones', () => {
    const root = connectionMachine.root as unknown as NodeLike;
    expect(allNodes(root).map((node) => shortId(node.id))).toEqual(EXPECTED_STATES);
    // The documented states, in order: the top-level ones, with `serving` standing for its children.
    const documented = Object.entries(root.states).flatMap(([key, node]) => (key === 'serving' ? Object.keys(node.states) : [key]));
    expect(documented).toEqual([...CONNECTION_STATES]);
  });

  it('has exactly the expected transitions (update this list, and add a test, when adding one)', () => {
    const actual = allTransitions();
    expect(new Set(actual).size).toBe(actual.length);
    expect([...actual].sort()).toEqual([...EXPECTED_TRANSITIONS].sort());
  });

  // Runs last: every transition of the machine was taken by at least one test above.
  it('every transition was taken by some test in this file', () => {
    const missing = EXPECTED_TRANSITIONS.filter((transition) => !covered.has(transition));
    expect(missing).toEqual([]);
    const unknown = [...covered].filter((transition) => !EXPECTED_TRANSITIONS.includes(transition));
    expect(unknown).toEqual([]);
  });
});
