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
export { createSupervisor, DuplicateServerError, Supervisor, UnknownServerError } from './fleet/supervisor.js';
export type { ActorView, CallCompleted, CallOutcome, CreateSupervisorOptions, FleetEvent, ServerStats, TransitionRecord } from './fleet/supervisor.js';
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
export { EventBus } from './fleet/event-bus.js';
export type { SubscribeOptions } from './fleet/event-bus.js';
export { admit, compareRequests, defaultReservedSlots } from './core/policy/admission.js';
export type { AdmissionInput, SlotRequest } from './core/policy/admission.js';
export { DEFAULT_FLAP_SETTINGS } from './core/policy/flapping.js';
export type { FlapSettings } from './core/policy/flapping.js';
export { DEFAULT_PANIC_SETTINGS } from './core/policy/panic.js';
export type { PanicSettings } from './core/policy/panic.js';
export { createConnection, ManagedConnection } from './fleet/connection.js';
export type { CreateConnectionOptions, StateChange } from './fleet/connection.js';
export { ConnectionCalls } from './fleet/calls.js';
export type { CallToolOptions } from './fleet/calls.js';
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
export { createConnectionLogic } from './runtime/connection-logic.js';
export type { ConnectionLogic, ConnectionLogicOptions } from './runtime/connection-logic.js';
export { openSession } from './runtime/session.js';
export type { InProcessServer, ServerTarget } from './core/target.js';
export { StdioProcessTransport } from './runtime/transports/stdio.js';
export { toConnectionError } from './runtime/classify.js';
export { ConnectionError, ConnectionLostError, NotConnectedError } from './core/errors.js';
export type { ErrorKind } from './core/errors.js';
export { DEFAULT_SETTINGS, resolveSettings } from './core/settings.js';
export type { BackoffSettings, ConnectionSettings, HealthSettings } from './core/settings.js';
export type { McpSession, ProbeKind, SessionEvent, TransportKind } from './core/session.js';
export { computeQuality } from './core/quality/index.js';
export type { Quality, QualitySample, Trend } from './core/quality/index.js';
export { loadConfigFile, parseConfig } from './config/load.js';
export type { ServerDefinition, SupervisorConfig } from './config/load.js';
export { ConfigError } from './config/errors.js';
// Fault injection for users' own tests: a toxiproxy-style TCP proxy (latency, blackhole, reset, slicer, limit_data).
export { startFaultProxy } from './testing/index.js';
export type { BlackholeToxic, FaultProxy, FaultProxyOptions, LatencyToxic, LimitDataToxic, ResetToxic, SlicerToxic, Toxic, ToxicDirection } from './testing/index.js';
// Server processes: facts, the hard-death watchdog, launch policy.
export { startWatchdog, Watchdog } from './runtime/process/watchdog.js';
export type { WatchdogOptions } from './runtime/process/watchdog.js';
export type { ProcessFacts } from './runtime/process/registry.js';
export type { ProcessPolicy, RestartPolicy } from './core/target.js';
export { DEFAULT_MIN_UPTIME_MS } from './core/target.js';
export { startService } from './service/service.js';
export type { RunningService, StartServiceOptions } from './service/service.js';
export { createApp } from './http/app.js';
export type { AppDeps, ConfigPersistence, MetricsSource } from './http/deps.js';
export { createMetrics } from './observe/metrics.js';
export { startInspector } from './observe/inspector.js';
export type { InspectorBridge, StartInspectorOptions } from './observe/inspector.js';
