/**
 * The pure statecharts: the connection machine and the supervisor machine, with the types of
 * their context, input and events, the contracts of the actors they expect, and the pure
 * policies they use. Nothing here does I/O or imports Node built-ins, the MCP SDK, hono, pino or
 * ws: provide your own `connect`, `probe` and `closeSession` actors with `.provide()` and run
 * the machines anywhere, the browser included.
 *
 * @example Run the connection machine with scripted actors
 * ```ts
 * import { createActor, fromPromise } from 'xstate';
 * import { connectionMachine, resolveSettings } from 'mcp-supervisor/machines';
 * const actor = createActor(
 *   connectionMachine.provide({ actors: { connect: fromPromise(async () => mySession) } }),
 *   { input: { id: 'a', transport: 'memory', settings: resolveSettings() } },
 * ).start();
 * ```
 *
 * @packageDocumentation
 */
export { connectionMachine, connectionStateOf, goodStreakOf, missedStreakOf, QUALITY_SAMPLE_CAPACITY } from './connection.machine.js';
export type {
  ConnectInput,
  ConnectionActorRef,
  ConnectionContext,
  ConnectionEmitted,
  CallSucceeded,
  ResourceExceeded,
  ConnectionEvent,
  ConnectionInput,
  ConnectionMachine,
  ConnectionSnapshot,
  GoodProbeParams,
  LastError,
  ProbeInput,
  ProbeOutcome,
  ProbeResult,
  SessionInput,
  StateChangedMessage,
  SupervisorMessage,
} from './connection.machine.js';
export { connectingCount, isPanicking, supervisorMachine } from './supervisor.machine.js';
export { isolatedConnections } from './isolated-connection.js';
export type { IsolatedConnectionOptions } from './isolated-connection.js';
export { connectionHub } from './connection-hub.js';
export type { ConnectionsCommand, ConnectionsInput, ConnectionsLogic, SupervisedConnectionInput } from './connection-hub.js';
export type {
  ConnectionCommand,
  LossWindow,
  PanicChanged,
  PanicStatus,
  Quarantine,
  SupervisedServer,
  SupervisorActorRef,
  SupervisorContext,
  SupervisorEmitted,
  SupervisorEvent,
  SupervisorInput,
  SupervisorMachine,
  SupervisorSnapshot,
} from './supervisor.machine.js';
export { CONNECTION_STATES } from '../core/states.js';
export type { ConnectionState } from '../core/states.js';
export { DEFAULT_SETTINGS, resolveSettings } from '../core/settings.js';
export type { BackoffSettings, ConnectionSettings, HealthSettings } from '../core/settings.js';
export { ConnectionError, errorKindOf } from '../core/errors.js';
export type { ErrorKind } from '../core/errors.js';
export type { EraPreference, ListKind, McpSession, ProbeKind, ProtocolEra, SessionEvent, TransportKind } from '../core/session.js';
export type { EraPolicy, InProcessServer, ProcessParams, ProcessPolicy, ResourceLimits, RestartPolicy, ServerTarget } from '../core/target.js';
export { admit, compareRequests, defaultReservedSlots } from '../core/policy/admission.js';
export type { AdmissionInput, SlotRequest } from '../core/policy/admission.js';
export { fullJitterDelay } from '../core/policy/backoff.js';
export { healthyProbeInterval } from '../core/policy/probe-interval.js';
export { DEFAULT_FLAP_SETTINGS, isFlapping, quarantineDuration, recentDeaths } from '../core/policy/flapping.js';
export type { FlapSettings } from '../core/policy/flapping.js';
export { DEFAULT_PANIC_SETTINGS, panicOver, tooManyLost } from '../core/policy/panic.js';
export type { PanicSettings } from '../core/policy/panic.js';
export { computeQuality, EMPTY_QUALITY, SampleWindow } from '../core/quality/index.js';
export type { Quality, QualityInput, QualityParts, QualitySample, Trend } from '../core/quality/index.js';
