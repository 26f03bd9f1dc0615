import { assign, enqueueActions, fromPromise, sendParent, setup } from 'xstate';
import type { ActorRefFrom, AnyActorRef, SnapshotFrom } from 'xstate';
import { ConnectionError, errorKindOf, errorMessageOf } from '../core/errors.js';
import type { ErrorKind } from '../core/errors.js';
import { fullJitterDelay } from '../core/policy/backoff.js';
import { chainedProbeDue, firstProbeDue, healthyProbeInterval, jitteredProbeInterval } from '../core/policy/probe-interval.js';
import { nextRandom, randomValueAt, seedFromString } from '../core/policy/random.js';
import { appendBounded, computeQuality, EMPTY_QUALITY, SampleWindow } from '../core/quality/index.js';
import type { Quality, QualitySample } from '../core/quality/index.js';
import type { ConnectionSettings } from '../core/settings.js';
import type { McpSession, ProbeKind, ProtocolEra, SessionEvent, TransportKind } from '../core/session.js';
import type { ServerTarget } from '../core/target.js';
import type { ConnectionState } from '../core/states.js';


/** Samples kept for quality scoring; bounded so a long-lived connection costs constant memory. */
export const QUALITY_SAMPLE_CAPACITY = 100;
const TRANSITION_TIMES_CAPACITY = 100;

/** What a connection actor is created with (`createActor(connectionMachine, { input })`). */
export interface ConnectionInput {
  /** The server's id; names the connection in events and messages. */
  id: string;
  /** The transport the target uses; shown in views, opaque to the machine. */
  transport: TransportKind;
  /** Every threshold and interval this connection uses (`resolveSettings()` fills in the defaults). */
  settings: ConnectionSettings;
  /** Where the server is; opaque to the machine, handed to the `connect` actor. */
  target?: ServerTarget;
  /** When true, `connecting` is entered only on `slot.granted` from the parent supervisor. */
  supervised?: boolean;
  /**
   * Where the supervisor messages go instead of the parent: the supervisor itself, which holds its
   * connections through one `connections` child (`connectionHub`, `isolatedConnections`).
   */
  reportTo?: AnyActorRef;
  /** Seed for backoff and probe jitter; defaults to a hash of the id. */
  seed?: number;
}

/** The last failure of a connection, as its context keeps it. */
export interface LastError {
  /** An `ErrorKind`, or `zombie` (probes missed in a row) or `exhausted` (`maxAttempts` reached). */
  kind: ErrorKind | 'zombie' | 'exhausted';
  /** What happened, in words. */
  message: string;
  /** When (epoch ms). */
  at: number;
  /** The server's process died sooner than its `minUptimeMs` (counts toward flap quarantine). */
  earlyExit?: boolean;
}

/** Everything a connection actor knows; what its snapshots carry. */
export interface ConnectionContext {
  /** The server's id. */
  id: string;
  /** The transport the target uses. */
  transport: TransportKind;
  /** Every threshold and interval this connection uses. */
  settings: ConnectionSettings;
  /** Where the server is (secrets included: never show it as is). */
  target: ServerTarget | undefined;
  /** Whether a parent supervisor grants slots (and is told of every state change). */
  supervised: boolean;
  /** Where supervisor messages go instead of the parent, if anywhere ({@link ConnectionInput.reportTo}). */
  reportTo: AnyActorRef | undefined;
  /** The live session while connected; undefined once it is closed. */
  session: McpSession | undefined;
  /**
   * How probes check the server: `server/discover` for a modern server, `ping` for a legacy one,
   * or `tools/list` once a legacy server answered ping with -32601 (learnt anew on each connect).
   */
  probeKind: ProbeKind;
  /** The era the last session negotiated; `null` before the first connect. */
  era: ProtocolEra | null;
  /** Failed or lost attempts since the counter was last reset. */
  attempts: number;
  /**
   * Answers or misses in a row, as one signed count (never both at once: an answer ends a run of
   * misses and a miss ends a run of answers). Above 0, good answers in a row: they stretch the
   * healthy interval and count toward recovery (`goodStreakOf`). Below 0, probes missed in a
   * row: `zombieAfter` of them make a zombie (`missedStreakOf`). One field rather than two
   * keeps the context at 19 fields (context-shape test).
   */
  streak: number;
  /**
   * When the next probe is due (epoch ms), set by every action that enters an `idle` state; the
   * `probeDue` timer waits until then. Kept so that the probe after a fast answer can be due one
   * interval after this one was due rather than after it ran (a chain; docs/connection.md, "Probe spread").
   */
  probeDueAt: number;
  /** The delay the current `reconnecting` waits before asking for a slot. */
  backoffMs: number;
  /**
   * State of the seeded PRNG that draws backoff and probe jitter, so both stay pure functions of
   * context. With `probeJitter` above 0, every action that schedules a probe draws once (a chain
   * that holds uses its u for the step; `probeDueAt` keeps the outcome); at 0 probes draw nothing.
   */
  rngState: number;
  /** The last failure, if any; kept after recovery for the record. */
  lastError: LastError | undefined;
  /** When the current top-level state was entered (epoch ms). */
  since: number;
  /** When the connection entered each of its last 100 top-level states (epoch ms), for the stability part of quality. */
  transitionTimes: number[];
  /** The last `QUALITY_SAMPLE_CAPACITY` (100) probe and call outcomes, packed (`toArray()` gives them as objects). */
  samples: SampleWindow;
  /** The quality computed from `samples` and `transitionTimes` at the last sample. */
  quality: Quality;
}

