import { collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { CONNECTION_STATES } from '../core/states.js';
import { isPanicking } from '../machines/supervisor.machine.js';
import type { CallOutcome, FleetEvent } from '../fleet/events.js';
import type { Supervisor } from '../fleet/supervisor.js';
import type { ActorSummary } from '../fleet/views.js';
import { HISTORY_CAPACITY } from '../fleet/stats.js';
import { ScrapedCounter, ScrapedGauge } from './scraped.js';
import { FleetRegistry } from './fleet-registry.js';
import { SINK_NAMES } from './file-sink.js';
import type { SinkHealth } from './file-sink.js';

const CALL_OUTCOMES: readonly CallOutcome[] = ['ok', 'tool_error', 'protocol_error', 'timeout', 'not_connected', 'connection_lost', 'transport_error'];
/** Outcomes of calls through the MCP gateway: a call's own, or `retried_ok` for one lost in flight, re-sent once, and answered. */
const GATEWAY_OUTCOMES: readonly string[] = [...CALL_OUTCOMES, 'retried_ok'];
/** `from` of a server's very first transition. */
const NO_STATE = 'none';
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Options of {@link createMetrics}; every field has a default. */
export interface CreateMetricsOptions {
  /** Events held for the metrics subscriber before the oldest are dropped (counted in `mcp_metrics_events_dropped_total`); default 10 000. */
  bufferSize?: number;
  /** Node's process metrics (`process_*`, `nodejs_*`); default true. */
  defaultMetrics?: boolean;
  /** In cluster mode, this instance: adds `mcp_cluster_registry_reachable` and `mcp_cluster_servers_held`. */
  cluster?: { readonly status: string; heldIds(): readonly string[] };
  /** The file sinks' health (server log files, audit trail): adds `mcp_log_write_failures_total` and `mcp_log_sink_degraded`. */
  sinks?: SinkHealth;
}

/** A Prometheus text exposition of the fleet. */
export interface MetricsSource {
  /** The `Content-Type` of the exposition (Prometheus text format). */
  contentType: string;
  /** Every metric now, in the text exposition format. */
  render(): Promise<string>;
}

/** The metrics of one supervisor: a {@link MetricsSource} for `/metrics`, and their registry. */
export type Metrics = MetricsSource & {
  /**
   * The prom-client registry holding them (to merge into your own, or to read in tests). Its
   * `metrics()` writes what prom-client's would; a metric read at scrape time gives its last text
   * while none of its series moved. Default labels set on it are copied when set.
   */
  registry: Registry;
  /** Stops listening to the supervisor's events. */
  close(): void;
};

/**
 * Prometheus metrics of one supervisor, in a registry of their own (never prom-client's global
 * one, so several supervisors or apps in one process do not collide).
 *
 * States, reconnect slots, panic and quarantine are read from the supervisor at scrape time, so
 * they are never stale and a removed server's series disappear with it. Transitions, probes,
 * reconnect attempts and tool calls are counted from the event stream from the moment this is
 * created (create it right after the supervisor to count its startup too); a removed server's
 * counter and histogram series are dropped when its `server.removed` event arrives.
 *
 * Series per server are kept few, so a fleet of 10 000 scrapes in well under 100 ms: its state,
 * its facts, quarantine while it lasts, reconnect attempts, process resources, and tool calls
 * once it has had some. Transitions, probes and probe latency are counted for the fleet as a
 * whole (per server, they are on `/actors`).
 *
 * @example
 * ```ts
 * const metrics = createMetrics(supervisor);
 * const app = createApp({ supervisor, metrics });
 * // on shutdown
 * metrics.close();
 * ```
 */
export function createMetrics(supervisor: Supervisor, options: CreateMetricsOptions = {}): Metrics {
  const registry = new FleetRegistry();
  const registers = [registry];
  // The fleet's summaries, read once per scrape and shared by every gauge that reads them: at 10 000
  // servers, reading them once per gauge was most of a scrape's time.
  let scrapeSummaries: ActorSummary[] | undefined;
  const current = (): ActorSummary[] => scrapeSummaries ?? supervisor.summaries();

  // One series per server, for the state it is in (value 1): at 10 000 servers, a series for each
  // of the seven states (0 for the six it is not in) made a scrape 90 000 lines. Fleet totals by
  // state are `mcp_connections`, which always has all seven.
  new ScrapedGauge(
    {
      name: 'mcp_connection_state',
      help: 'The state each connection is in now: one series per server, labelled with its state, always 1.',
      labelNames: ['server', 'state'] as const,
      registers,
    },
    (emit) => {
      for (const { id, state } of current()) emit({ server: id, state }, 1);
    },
  );

  new ScrapedGauge(
    {
      name: 'mcp_connections',
      help: 'Connections in each state now; every state is always present (0 when none).',
      labelNames: ['state'] as const,
      registers,
    },
    (emit) => {
      const counts = new Map<string, number>(CONNECTION_STATES.map((state) => [state, 0]));
      for (const { state } of current()) counts.set(state, (counts.get(state) ?? 0) + 1);
      for (const [state, value] of counts) emit({ state }, value);
    },
  );

  // An info metric (always 1): the labels are the facts, joinable with the state on `server`.
  new ScrapedGauge(
    {
      name: 'mcp_connection_info',
      help: 'Facts about each connection, always 1: its transport, the protocol era it last negotiated (modern, legacy, or none before its first connect), and whether it is required (decides /health).',
      labelNames: ['server', 'transport', 'era', 'required'] as const,
      registers,
    },
    (emit) => {
      for (const { id, transport, era } of current()) emit({ server: id, transport, era: era ?? 'none', required: String(isRequired(supervisor, id)) }, 1);
    },
  );

  new ScrapedGauge(
    {
      name: 'mcp_quarantined',
      help: 'Connections held in reconnecting by flap quarantine right now: one series per quarantined server, always 1; absent when not quarantined.',
      labelNames: ['server'] as const,
      registers,
    },
    (emit) => {
      for (const { id, quarantinedUntil } of current()) if (quarantinedUntil !== null) emit({ server: id }, 1);
    },
  );

  new ScrapedGauge(
    {
      name: 'mcp_process_cpu_ratio',
      help: 'CPU seconds per wall second of the server process group over the last sample (1 = one core).',
      labelNames: ['server'] as const,
      registers,
    },
    (emit) => {
      for (const { id, process } of current()) if (process?.cpuRatio != null) emit({ server: id }, process.cpuRatio);
    },
  );

  new ScrapedGauge(
    {
      name: 'mcp_process_resident_bytes',
      help: 'Resident memory of the server process group at the last sample.',
      labelNames: ['server'] as const,
      registers,
    },
    (emit) => {
      for (const { id, process } of current()) if (process?.rssBytes != null) emit({ server: id }, process.rssBytes);
    },
  );

  new ScrapedCounter(
    {
      name: 'mcp_process_restarts_total',
      help: 'Server processes started for a server after its first one.',
      labelNames: ['server'] as const,
      registers,
    },
    (emit) => {
      for (const { id, process } of current()) if (process) emit({ server: id }, process.restarts);
    },
  );

  // Resource limits (docs/operations.md, resource limits): the limits themselves, so alerts can compare the
  // usage with them (`mcp_process_resident_bytes > on(server) mcp_process_memory_limit_bytes`),
  // present only for servers with that limit; the memory slope and leak verdict; and restarts.
  new ScrapedGauge(
    {
      name: 'mcp_process_memory_limit_bytes',
      help: "The server's configured limit on the resident memory of its process group (limits.maxMemoryBytes); absent without one.",
      labelNames: ['server'] as const,
      registers,
    },
    (emit) => {
      for (const { id, process } of current()) if (process?.limits?.maxMemoryBytes !== undefined) emit({ server: id }, process.limits.maxMemoryBytes);
    },
  );

  new ScrapedGauge(
    {
      name: 'mcp_process_cpu_limit_ratio',
      help: "The server's configured limit on the CPU seconds per wall second of its process group (limits.maxCpuRatio); absent without one.",
      labelNames: ['server'] as const,
      registers,
    },
    (emit) => {
      for (const { id, process } of current()) if (process?.limits?.maxCpuRatio !== undefined) emit({ server: id }, process.limits.maxCpuRatio);
    },
  );

  new ScrapedGauge(
    {
      name: 'mcp_process_memory_growth_bytes_per_second',
      help: 'Least-squares slope of the resident memory of the server process group over the sampling window (bytes per second); absent before enough samples.',
      labelNames: ['server'] as const,
      registers,
    },
    (emit) => {
      for (const { id, process } of current()) if (process?.memoryGrowthBytesPerSecond != null) emit({ server: id }, process.memoryGrowthBytesPerSecond);
    },
  );

  new ScrapedGauge(
    {
      name: 'mcp_process_memory_leak_suspected',
      help: 'Whether the resident memory of the server process group grows steadily (a leak trend: 1) or not (0); absent before enough samples.',
      labelNames: ['server'] as const,
      registers,
    },
    (emit) => {
      for (const { id, process } of current()) if (process?.memoryGrowthBytesPerSecond != null) emit({ server: id }, process.memoryTrend ? 1 : 0);
    },
  );

  new ScrapedCounter(
    {
      name: 'mcp_resource_restarts_total',
      help: 'Restarts of a server because its process group stayed over a resource limit (memory or cpu) for limits.forSeconds; present for servers with limits.',
      labelNames: ['server', 'resource'] as const,
      registers,
    },
    (emit) => {
      for (const { id, process } of current()) {
        if (!process?.resourceRestarts) continue;
        emit({ server: id, resource: 'memory' }, process.resourceRestarts.memory);
        emit({ server: id, resource: 'cpu' }, process.resourceRestarts.cpu);
      }
    },
  );

  new Gauge({
    name: 'mcp_reconnect_slots_in_use',
    help: 'Reconnect slots held right now (connections admitted to connecting); never above the configured cap.',
    registers,
    collect() {
      this.set(supervisor.snapshot.context.inFlight.length);
    },
  });

  new Gauge({
    name: 'mcp_panic_active',
    help: 'Whether panic mode (too much of the fleet lost at once, reconnects slowed down) is active (1) or not (0).',
    registers,
    collect() {
      this.set(isPanicking(supervisor.snapshot) ? 1 : 0);
    },
  });

  const { sinks } = options;
  if (sinks) {
    new ScrapedCounter(
      {
        name: 'mcp_log_write_failures_total',
        help: 'Failed writes, opens or rotations of log files (sink: server_logs, audit); each degrades the sink to memory only until it can write again.',
        labelNames: ['sink'] as const,
        registers,
      },
      (emit) => {
        for (const sink of SINK_NAMES) emit({ sink }, sinks.failures(sink));
      },
    );
    new ScrapedGauge(
      {
        name: 'mcp_log_sink_degraded',
        help: 'Whether a log file sink (server_logs: any server of it; audit) cannot write its files now (1) and keeps lines in memory only, or writes them (0).',
        labelNames: ['sink'] as const,
        registers,
      },
      (emit) => {
        for (const sink of SINK_NAMES) emit({ sink }, sinks.degraded(sink) ? 1 : 0);
      },
    );
  }

  const { cluster } = options;
  if (cluster) {
    new Gauge({
      name: 'mcp_cluster_registry_reachable',
      help: 'Whether this instance is a member of its cluster with etcd answering (1), or not (0: joining, or etcd unreachable and it keeps what it holds).',
      registers,
      collect() {
        this.set(cluster.status === 'member' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'mcp_cluster_servers_held',
      help: 'Servers this cluster instance supervises (holds the owner key of) now.',
      registers,
      collect() {
        this.set(cluster.heldIds().length);
      },
    });
  }

  const transitions = new Counter({
    name: 'mcp_transitions_total',
    help: `State transitions of the fleet's connections; from="${NO_STATE}" for a server's first one.`,
    labelNames: ['from', 'to'] as const,
    registers,
  });

  const reconnects = new Counter({
    name: 'mcp_reconnect_attempts_total',
    help: "Reconnect attempts: every transition into connecting except a server's very first one (operator start/reconnect commands included).",
    labelNames: ['server'] as const,
    registers,
  });

  // Per server, created at a server's first zombie: a zombie lasts only as long as its teardown
  // (about a second), too short for a scrape to catch in `mcp_connection_state`, so alerts count these.
  const zombies = new Counter({
    name: 'mcp_zombies_total',
    help: 'Times each server was found a zombie (probes missed in a row while its transport stayed up) and torn down; present from its first one.',
    labelNames: ['server'] as const,
    registers,
  });

  const probeDuration = new Histogram({
    name: 'mcp_probe_duration_seconds',
    help: "Latency of the fleet's health probes that got an answer (fast or slow).",
    buckets: LATENCY_BUCKETS,
    registers,
  });

  const probes = new Counter({
    name: 'mcp_probes_total',
    help: "The fleet's health probes by outcome (fast, slow, missed, closed, session-expired, method-not-found).",
    labelNames: ['outcome'] as const,
    registers,
  });

  const toolCalls = new Counter({
    name: 'mcp_tool_calls_total',
    help: 'Tool calls made through the supervisor, by outcome (ok, tool_error, protocol_error, timeout, not_connected, connection_lost, transport_error).',
    labelNames: ['server', 'outcome'] as const,
    registers,
  });

  const toolCallDuration = new Histogram({
    name: 'mcp_tool_call_duration_seconds',
    help: 'Duration of tool calls made through the supervisor, whatever their outcome.',
    labelNames: ['server'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });

  // Per server, from its first call through /mcp (or serve-stdio); REST calls are not counted here.
  const gatewayCalls = new Counter({
    name: 'mcp_gateway_calls_total',
    help: 'Tool calls that came through the MCP gateway (/mcp, serve-stdio), by outcome: a tool call outcome, or retried_ok (lost in flight, re-sent once, answered).',
    labelNames: ['server', 'outcome'] as const,
    registers,
  });

  const dropped = new Counter({
    name: 'mcp_metrics_events_dropped_total',
    help: 'Fleet events the metrics could not keep up with and did not count.',
    registers,
  });

  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  /**
   * When each server first entered `connecting`. Seeded from the supervisor's own history so a
   * late `createMetrics` does not take a reconnect for a first connect; an event with the same
   * time as the seed is that first connect delivered late (the supervisor's startup backlog).
   */
  const firstConnectAt = new Map<string, number>();
  for (const id of supervisor.ids()) {
    const history = supervisor.statsOf(id).history;
    const first = history.find((record) => record.to === 'connecting');
    if (first) firstConnectAt.set(id, history.length >= HISTORY_CAPACITY ? Number.NEGATIVE_INFINITY : first.at);
  }

  const forget = (server: string): void => {
    firstConnectAt.delete(server);
    reconnects.remove({ server });
    zombies.remove({ server });
    toolCallDuration.remove({ server });
    for (const outcome of CALL_OUTCOMES) toolCalls.remove({ server, outcome });
    for (const outcome of GATEWAY_OUTCOMES) gatewayCalls.remove({ server, outcome });
  };

  const onEvent = (event: FleetEvent): void => {
    switch (event.type) {
      case 'state.changed': {
        transitions.inc({ from: event.from ?? NO_STATE, to: event.to });
        if (event.to === 'zombie') zombies.inc({ server: event.id });
        if (event.to !== 'connecting') return;
        const first = firstConnectAt.get(event.id);
        if (first === undefined) firstConnectAt.set(event.id, event.at);
        else if (event.at !== first) reconnects.inc({ server: event.id });
        return;
      }
      case 'probe.completed':
        probes.inc({ outcome: event.outcome });
        if (event.latencyMs !== undefined) probeDuration.observe(event.latencyMs / 1_000);
        return;
      case 'call.completed':
        toolCalls.inc({ server: event.id, outcome: event.outcome });
        toolCallDuration.observe({ server: event.id }, event.latencyMs / 1_000);
        if (event.via === 'mcp') gatewayCalls.inc({ server: event.id, outcome: event.retried && event.outcome === 'ok' ? 'retried_ok' : event.outcome });
        return;
      case 'server.removed':
        forget(event.id);
        return;
      default:
        return;
    }
  };

  const unsubscribe = supervisor.subscribe(onEvent, {
    bufferSize: options.bufferSize ?? 10_000,
    onOverflow: (count) => dropped.inc(count),
  });

  return {
    registry,
    contentType: registry.contentType,
    render: async () => {
      scrapeSummaries = supervisor.summaries();
      try {
        return await registry.metrics();
      } finally {
        scrapeSummaries = undefined;
      }
    },
    close: unsubscribe,
  };
}

/** Whether a server decides `/health` (as `/health` reads it: unknown, e.g. removed mid-scrape, counts as required). */
function isRequired(supervisor: Supervisor, id: string): boolean {
  try {
    return supervisor.definition(id).required;
  } catch {
    return true;
  }
}
