/**
 * mcp-supervisor: keeps fleets of MCP server connections alive and honest. This entry point is
 * the fleet facade; it loads the MCP SDK and XState but not the HTTP stack or the inspector
 * (`mcp-supervisor/service`, `mcp-supervisor/inspector`). The pure statecharts are in
 * `mcp-supervisor/machines`; the fault-injection proxy for tests in `mcp-supervisor/testing`.
 *
 * @example Supervise a fleet: admission under a cap, priorities, dependencies, one event stream
 * ```ts
 * import { createSupervisor } from 'mcp-supervisor';
 * const supervisor = createSupervisor({
 *   supervisor: { maxConcurrentReconnects: 4 },
 *   mcpServers: { files: { command: 'node', args: ['server.mjs'], priority: 10 } },
 * });
 * supervisor.subscribe((event) => console.log(event.type, event));
 * await supervisor.ready('files');
 * await supervisor.callTool('files', 'echo', { message: 'hi' });
 * await supervisor.stop();
 * ```
 *
 * @example Supervise one stdio server and call a tool through it
 * ```ts
 * import { createConnection } from 'mcp-supervisor';
 * const files = createConnection({ id: 'files', target: { type: 'stdio', command: 'node', args: ['server.mjs'] } });
 * await files.ready();
 * await files.callTool('echo', { message: 'hi' });
 * await files.dispose();
 * ```
 *
 * @packageDocumentation
 */
export { createSupervisor, Supervisor } from './fleet/supervisor.js';
export type { CreateSupervisorOptions, ProbeCompleted, SupervisorCallOptions } from './fleet/supervisor.js';
export { createConnection, ManagedConnection } from './fleet/connection.js';
export type { CreateConnectionOptions, StateChanged } from './fleet/connection.js';
export type { CallToolOptions } from './fleet/calls.js';
export type { ActorSummary, ActorView, ProcessView } from './fleet/views.js';
export type { ResourceFacts } from './fleet/resource-limits.js';
export type { LimitedResource, OverLimit } from './core/policy/resource-limits.js';
export type { MemoryTrend, TrendSettings } from './core/policy/memory-trend.js';
export type { ServerStats, TransitionRecord } from './fleet/stats.js';
export type { CallCompleted, CallOutcome, FleetEvent, LeakSuspected, ResourceExceededEvent } from './fleet/events.js';
export type { SubscribeOptions } from './fleet/event-bus.js';
export { DuplicateServerError, UnknownServerError } from './fleet/errors.js';
export { ConnectionError, ConnectionLostError, NotConnectedError } from './core/errors.js';
export type { ErrorKind } from './core/errors.js';
export { CONNECTION_STATES } from './core/states.js';
export type { ConnectionState } from './core/states.js';
export { DEFAULT_SETTINGS } from './core/settings.js';
export type { BackoffSettings, ConnectionSettings, HealthSettings } from './core/settings.js';
export type { EraPolicy, InProcessServer, ProcessParams, ProcessPolicy, ResourceLimits, RestartPolicy, ServerTarget } from './core/target.js';
export type { EraPreference, ProbeKind, ProtocolEra, TransportKind } from './core/session.js';
export type { SpanAttributes, TraceContext, TracedSpan, Tracing } from './core/trace-context.js';
export type { Quality, QualityParts, QualitySample, SampleWindow, Trend } from './core/quality/index.js';
export type { ProcessFacts } from './runtime/process/registry.js';
export type { GroupWatchdog } from './runtime/process/support.js';
export type { LogLine } from './runtime/log-ring.js';
export type { StdioTeardownTimings } from './runtime/transports/stdio.js';
export { loadConfigFile, parseConfig } from './config/load.js';
export type { AuditConfig, ClusterConfig, IgnoredKeys, LogFilesConfig, ParseConfigOptions, Role, ServerDefinition, SupervisorConfig, TokenConfig } from './config/load.js';
export type { RawConfig } from './config/schema.js';
export { ConfigError } from './config/errors.js';
export type { ConfigIssue } from './config/errors.js';
// Types the facade's signatures use: the actors' snapshots and events, and what they are made of.
export type {
  connectionMachine,
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
} from './machines/connection.machine.js';
export type { ConnectionsCommand, ConnectionsInput, ConnectionsLogic, SupervisedConnectionInput } from './machines/connection-hub.js';
export type {
  ConnectionCommand,
  LossWindow,
  PanicChanged,
  PanicStatus,
  Quarantine,
  SupervisedServer,
  supervisorMachine,
  SupervisorContext,
  SupervisorEmitted,
  SupervisorInput,
  SupervisorMachine,
  SupervisorSnapshot,
} from './machines/supervisor.machine.js';
export type { ListKind, McpSession, SessionEvent } from './core/session.js';
export type { SlotRequest } from './core/policy/admission.js';
export type { FlapSettings } from './core/policy/flapping.js';
export type { PanicSettings } from './core/policy/panic.js';
export type { LogListener, LogRing, LogSink } from './runtime/log-ring.js';
export type { TeardownTimings } from './runtime/process/process-group.js';
export type { Env } from './config/load.js';
export type { configSchema } from './config/schema.js';