/**
 * What a connection actor accepts: operator commands (`start`, `stop`, `reconnect`, `probe`),
 * the supervisor's `slot.granted`, transport facts, the outcomes of calls made through it, and
 * `resource.exceeded` from the fleet's resource watch.
 */
export type ConnectionEvent =
  | { type: 'start' }
  | { type: 'stop' }
  | { type: 'reconnect' }
  | { type: 'probe' }
  | { type: 'slot.granted' }
  | SessionEvent
  | CallSucceeded
  | { type: 'call.failed'; error: unknown; latencyMs?: number }
  | ResourceExceeded;

/**
 * The server's process group stayed over a configured resource limit (the fleet's resource watch
 * decides; the machine has no clock of its own for it): the session is torn down and reconnected
 * with the usual backoff, `error` (kind `resource`) recorded as the reason. Only a serving
 * connection takes it; in any other state the session is already going or not there yet.
 */
export interface ResourceExceeded {
  /** The event's name. */
  type: 'resource.exceeded';
  /** Kind `resource`; its message names the limit and the measured value. */
  error: ConnectionError;
}

/**
 * One or more tool calls answered. Calls answered within a short window (50 ms, see
 * `ConnectionCalls`) are reported as one event (under load, one event per call was most of a
 * call's cost in the actor): then `latenciesMs` holds every answer's latency and `latencyMs` is the fastest, which
 * is what decides whether the due probe is skipped (any fast answer would have skipped it).
 */
export interface CallSucceeded {
  /** The event's name. */
  type: 'call.succeeded';
  /** The latency of the call (ms); of several, the fastest. */
  latencyMs: number;
  /** Every answer's latency (ms) when the event reports several calls; absent for one. */
  latenciesMs?: readonly number[];
}

/**
 * How a probe ended: answered in time (`fast`) or slower than `degradedLatencyMs` (`slow`), no
 * answer in time or an error (`missed`), transport gone (`closed`), session forgotten (`session-expired`),
 * or ping unsupported (`method-not-found`; the next probe uses `tools/list`).
 */
export type ProbeOutcome = 'fast' | 'slow' | 'missed' | 'closed' | 'session-expired' | 'method-not-found';

/** Facts the actor emits (`actor.on(...)`) besides its transitions. */
export type ConnectionEmitted = {
  type: 'probe.completed';
  id: string;
  kind: ProbeKind;
  outcome: ProbeOutcome;
  latencyMs: number | undefined;
  at: number;
};

/**
 * Messages to a supervising parent; only sent when `supervised` is true. Every top-level state
 * entry is reported, which is all a supervisor needs to account for slots: a granted slot is
 * held until the child reports any state other than `connecting`.
 */
export type SupervisorMessage =
  | { type: 'slot.requested'; id: string }
  | StateChangedMessage
  /** The child is stopped and its transport fully closed; safe to remove. */
  | { type: 'connection.closed'; id: string }
  | ConnectionEmitted;

/** A connection entered a top-level state (the supervisor adds `from` when it re-emits it). */
export interface StateChangedMessage {
  /** Always `'state.changed'`. */
  type: 'state.changed';
  /** The connection's id. */
  id: string;
  /** The state it entered. */
  to: ConnectionState;
  /** Epoch ms. */
  at: number;
  /** Why, for `reconnecting`, `zombie` and `failed`: the last error's message. */
  reason: string | undefined;
  /** The server's process died sooner than its `minUptimeMs` (counts toward flap quarantine). */
  earlyExit?: boolean;
}

/** States whose cause is the last error; for the others it would be stale. */
const REASONED_STATES: ReadonlySet<ConnectionState> = new Set(['reconnecting', 'zombie', 'failed']);

/**
 * Input of the `connect` actor: which server, which attempt, where it is, and the connection to
 * tell what the session reports on its own.
 */
export interface ConnectInput {
  /** The server's id. */
  id: string;
  /** Failed or lost attempts since the counter was last reset (`context.attempts`). */
  attempt: number;
  /** Where the server is (the context's `target`). */
  target: ServerTarget | undefined;
  /**
   * The connection actor asking. The session `connect` resolves with must send it what the
   * transport reports on its own (`transport.closed`, `session.expired`: a child's exit, a closed
   * socket, a forgotten session), e.g. `session.onEvent((event) => input.connection.send(event))`.
   * The machine heeds them while serving and closes every session before it connects again, so a
   * session that reports once and never after `close()` (as `McpSession` promises) needs nothing more.
   */
  connection: Pick<AnyActorRef, 'send'>;
}
/** Input of the `probe` actor. */
export interface ProbeInput {
  /** The session to check. */
  session: McpSession | undefined;
  /** How to check it. */
  kind: ProbeKind;
}
/** What a successful `probe` actor resolves with. */
export interface ProbeResult {
  /** How long the server took to answer (ms). */
  latencyMs: number;
}
/** Input of the `closeSession` actor. */
export interface SessionInput {
  /** The session to close; undefined when there is none. */
  session: McpSession | undefined;
  /**
   * The connection's id, for `closeSession`: with no session (stopped while connecting), closing
   * still waits for the interrupted attempt to end what it started.
   */
  id?: string;
}

