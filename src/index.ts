/**
 * mcp-supervisor's public API. Every export here is supported; anything else is internal.
 *
 * @example Supervise a fleet: admission under a cap, priorities, dependencies, one event stream
 * import { createSupervisor } from 'mcp-supervisor';
 * const supervisor = createSupervisor({
 *   supervisor: { maxConcurrentReconnects: 4 },
 *   mcpServers: { files: { command: 'node', args: ['server.mjs'], priority: 10 } },
 * });
 * supervisor.subscribe((event) => console.log(event.type, event));
 * await supervisor.ready('files');
 * await supervisor.callTool('files', 'echo', { message: 'hi' });
 * await supervisor.stop();
 *
 * @example Supervise one stdio server and call a tool through it
 * import { createConnection } from 'mcp-supervisor';
 * const files = createConnection({ id: 'files', target: { type: 'stdio', command: 'node', args: ['server.mjs'] } });
 * await files.ready();
 * console.log(files.state); // 'healthy'
 * await files.callTool('echo', { message: 'hi' });
 * await files.dispose();
 *
 * @example Use the pure machine with your own actors (tests, other runtimes)
 * import { createActor, fromPromise } from 'xstate';
 * import { connectionMachine, resolveSettings } from 'mcp-supervisor';
 * const actor = createActor(connectionMachine.provide({ actors: { connect: fromPromise(async () => mySession) } }),
 *   { input: { id: 'a', transport: 'memory', settings: resolveSettings() } });
 */
export { createSupervisor, DuplicateServerError, Supervisor, UnknownServerError } from './supervisor.js';
export type { ActorView, CallCompleted, CallOutcome, CreateSupervisorOptions, FleetEvent, ServerStats, TransitionRecord } from './supervisor.js';
export { supervisorMachine, connectingCount } from './machines/supervisor.machine.js';
export type {
  ConnectionCommand,
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
} from './machines/supervisor.machine.js';
export { EventBus } from './events.js';
export type { SubscribeOptions } from './events.js';
export { admit, compareRequests, defaultReservedSlots } from './policy/admission.js';
export type { AdmissionInput, SlotRequest } from './policy/admission.js';
export { DEFAULT_FLAP_SETTINGS } from './policy/flapping.js';
export type { FlapSettings } from './policy/flapping.js';
export { DEFAULT_PANIC_SETTINGS } from './policy/panic.js';
export type { PanicSettings } from './policy/panic.js';
export { createConnection, ManagedConnection } from './connection.js';
export type { CreateConnectionOptions, StateChange } from './connection.js';
export { ConnectionCalls } from './calls.js';
export type { CallToolOptions } from './calls.js';
export {
  CONNECTION_STATES,
  connectionMachine,
  connectionStateOf,
} from './machines/connection.machine.js';
export type {
  ConnectionActorRef,
  ConnectionContext,
  ConnectionEmitted,
  ConnectionEvent,
  ConnectionInput,
  ConnectionMachine,
  ConnectionSnapshot,
  ConnectionState,
  LastError,
  ProbeOutcome,
  SupervisorMessage,
} from './machines/connection.machine.js';
export { createConnectionLogic } from './actors/connection-logic.js';
export type { ConnectionLogic, ConnectionLogicOptions } from './actors/connection-logic.js';
export { openSession } from './actors/session.js';
export type { InProcessServer, ServerTarget } from './actors/target.js';
export { StdioProcessTransport } from './actors/transports/stdio.js';
export { toConnectionError } from './actors/classify.js';
export { ConnectionError, ConnectionLostError, NotConnectedError } from './errors.js';
export type { ErrorKind } from './errors.js';
export { DEFAULT_SETTINGS, resolveSettings } from './settings.js';
export type { BackoffSettings, ConnectionSettings, HealthSettings } from './settings.js';
export type { McpSession, ProbeKind, SessionEvent, TransportKind } from './session.js';
export { computeQuality } from './quality/index.js';
export type { Quality, QualitySample, Trend } from './quality/index.js';
export { loadConfigFile, parseConfig } from './config/load.js';
export type { ServerDefinition, SupervisorConfig } from './config/load.js';
export { ConfigError } from './config/errors.js';
// Fault injection for users' own tests: a toxiproxy-style TCP proxy (latency, blackhole, reset, slicer, limit_data).
export { startFaultProxy } from './testing/index.js';
export type { BlackholeToxic, FaultProxy, FaultProxyOptions, LatencyToxic, LimitDataToxic, ResetToxic, SlicerToxic, Toxic, ToxicDirection } from './testing/index.js';
// Server processes: facts, the hard-death watchdog, launch policy.
export { startWatchdog, Watchdog } from './actors/process/watchdog.js';
export type { WatchdogOptions } from './actors/process/watchdog.js';
export type { ProcessFacts } from './actors/process/registry.js';
export type { ProcessPolicy, RestartPolicy } from './actors/target.js';
export { DEFAULT_MIN_UPTIME_MS } from './actors/target.js';
export { startService } from './service.js';
export type { RunningService, StartServiceOptions } from './service.js';
export { createApp } from './http/app.js';
export type { AppDeps, ConfigPersistence, MetricsSource } from './http/deps.js';
export { createMetrics } from './http/metrics.js';
export { startInspector } from './inspector.js';
export type { InspectorBridge, StartInspectorOptions } from './inspector.js';
