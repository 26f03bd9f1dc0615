/**
 * The harness for the connection machine's tests in virtual time (test/unit/machines/connection/).
 * Every I/O actor is scripted (`connectionMachine.provide`), every timer is an XState delay driven
 * by vitest's fake clock, and each test asserts the whole sequence of top-level states.
 *
 * Every transition a test takes is recorded through the inspection API; `structure.test.ts` checks
 * that the tests of the folder together take every transition of the machine (it runs them with
 * CONNECTION_COVERAGE_OUT set, and each file appends what it covered to that file).
 */
import { appendFileSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, expect, vi } from 'vitest';
import { assign, createActor, fromPromise, setup } from 'xstate';
import type { InspectionEvent } from 'xstate';
import { connectionMachine, connectionStateOf } from '../../src/machines/connection.machine.js';
import type { ConnectInput, ConnectionActorRef, ConnectionContext, ConnectionEmitted, ConnectionEvent, ConnectionInput, ConnectionSnapshot, ProbeInput, ProbeOutcome, ProbeResult, SessionInput, SupervisorMessage } from '../../src/machines/connection.machine.js';
import type { ConnectionState } from '../../src/core/states.js';
import { ConnectionError } from '../../src/core/errors.js';
import type { ErrorKind } from '../../src/core/errors.js';
import { fullJitterDelay } from '../../src/core/policy/backoff.js';
import { nextRandom } from '../../src/core/policy/random.js';
import { resolveSettings } from '../../src/core/settings.js';
import type { ConnectionSettings } from '../../src/core/settings.js';
import type { McpSession, SessionEvent } from '../../src/core/session.js';
import { fakeSession as sharedFakeSession } from './fake-session.js';

// ---------------------------------------------------------------------------------------------
// Settings and helpers
// ---------------------------------------------------------------------------------------------

/** Small numbers; no probe jitter, so that tests can pin exact probe times (probe-jitter.test.ts turns it on). */
export const SMALL: Partial<ConnectionSettings> = {
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
  resetAfterMs: 5000,
};
export const S = resolveSettings(SMALL); // zombieAfter 2, recoverAfter 2, maxAttempts Infinity
export const SEED = 42;

export const FAST = 10;
export const SLOW = 150;

export function err(kind: ErrorKind, message = `${kind} failure`): ConnectionError {
  return new ConnectionError(kind, message);
}

/** The backoff delays the machine must draw for attempts 0..count-1 from `seed`. */
export function expectedBackoffs(seed: number, count: number, settings: ConnectionSettings = S): number[] {
  const delays: number[] = [];
  let state = seed >>> 0;
  for (let attempt = 0; attempt < count; attempt += 1) {
    const random = nextRandom(state);
    state = random.state;
    delays.push(fullJitterDelay(attempt, settings, random.value));
  }
  return delays;
}
export const B = expectedBackoffs(SEED, 16);

function fakeSession(n: number): McpSession {
  return sharedFakeSession({ transport: 'stdio', pid: 1000 + n, serverInfo: { name: 'fake', version: String(n) }, toJSON: () => ({ session: n }) });
}

export type ConnectStep = 'ok' | 'hang' | { reject: unknown };
/**
 * A probe's outcome. An answer comes at once in virtual time unless `answerAfterMs` is set: then it
 * arrives that long after the probe started (still reporting `latencyMs`), which is how a probe that
 * ran late on a busy event loop looks to the machine.
 */
export type ProbeStep = { latencyMs: number; answerAfterMs?: number } | 'hang' | { reject: unknown };
export type CloseStep = 'ok' | 'hang' | { reject: unknown };

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

// ---------------------------------------------------------------------------------------------
// Transition coverage: every transition any test takes is recorded here via the inspection API.
// ---------------------------------------------------------------------------------------------