function notProvided(name: string): Error {
  return new Error(`connection machine: actor "${name}" was not provided; use machine.provide() or createConnectionLogic()`);
}

const now = (): number => Date.now();

/** The part of an `enqueueActions` queue that {@link report} uses. */
interface ReportQueue {
  (action: ReturnType<typeof sendParent<ConnectionContext, ConnectionEvent, undefined, SupervisorMessage, ConnectionEvent>>): void;
  sendTo: (to: AnyActorRef, event: SupervisorMessage) => void;
}

/** A message to the supervisor: to `reportTo` when the context names one (an isolated connection), else to the parent. */
function report(enqueue: ReportQueue, context: Pick<ConnectionContext, 'reportTo'>, message: SupervisorMessage): void {
  if (context.reportTo) enqueue.sendTo(context.reportTo, message);
  else enqueue(sendParent(message));
}

function withSample(context: ConnectionContext, sample: QualitySample): Pick<ConnectionContext, 'samples' | 'quality'> {
  return withSamples(context, [sample]);
}

/** Appends samples (oldest first) and scores the connection once for all of them. */
function withSamples(context: ConnectionContext, added: readonly QualitySample[]): Pick<ConnectionContext, 'samples' | 'quality'> {
  const samples = context.samples.append(added, QUALITY_SAMPLE_CAPACITY);
  const quality = computeQuality({
    samples,
    transitionTimes: context.transitionTimes,
    now: added.at(-1)?.at ?? now(),
    degradedLatencyMs: context.settings.degradedLatencyMs,
  });
  return { samples, quality };
}

/** Good answers in a row (0 after a miss): what stretches the healthy interval and counts toward recovery. */
export function goodStreakOf(context: Pick<ConnectionContext, 'streak'>): number {
  return Math.max(0, context.streak);
}

/** Probes missed in a row (0 after an answer): `zombieAfter` of them make a zombie. */
export function missedStreakOf(context: Pick<ConnectionContext, 'streak'>): number {
  return Math.max(0, -context.streak);
}

/** How the next probe's due instant is found ({@link scheduleProbe}). */
type ProbeSchedule = 'first' | 'chained' | 'fromNow';

/**
 * Attempts forgiven: a connection that has stayed `healthy` for `resetAfterMs` (in `healthy`,
 * `since` is when it became so) starts its next backoff from the first step. Checked on each good
 * answer in `healthy` and when leaving it, so the counter reads 0 at most one probe interval after
 * the spell is long enough, and always before a failure that follows it is counted.
 */
function forgiven(context: ConnectionContext, at: number): Partial<Pick<ConnectionContext, 'attempts'>> {
  return context.attempts > 0 && at - context.since >= context.settings.resetAfterMs ? { attempts: 0 } : {};
}

/**
 * Sets when the next probe is due, for every action whose transition enters an `idle` state (XState
 * resolves the `after` delay on entering it, after the transition's actions; scheduling in an entry
 * action of `idle` instead would be one more assign, a context copy, per probe). With jitter each
 * call draws one u (read back with `randomValueAt(rngState)`), used by the ways that need one;
 * without jitter nothing is drawn, so backoff sees the same values it always did. `at` is now, as
 * the action read it for its samples: one clock reading per probe, and the due instant counted
 * from the same instant the answer was recorded at.
 */
function scheduleProbe(context: ConnectionContext, intervalMs: number, how: ProbeSchedule, at: number): Pick<ConnectionContext, 'probeDueAt'> & Partial<Pick<ConnectionContext, 'rngState'>> {
  const jitter = context.settings.probeJitter;
  if (!(jitter > 0)) return { probeDueAt: at + intervalMs };
  const rngState = nextRandom(context.rngState).state;
  const u = randomValueAt(rngState);
  const probeDueAt =
    how === 'first'
      ? firstProbeDue(at, intervalMs, jitter, u)
      : how === 'chained'
        ? chainedProbeDue(context.probeDueAt, at, intervalMs, jitter, u)
        : at + jitteredProbeInterval(intervalMs, jitter, u);
  return { probeDueAt, rngState };
}

/** The params of the machine's `recordGoodProbe` action: where the fast answer takes the connection. */
export interface GoodProbeParams {
  /** On in `healthy` or in `degraded`, or back to `healthy` from `degraded` (the stretch starts over). */
  next: 'healthy' | 'degraded' | 'recovered';
}

function errorOf(event: { error?: unknown }): ConnectionError {
  const { error } = event;
  return error instanceof ConnectionError ? error : new ConnectionError('transient', errorMessageOf(error), { cause: error });
}

