/**
 * The service: the HTTP API and dashboard (`createApp`), Prometheus metrics (`createMetrics`),
 * and the whole service as the CLI runs it (`startService`).
 *
 * @example
 * ```ts
 * import { startService } from 'mcp-supervisor/service';
 * const service = await startService({ configPath: 'mcp.json', port: 7411 });
 * console.log(`open ${service.url}/actors`);
 * process.once('SIGTERM', () => void service.close());
 * ```
 *
 * @packageDocumentation
 */
export { DEFAULT_HOST, DEFAULT_PORT, SHUTDOWN_TIMEOUT_MS, startService } from './service.js';
export type { RunningService, ServiceClusterOptions, StartServiceOptions } from './service.js';
export { ClusterNode } from '../fleet/cluster.js';
export { ClusterJoinError } from '../fleet/errors.js';
export { registerServer } from '../fleet/registration.js';
export type { RegisterServerOptions, Registration } from '../fleet/registration.js';
export type { ClusterEvent, ClusterOptions, ClusterStatus } from '../fleet/cluster.js';
export type { EntryOptions, Env } from '../config/load.js';
export { createApp } from '../http/app.js';
export type { App } from '../http/app.js';
export type { AppDeps, ClusterInfo, EventStreamOptions, HttpLimits } from '../http/deps.js';
export { createGatewayHttp } from '../gateway/http.js';
export type { Gateway, GatewayHttpOptions, GatewayRequestOptions } from '../gateway/http.js';
export { GatewayServers } from '../gateway/server.js';
export type { GatewayScope, GatewayServersOptions } from '../gateway/server.js';
export { serveGatewayStdio } from '../gateway/stdio.js';
export type { GatewayStdio, GatewayStdioOptions } from '../gateway/stdio.js';
export { FleetCatalog } from '../fleet/catalog.js';
export type { CatalogEntry, CatalogOptions } from '../fleet/catalog.js';
export type { ConfigPersistence } from '../config/store.js';
export { createMetrics } from '../observe/metrics.js';
export type { CreateMetricsOptions, Metrics, MetricsSource } from '../observe/metrics.js';
export { ServerLogFiles } from '../observe/server-logs.js';
export type { FileLogState, ServerLogFilesOptions } from '../observe/server-logs.js';
export type { LogQuery } from '../observe/log-query.js';
export { FileSink, SinkHealth } from '../observe/file-sink.js';
export type { FileSinkOptions, SinkFile, SinkName, SinkNaming } from '../observe/file-sink.js';
export type { EventHistory, EventSource } from '../observe/event-history.js';
export { AuditTrail } from '../observe/audit.js';
export type { AuditAction, AuditOutcome, AuditQuery, AuditRecord, AuditRecorded, AuditTrailOptions } from '../observe/audit.js';
export type { Principal, TokenSpec } from '../observe/tokens.js';
export { createLogger } from '../observe/logger.js';
export { startTracing, tracingRequested } from '../observe/tracing.js';
export type { StartTracingOptions, TracingSetup } from '../observe/tracing.js';
export { createTracing } from '../observe/tracing-otel.js';
export type { SpanAttributes, TraceContext, TracedSpan, Tracing } from '../core/trace-context.js';
export type { Logger } from '../observe/logger.js';
export { startWatchdog, Watchdog } from '../runtime/process/watchdog.js';
export type { WatchdogOptions } from '../runtime/process/watchdog.js';
// Types the service's signatures use: the supervisor it runs (and what that is made of), the event history it serves.
export type { AuditConfig, ClusterConfig, IgnoredKeys, LogFilesConfig, Role, ServerDefinition, SupervisorConfig, TokenConfig } from '../config/load.js';
export type { ConfigIssue } from '../config/errors.js';
export type { ConnectionError, ErrorKind } from '../core/errors.js';
export type { SlotRequest } from '../core/policy/admission.js';
export type { FlapSettings } from '../core/policy/flapping.js';
export type { PanicSettings } from '../core/policy/panic.js';
export type { Quality, QualityParts, QualitySample, Trend } from '../core/quality/types.js';
export type { SampleWindow } from '../core/quality/window.js';
export type { EraPreference, ListKind, McpSession, ProbeKind, ProtocolEra, SessionEvent, TransportKind } from '../core/session.js';
export type { BackoffSettings, ConnectionSettings, HealthSettings } from '../core/settings.js';
export type { CONNECTION_STATES, ConnectionState } from '../core/states.js';
export type { EraPolicy, InProcessServer, ProcessParams, ProcessPolicy, ResourceLimits, RestartPolicy, ServerTarget } from '../core/target.js';
export type { CallToolOptions } from '../fleet/calls.js';
export type { SubscribeOptions } from '../fleet/event-bus.js';
export type { CallCompleted, CallOutcome, FleetEvent, LeakSuspected, ResourceExceededEvent } from '../fleet/events.js';
export type { ServerStats, TransitionRecord } from '../fleet/stats.js';
export type { CreateSupervisorOptions, ProbeCompleted, Supervisor, SupervisorCallOptions } from '../fleet/supervisor.js';
export type { ActorSummary, ActorView, ProcessView } from '../fleet/views.js';
export type { ResourceFacts } from '../fleet/resource-limits.js';
export type { LimitedResource, OverLimit } from '../core/policy/resource-limits.js';
export type { MemoryTrend, TrendSettings } from '../core/policy/memory-trend.js';
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
  connectionMachine,
  GoodProbeParams,
  LastError,
  ProbeInput,
  ProbeOutcome,
  ProbeResult,
  SessionInput,
  StateChangedMessage,
} from '../machines/connection.machine.js';
export type { ConnectionsCommand, ConnectionsInput, ConnectionsLogic, SupervisedConnectionInput } from '../machines/connection-hub.js';
export type {
  ConnectionCommand,
  LossWindow,
  PanicChanged,
  PanicStatus,
  Quarantine,
  SupervisedServer,
  SupervisorContext,
  SupervisorEmitted,
  SupervisorInput,
  SupervisorMachine,
  supervisorMachine,
  SupervisorSnapshot,
} from '../machines/supervisor.machine.js';
export type { EventHistoryOptions, HistoryGap, Replay, Sequenced, StreamEvent } from '../observe/event-history.js';
export type { LogLine, LogListener, LogRing, LogSink } from '../runtime/log-ring.js';
export type { ProcessExit, TeardownTimings } from '../runtime/process/process-group.js';
export type { ProcessFacts } from '../runtime/process/registry.js';
export type { GroupWatchdog } from '../runtime/process/support.js';
export type { StdioTeardownTimings } from '../runtime/transports/stdio.js';