export interface NodeLike {
  id: string;
  key: string;
  invoke: ReadonlyArray<{ id: string; src: unknown }>;
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[] | undefined;
  after: ReadonlyArray<{ eventType: string; delay: unknown }>;
  states: Record<string, NodeLike>;
}
export interface TransitionLike {
  eventType: string;
  source: NodeLike;
  target?: readonly NodeLike[] | undefined;
  guard?: unknown;
  actions: readonly unknown[];
  reenter: boolean;
}

const covered = new Set<string>();

export function shortId(id: string): string {
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

export function describeTransition(transition: TransitionLike): string {
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

export interface HarnessOptions {
  settings?: Partial<ConnectionSettings>;
  seed?: number;
  id?: string;
  supervised?: boolean;
}

export class Harness {
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
  /**
   * Each session that can still report (made by `connect`, not yet closed), with the connection it
   * reports to (what `connect` was given), as the runtime's sessions do.
   */
  readonly relays = new Map<McpSession, ConnectInput['connection']>();
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
          if (!signal.aborted) this.relays.set(session, input.connection);
          return session;
        });
      }),
      probe: fromPromise<ProbeResult, ProbeInput>(({ input, signal }) => {
        this.probeCalls.push({ at: this.now(), input, signal });
        const step = this.probePlan.shift() ?? this.probeDefault;
        if (step === 'hang') return never();
        if ('reject' in step) return Promise.reject(step.reject);
        const { latencyMs, answerAfterMs } = step;
        if (answerAfterMs === undefined) return Promise.resolve({ latencyMs });
        return new Promise<ProbeResult>((resolve) => setTimeout(() => resolve({ latencyMs }), answerAfterMs));
      }),
      closeSession: fromPromise<void, SessionInput>(({ input }) => {
        this.closeCalls.push({ at: this.now(), session: input.session });
        // A session reports nothing once `close()` was called.
        if (input.session) this.relays.delete(input.session);
        return this.play(this.closePlan.shift() ?? this.closeDefault, () => undefined);
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

  /** What the transport would report on its own (child exit, socket closed, session lost): the open session tells its connection. */
  transport(event: SessionEvent): void {
    expect(this.relays.size).toBeGreaterThan(0);
    for (const connection of [...this.relays.values()]) connection.send(event);
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
export function harness(options?: HarnessOptions): Harness {
  const created = new Harness(options);
  harnesses.push(created);
  return created;
}

/** Virtual time only: never waits for the real clock. */
export async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}
export async function advanceTo(h: Harness, at: number): Promise<void> {
  expect(at).toBeGreaterThanOrEqual(h.now());
  await advance(at - h.now());
}
/** Lets settled promises (scripted actors) deliver their results without moving the clock. */
export async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

/** Starts, connects, and returns a harness sitting in healthy.idle at t = 0. */
export async function healthyHarness(options?: HarnessOptions): Promise<Harness> {
  const h = harness(options).start();
  await flush();
  expect(h.value()).toEqual({ serving: { healthy: 'idle' } });
  expect(h.now()).toBe(0);
  return h;
}

/** Healthy at t = 0, then a slow probe at t = 1000 makes it degraded. */
export async function degradedHarness(options?: HarnessOptions): Promise<Harness> {
  const h = await healthyHarness(options);
  h.probePlan.push({ latencyMs: SLOW });
  await advanceTo(h, 1000);
  expect(h.value()).toEqual({ serving: { degraded: 'idle' } });
  return h;
}

/** Where the tests append the transitions they covered, one JSON array per file (see structure.test.ts). */
export const COVERAGE_OUT_ENV = 'CONNECTION_COVERAGE_OUT';

/**
 * Fake timers for every test, every harness stopped after it; and, when `CONNECTION_COVERAGE_OUT`
 * names a file, the transitions this test file took appended to it at the end.
 */
export function useConnectionHarness(): void {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    for (const h of harnesses.splice(0)) h.stop();
    vi.clearAllTimers();
    vi.useRealTimers();
  });

  afterAll(() => {
    const out = process.env[COVERAGE_OUT_ENV];
    if (out) appendFileSync(out, `${JSON.stringify([...covered])}\n`);
  });
}