function lastErrorFrom(error: unknown): LastError {
  const base = { kind: errorKindOf(error), message: errorMessageOf(error), at: now() };
  return error instanceof ConnectionError && error.earlyExit ? { ...base, earlyExit: true } : base;
}

/**
 * The connection statechart: `connecting` → `serving` (`healthy` ⇄ `degraded`) → `zombie` /
 * `reconnecting` (close, backoff, await a slot) → `connecting` …, plus `failed` and `stopped`.
 * Pure: its I/O is three actors (`connect`, `probe`, `closeSession`) to provide with
 * `.provide()`; `connect` and `probe` throw until provided. What a session reports on its own
 * arrives as events (`transport.closed`, `session.expired`), sent by the session `connect` made
 * ({@link ConnectInput.connection}): no actor per connection stands by to relay them. Timers are `delays` computed from
 * the context's settings, so they run in virtual time under test.
 *
 * @example
 * ```ts
 * import { createActor, fromPromise } from 'xstate';
 * const actor = createActor(
 *   connectionMachine.provide({
 *     actors: {
 *       connect: fromPromise(async () => mySession),
 *       probe: fromPromise(async () => ({ latencyMs: 5 })),
 *     },
 *   }),
 *   { input: { id: 'files', transport: 'memory', settings: resolveSettings() } },
 * ).start();
 * actor.subscribe((snapshot) => console.log(connectionStateOf(snapshot)));
 * ```
 */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
    emitted: {} as ConnectionEmitted,
  },
  actors: {
    /** Starts a fresh transport + SDK client and completes the MCP handshake. */
    connect: fromPromise<McpSession, ConnectInput>(async () => {
      throw notProvided('connect');
    }),
    /** One health check; rejects with a ConnectionError. Its deadline is the machine's `pingTimeout`. */
    probe: fromPromise<ProbeResult, ProbeInput>(async () => {
      throw notProvided('probe');
    }),
    /** Tears the session down (stdio: close stdin → SIGTERM → SIGKILL of the process group). */
    closeSession: fromPromise<void, SessionInput>(async ({ input }) => {
      await input.session?.close();
    }),
  },
  guards: {
    isPermanentError: ({ event }) => 'error' in event && errorKindOf(event.error) === 'permanent',
    isClosedError: ({ event }) => 'error' in event && errorKindOf(event.error) === 'closed',
    callFailureNeedsProbe: ({ event }) => {
      if (!('error' in event)) return false;
      const kind = errorKindOf(event.error);
      return kind !== 'closed' && kind !== 'session-expired';
    },
    isSessionExpired: ({ event }) => 'error' in event && errorKindOf(event.error) === 'session-expired',
    isMethodNotFound: ({ context, event }) =>
      context.probeKind === 'ping' && 'error' in event && errorKindOf(event.error) === 'method-not-found',
    probeWasSlow: ({ context, event }) => latencyOf(event) > context.settings.degradedLatencyMs,
    callWasFast: ({ context, event }) =>
      event.type === 'call.succeeded' && event.latencyMs <= context.settings.degradedLatencyMs,
    recoversWithThisProbe: ({ context }) => goodStreakOf(context) + 1 >= context.settings.recoverAfter,
    zombieWithThisMiss: ({ context }) => missedStreakOf(context) + 1 >= context.settings.zombieAfter,
    attemptsExhausted: ({ context }) => context.attempts >= context.settings.maxAttempts,
    hasNoSession: ({ context }) => context.session === undefined,
    noBackoffDue: ({ context }) => context.backoffMs <= 0,
    isUnsupervised: ({ context }) => !context.supervised,
  },
  delays: {
    connectTimeout: ({ context }) => context.settings.connectTimeoutMs,
    pingTimeout: ({ context }) => context.settings.pingTimeoutMs,
    /** Until the next probe is due: `probeDueAt` is set by the action that entered `idle` ({@link scheduleProbe}). */
    probeDue: ({ context }) => Math.max(0, context.probeDueAt - now()),
    backoff: ({ context }) => context.backoffMs,
  },
  actions: {
    enterState: enqueueActions(({ context, enqueue }, params: { state: ConnectionState }) => {
      const at = now();
      enqueue.assign({ since: at, transitionTimes: appendBounded(context.transitionTimes, at, TRANSITION_TIMES_CAPACITY) });
      if (!context.supervised) return;
      // The first start passes through `reconnecting` only to wait for a slot: not a transition
      // worth reporting, so the first one a supervisor (and its observers) sees is `connecting`.
      if (params.state === 'reconnecting' && context.transitionTimes.length === 0) return;
      const reason = REASONED_STATES.has(params.state) ? context.lastError?.message : undefined;
      const earlyExit = params.state === 'reconnecting' && context.lastError?.earlyExit === true;
      report(enqueue, context, { type: 'state.changed', id: context.id, to: params.state, at, reason, ...(earlyExit ? { earlyExit } : {}) });
    }),
    /**
     * A new session: its negotiated era decides the probe (a modern server has no ping, so it is
     * probed with server/discover), and is what views show until the next connect renegotiates.
     */
    storeSession: assign(({ context, event }) => {
      const session = 'output' in event ? (event.output as McpSession) : undefined;
      const era = session?.era ?? null;
      const probeKind: ProbeKind = era === 'modern' ? 'server/discover' : 'ping';
      return { session, era, probeKind, streak: 0, ...scheduleProbe(context, healthyProbeInterval(context.settings, 0), 'first', now()) };
    }),
    forgetSession: assign({ session: undefined }),
    /** A failed or lost attempt: count it and draw this attempt's full-jitter delay. */
    recordFailure: assign(({ context, event }) => {
      const random = nextRandom(context.rngState);
      return {
        // A zombie's teardown finishing carries no error; the zombie verdict stays the reason.
        lastError: 'error' in event ? lastErrorFrom(event.error) : context.lastError,
        backoffMs: fullJitterDelay(context.attempts, context.settings, random.value),
        rngState: random.state,
        attempts: context.attempts + 1,
      };
    }),
    recordConnectTimeout: assign(({ context }) => {
      const random = nextRandom(context.rngState);
      return {
        lastError: {
          kind: 'timeout' as const,
          message: `connect + handshake took longer than ${context.settings.connectTimeoutMs} ms`,
          at: now(),
        },
        backoffMs: fullJitterDelay(context.attempts, context.settings, random.value),
        rngState: random.state,
        attempts: context.attempts + 1,
      };
    }),
    /** The server forgot our session; it is up, so re-initialize at once (still via a slot). */
    recordSessionExpired: assign(({ event }) => ({
      lastError: lastErrorFrom('error' in event ? event.error : undefined),
      backoffMs: 0,
    })),
    recordPermanentError: assign(({ event }) => ({ lastError: lastErrorFrom(errorOf(event as { error?: unknown })) })),
    recordExhausted: assign(({ context }) => ({
      lastError: {
        kind: 'exhausted' as const,
        message: `gave up after ${context.attempts} attempts; last error: ${context.lastError?.message ?? 'none'}`,
        at: now(),
      },
    })),
    recordZombie: assign(({ context }) => ({
      lastError: {
        kind: 'zombie' as const,
        message: `${missedStreakOf(context)} probes in a row got no answer within ${context.settings.pingTimeoutMs} ms`,
        at: now(),
      },
    })),
    /** Operator commands skip the backoff wait; `start` and manual `reconnect` from failed also forgive past attempts. */
    skipBackoff: assign({ backoffMs: 0 }),
    resetForManualStart: assign({ backoffMs: 0, attempts: 0, probeKind: 'ping' as ProbeKind }),
    /** Leaving `healthy`: past attempts are forgiven if it lasted `resetAfterMs` ({@link forgiven}). */
    forgiveAttemptsAfterSteadySpell: enqueueActions(({ context, enqueue }) => {
      const update = forgiven(context, now());
      if (update.attempts !== undefined) enqueue.assign(update);
    }),
    switchProbeToToolsList: assign({ probeKind: 'tools/list' as ProbeKind }),
    /**
     * A fast answer: one more in the streak (back to 0 on recovery, so the healthy interval
     * stretches anew), and the next probe chained to this one's due instant.
     */
    recordGoodProbe: enqueueActions(({ context, event, enqueue }, params: GoodProbeParams) => {
      const latencyMs = latencyOf(event);
      const at = now();
      const streak = params.next === 'recovered' ? 0 : goodStreakOf(context) + 1;
      const intervalMs = params.next === 'degraded' ? context.settings.degradedIntervalMs : healthyProbeInterval(context.settings, streak);
      const attempts = params.next === 'healthy' ? forgiven(context, at) : {};
      enqueue.assign({ streak, ...attempts, ...withSample(context, sample(at, true, latencyMs, 'probe')), ...scheduleProbe(context, intervalMs, 'chained', at) });
      const probe = probeEmitted(context, 'fast', latencyMs, at);
      enqueue.emit(probe);
      if (context.supervised) report(enqueue, context, probe);
    }),
    recordSlowProbe: enqueueActions(({ context, event, enqueue }) => {
      const latencyMs = latencyOf(event);
      const at = now();
      // Both ways out of a slow answer lead to `degraded`.
      enqueue.assign({ streak: 0, ...withSample(context, sample(at, true, latencyMs, 'probe')), ...scheduleProbe(context, context.settings.degradedIntervalMs, 'fromNow', at) });
      const probe = probeEmitted(context, 'slow', latencyMs, at);
      enqueue.emit(probe);
      if (context.supervised) report(enqueue, context, probe);
    }),
    recordMissedProbe: enqueueActions(({ context, enqueue }) => {
      const at = now();
      enqueue.assign({
        streak: -(missedStreakOf(context) + 1),
        ...withSample(context, sample(at, false, context.settings.pingTimeoutMs, 'probe')),
        // To `degraded` (or `zombie`, where the schedule goes unused).
        ...scheduleProbe(context, context.settings.degradedIntervalMs, 'fromNow', at),
      });
      const probe = probeEmitted(context, 'missed', undefined, at);
      enqueue.emit(probe);
      if (context.supervised) report(enqueue, context, probe);
    }),
    recordLostProbe: enqueueActions(({ context, event, enqueue }) => {
      const at = now();
      const outcome: ProbeOutcome = 'error' in event && errorKindOf(event.error) === 'session-expired' ? 'session-expired' : 'closed';
      enqueue.assign(withSample(context, sample(at, false, 0, 'probe')));
      const probe = probeEmitted(context, outcome, undefined, at);
      enqueue.emit(probe);
      if (context.supervised) report(enqueue, context, probe);
    }),
    recordMethodNotFound: enqueueActions(({ context, enqueue }) => {
      const probe = probeEmitted(context, 'method-not-found', undefined, now());
      enqueue.emit(probe);
      if (context.supervised) report(enqueue, context, probe);
    }),
    /** A healthy call's answer: its fast answers count in the streak; the probe stays as scheduled. */
    recordCallSucceeded: assign(({ context, event }) => callSucceeded(context, event)),
    /**
     * A tool call answered quickly is as good as a probe, so the due probe is skipped: the next one
     * is an interval from now (jittered: calls that end together must not probe together).
     */
    recordCallInPlaceOfProbe: assign(({ context, event }) => {
      const update = callSucceeded(context, event);
      const at = now();
      return { ...update, ...forgiven(context, at), ...scheduleProbe(context, healthyProbeInterval(context.settings, update.streak), 'fromNow', at) };
    }),
    /** In `degraded` a call proves the server alive (no zombie) but recovery is left to probes. */
    recordCallAnswered: assign(({ context, event }) => ({
      streak: goodStreakOf(context),
      ...withSamples(context, callSamples(answeredLatencies(event))),
    })),
    recordCallFailed: assign(({ context, event }) => ({
      ...withSample(context, sample(now(), false, event.type === 'call.failed' ? (event.latencyMs ?? 0) : 0, 'call')),
    })),
    requestSlot: enqueueActions(({ context, enqueue }) => {
      if (context.supervised) report(enqueue, context, { type: 'slot.requested', id: context.id });
    }),
    reportClosed: enqueueActions(({ context, enqueue }) => {
      if (context.supervised) report(enqueue, context, { type: 'connection.closed', id: context.id });
    }),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    id: input.id,
    transport: input.transport,
    settings: input.settings,
    target: input.target,
    supervised: input.supervised ?? false,
    reportTo: input.reportTo,
    session: undefined,
    probeKind: 'ping',
    era: null,
    attempts: 0,
    streak: 0,
    probeDueAt: 0,
    backoffMs: 0,
    rngState: (input.seed ?? seedFromString(input.id)) >>> 0,
    lastError: undefined,
    since: now(),
    transitionTimes: [],
    samples: SampleWindow.EMPTY,
    quality: EMPTY_QUALITY,
  }),
  // The first connect goes through `reconnecting` (with no backoff due) so that a supervised
  // connection waits for a slot on first start too; unsupervised, it passes straight through.
  initial: 'reconnecting',
  states: {
    connecting: {
      entry: { type: 'enterState', params: { state: 'connecting' } },
      invoke: {
        src: 'connect',
        input: ({ context, self }) => ({ id: context.id, attempt: context.attempts, target: context.target, connection: self }),
        onDone: { target: 'serving', actions: 'storeSession' },
        onError: [
          { guard: 'isPermanentError', target: 'failed', actions: 'recordPermanentError' },
          { target: 'reconnecting', actions: 'recordFailure' },
        ],
      },
      after: {
        connectTimeout: { target: 'reconnecting', actions: 'recordConnectTimeout' },
      },
      on: {
        stop: 'stopped',
      },
    },

    // Both states that answer calls; what the session reports on its own is heeded in either.
    serving: {
      initial: 'healthy',
      on: {
        'transport.closed': [
          // A process under `restart: never` that exits ends here, with its exit status.
          { guard: 'isPermanentError', target: 'failed', actions: 'recordPermanentError' },
          { target: 'reconnecting', actions: 'recordFailure' },
        ],
        'session.expired': { target: 'reconnecting', actions: 'recordSessionExpired' },
        'call.failed': [
          { guard: 'isClosedError', target: 'reconnecting', actions: ['recordCallFailed', 'recordFailure'] },
          { guard: 'isSessionExpired', target: 'reconnecting', actions: ['recordCallFailed', 'recordSessionExpired'] },
          { actions: 'recordCallFailed' },
        ],
        reconnect: { target: 'reconnecting', actions: 'skipBackoff' },
        // Like a lost transport, but the session is still open: `reconnecting` closes it first.
        'resource.exceeded': { target: 'reconnecting', actions: 'recordFailure' },
        stop: 'stopped',
      },
      states: {
        healthy: {
          entry: { type: 'enterState', params: { state: 'healthy' } },
          // Past attempts are forgiven after `resetAfterMs` in `healthy`, seen where it matters
          // rather than by a timer of its own (one per connection, ~0.5 KiB held each): on a good
          // answer here, and on the way out, before any failure counts ({@link forgiven}).
          exit: 'forgiveAttemptsAfterSteadySpell',
          initial: 'idle',
          states: {
            idle: {
              after: { probeDue: 'probing' },
              on: {
                probe: 'probing',
                // Calls are evidence: a call that timed out (or failed without closing the
                // transport) triggers one probe now instead of at the next interval, so a server
                // that hangs under traffic leaves `healthy` within `pingTimeoutMs` of it. A closed
                // transport or lost session is handled by `serving`.
                'call.failed': { guard: 'callFailureNeedsProbe', target: 'probing', actions: 'recordCallFailed' },
                // Only a fast answer stands in for the due probe; a slow one is recorded and the probe still runs.
                'call.succeeded': [
                  { guard: 'callWasFast', target: 'idle', reenter: true, actions: 'recordCallInPlaceOfProbe' },
                  { actions: 'recordCallSucceeded' },
                ],
              },
            },
            probing: {
              invoke: {
                src: 'probe',
                input: ({ context }) => ({ session: context.session, kind: context.probeKind }),
                onDone: [
                  { guard: 'probeWasSlow', target: '#connection.serving.degraded', actions: 'recordSlowProbe' },
                  { target: 'idle', actions: { type: 'recordGoodProbe', params: { next: 'healthy' } } },
                ],
                onError: [
                  { guard: 'isMethodNotFound', target: 'probing', reenter: true, actions: ['recordMethodNotFound', 'switchProbeToToolsList'] },
                  { guard: 'isClosedError', target: '#connection.reconnecting', actions: ['recordLostProbe', 'recordFailure'] },
                  { guard: 'isSessionExpired', target: '#connection.reconnecting', actions: ['recordLostProbe', 'recordSessionExpired'] },
                  { target: '#connection.serving.degraded', actions: 'recordMissedProbe' },
                ],
              },
              after: {
                pingTimeout: { target: '#connection.serving.degraded', actions: 'recordMissedProbe' },
              },
              on: {
                'call.succeeded': { actions: 'recordCallSucceeded' },
              },
            },
          },
        },

        degraded: {
          entry: { type: 'enterState', params: { state: 'degraded' } },
          initial: 'idle',
          on: {
            // Any answer proves the server alive, so calls reset the miss streak; recovery is left to probes.
            'call.succeeded': { actions: 'recordCallAnswered' },
          },
          states: {
            idle: {
              after: { probeDue: 'probing' },
              on: { probe: 'probing' },
            },
            probing: {
              invoke: {
                src: 'probe',
                input: ({ context }) => ({ session: context.session, kind: context.probeKind }),
                onDone: [
                  { guard: 'probeWasSlow', target: 'idle', actions: 'recordSlowProbe' },
                  { guard: 'recoversWithThisProbe', target: '#connection.serving.healthy', actions: { type: 'recordGoodProbe', params: { next: 'recovered' } } },
                  { target: 'idle', actions: { type: 'recordGoodProbe', params: { next: 'degraded' } } },
                ],
                onError: [
                  { guard: 'isMethodNotFound', target: 'probing', reenter: true, actions: ['recordMethodNotFound', 'switchProbeToToolsList'] },
                  { guard: 'isClosedError', target: '#connection.reconnecting', actions: ['recordLostProbe', 'recordFailure'] },
                  { guard: 'isSessionExpired', target: '#connection.reconnecting', actions: ['recordLostProbe', 'recordSessionExpired'] },
                  { guard: 'zombieWithThisMiss', target: '#connection.zombie', actions: 'recordMissedProbe' },
                  { target: 'idle', actions: 'recordMissedProbe' },
                ],
              },
              after: {
                pingTimeout: [
                  { guard: 'zombieWithThisMiss', target: '#connection.zombie', actions: 'recordMissedProbe' },
                  { target: 'idle', actions: 'recordMissedProbe' },
                ],
              },
            },
          },
        },
      },
    },

    zombie: {
      entry: ['recordZombie', { type: 'enterState', params: { state: 'zombie' } }],
      invoke: {
        src: 'closeSession',
        input: ({ context }) => ({ session: context.session, id: context.id }),
        onDone: { target: 'reconnecting', actions: ['forgetSession', 'recordFailure'] },
        onError: { target: 'reconnecting', actions: ['forgetSession', 'recordFailure'] },
      },
      on: {
        stop: 'stopped',
      },
    },

    reconnecting: {
      entry: { type: 'enterState', params: { state: 'reconnecting' } },
      initial: 'sessionCheck',
      on: {
        stop: 'stopped',
      },
      states: {
        // Choices, not waits: a state with an `invoke` or an `after` creates its actor or sets its
        // timer as it is entered, so passing through `closing` or `backoff` when there is nothing
        // to close or wait out would create an actor and discard it (XState never starts it), or
        // set a timer and clear it, on every first connect and failed attempt (10 000 of each as
        // a fleet starts).
        sessionCheck: {
          always: [{ guard: 'hasNoSession', target: 'backoffCheck' }, { target: 'closing' }],
        },
        // The old process must have exited before a new one starts.
        closing: {
          invoke: {
            src: 'closeSession',
            input: ({ context }) => ({ session: context.session, id: context.id }),
            onDone: { target: 'backoffCheck', actions: 'forgetSession' },
            onError: { target: 'backoffCheck', actions: 'forgetSession' },
          },
        },
        // Only once the old session is closed, and before a 0 ms backoff can pass through.
        backoffCheck: {
          always: [
            { guard: 'attemptsExhausted', target: '#connection.failed', actions: 'recordExhausted' },
            { guard: 'noBackoffDue', target: 'awaitingSlot' },
            { target: 'backoff' },
          ],
        },
        // Waiting out backoff holds no supervisor slot.
        backoff: {
          after: { backoff: 'awaitingSlot' },
          on: { reconnect: { target: 'awaitingSlot', actions: 'skipBackoff' } },
        },
        awaitingSlot: {
          entry: 'requestSlot',
          always: { guard: 'isUnsupervised', target: '#connection.connecting' },
          on: { 'slot.granted': '#connection.connecting' },
        },
      },
    },

    failed: {
      entry: { type: 'enterState', params: { state: 'failed' } },
      // A session that ended for good (restart: never) is still closed, like any other.
      invoke: {
        src: 'closeSession',
        input: ({ context }) => ({ session: context.session, id: context.id }),
        onDone: { actions: 'forgetSession' },
        onError: { actions: 'forgetSession' },
      },
      on: {
        reconnect: { target: 'reconnecting', actions: 'resetForManualStart' },
        stop: 'stopped',
      },
    },

    stopped: {
      entry: { type: 'enterState', params: { state: 'stopped' } },
      invoke: {
        src: 'closeSession',
        input: ({ context }) => ({ session: context.session, id: context.id }),
        onDone: { actions: ['forgetSession', 'reportClosed'] },
        onError: { actions: ['forgetSession', 'reportClosed'] },
      },
      on: {
        start: { target: 'reconnecting', actions: 'resetForManualStart' },
        // A supervisor removing an already-stopped server still needs to hear it is closed.
        stop: { guard: 'hasNoSession', actions: 'reportClosed' },
      },
    },
  },
});

