import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CONNECTION_STATES } from '../core/states.js';
import { isPanicking } from '../machines/supervisor.machine.js';
import type { CallOutcome, FleetEvent } from '../fleet/events.js';
import type { Supervisor } from '../fleet/supervisor.js';
import type { ActorView } from '../fleet/views.js';
import { HISTORY_CAPACITY } from '../fleet/stats.js';
import { ScrapedCounter, ScrapedGauge } from './scraped.js';

const CALL_OUTCOMES: readonly CallOutcome[] = ['ok', 'tool_error', 'protocol_error', 'timeout', 'not_connected', 'connection_lost', 'transport_error'];
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
  /** The prom-client registry holding them (to merge into your own, or to read in tests). */
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
  const registry = new Registry();
  const registers = [registry];
  // The fleet's views, read once per scrape and shared by every gauge that reads them: at 10 000
  // servers, reading them once per gauge was most of a scrape's time.
  let scrapeViews: ActorView[] | undefined;
  const current = (): ActorView[] => scrapeViews ?? views(supervisor);

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
    function* () {
      for (const { id, state } of current()) yield { labels: { server: id, state }, value: 1 };
    },
  );

  new ScrapedGauge(
    {
      name: 'mcp_connections',
      help: 'Connections in each state now; every state is always present (0 when none).',
      labelNames: ['state'] as const,
      registers,
    },
    function* () {
      const counts = new Map<string, number>(CONNECTION_STATES.map((state) => [state, 0]));
      for (const { state } of current()) counts.set(state, (counts.get(state) ?? 0) + 1);
      for (const [state, value] of counts) yield { labels: { state }, value };
    },
  );

  // An info metric (always 1): the labels are the facts, joinable with the state on `server`.
  new ScrapedGauge(
    {
      name: 'mcp_connection_info',
      help: 'Facts about each connection, always 1: its transport and the protocol era it last negotiated (modern, legacy, or none before its first connect).',
      labelNames: ['server', 'transport', 'era'] as const,
      registers,
    },
    function* () {
      for (const { id, transport, era } of current()) yield { labels: { server: id, transport, era: era ?? 'none' }, value: 1 };
    },
  );

  new ScrapedGauge(
    {
      name: 'mcp_quarantined',
      help: 'Connections held in reconnecting by flap quarantine right now: one series per quarantined server, always 1; absent when not quarantined.',
      labelNames: ['server'] as const,
      registers,
    },
    function* () {
      for (const { id, quarantinedUntil } of current()) if (quarantinedUntil !== null) yield { labels: { server: id }, value: 1 };
    },
  );

  new ScrapedGauge(
    {
      name: 'mcp_process_cpu_ratio',
      help: 'CPU seconds per wall second of the server process group over the last sample (1 = one core).',
      labelNames: ['server'] as const,
      registers,
    },
    function* () {
      for (const { id, process } of current()) if (process?.cpuRatio != null) yield { labels: { server: id }, value: process.cpuRatio };
    },
  );

  new ScrapedGauge(
    {
      name: 'mcp_process_resident_bytes',
      help: 'Resident memory of the server process group at the last sample.',
      labelNames: ['server'] as const,
      registers,
    },
    function* () {
      for (const { id, process } of current()) if (process?.rssBytes != null) yield { labels: { server: id }, value: process.rssBytes };
    },
  );

  new ScrapedCounter(
    {
      name: 'mcp_process_restarts_total',
      help: 'Server processes started for a server after its first one.',
      labelNames: ['server'] as const,
      registers,
    },
    function* () {
      for (const { id, process } of current()) if (process) yield { labels: { server: id }, value: process.restarts };
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
    toolCallDuration.remove({ server });
    for (const outcome of CALL_OUTCOMES) toolCalls.remove({ server, outcome });
  };

  const onEvent = (event: FleetEvent): void => {
    switch (event.type) {
      case 'state.changed': {
        transitions.inc({ from: event.from ?? NO_STATE, to: event.to });
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
      scrapeViews = views(supervisor);
      try {
        return await registry.metrics();
      } finally {
        scrapeViews = undefined;
      }
    },
    close: unsubscribe,
  };
}

/** Every supervised server's view (disabled servers have no connection to measure). */
function views(supervisor: Supervisor): ActorView[] {
  return supervisor.views().filter((view) => view.disabled !== true);
}