function latencyOf(event: ConnectionEvent | { type: string; output?: unknown }): number {
  if (event.type === 'call.succeeded' && 'latencyMs' in event) return event.latencyMs;
  if ('output' in event && typeof event.output === 'object' && event.output !== null && 'latencyMs' in event.output) {
    const { latencyMs } = event.output as ProbeResult;
    return latencyMs;
  }
  return 0;
}

function sample(at: number, ok: boolean, latencyMs: number, source: QualitySample['source']): QualitySample {
  return { at, ok, latencyMs, source };
}

/** The latencies a `call.succeeded` reports: one, or the several it carries. */
function answeredLatencies(event: ConnectionEvent): readonly number[] {
  if (event.type !== 'call.succeeded') return [];
  return event.latenciesMs && event.latenciesMs.length > 0 ? event.latenciesMs : [event.latencyMs];
}

/** What a healthy call's answer changes: its fast answers extend the streak (ending any run of misses), and its samples. */
function callSucceeded(context: ConnectionContext, event: ConnectionEvent): Pick<ConnectionContext, 'streak' | 'samples' | 'quality'> {
  const latencies = answeredLatencies(event);
  const fast = latencies.filter((latencyMs) => latencyMs <= context.settings.degradedLatencyMs).length;
  return { streak: goodStreakOf(context) + fast, ...withSamples(context, callSamples(latencies)) };
}

function callSamples(latencies: readonly number[]): QualitySample[] {
  const at = now();
  return latencies.map((latencyMs) => sample(at, true, latencyMs, 'call'));
}

function probeEmitted(context: ConnectionContext, outcome: ProbeOutcome, latencyMs: number | undefined, at: number): ConnectionEmitted {
  return { type: 'probe.completed', id: context.id, kind: context.probeKind, outcome, latencyMs, at };
}

/** The type of {@link connectionMachine}. */
export type ConnectionMachine = typeof connectionMachine;
/** A reference to a running connection actor (e.g. a supervisor's child). */
export type ConnectionActorRef = ActorRefFrom<ConnectionMachine>;
/** A connection actor's snapshot: its state value and {@link ConnectionContext}. */
export type ConnectionSnapshot = SnapshotFrom<ConnectionMachine>;

/**
 * The connection state of a snapshot, as the API names it: `{ serving: { healthy: 'probing' } }`
 * → `healthy`, `{ reconnecting: 'backoff' }` → `reconnecting`.
 */
export function connectionStateOf(snapshot: Pick<ConnectionSnapshot, 'value'>): ConnectionState {
  const value = snapshot.value;
  if (typeof value === 'string') return value as ConnectionState;
  // A compound state's value has one key (this machine has no parallel states): the first key
  // a `for…in` gives, read without the array `Object.keys` would make for every connection listed.
  for (const name in value) {
    if (name !== 'serving') return name as ConnectionState;
    const inner = (value as Record<string, unknown>)[name] as string | object;
    if (typeof inner === 'string') return inner as ConnectionState;
    for (const served in inner) return served as ConnectionState;
  }
  throw new Error(`not a connection state: ${JSON.stringify(value)}`);
}
