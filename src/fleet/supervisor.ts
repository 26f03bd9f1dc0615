import { performance } from 'node:perf_hooks';
import { createActor, waitFor } from 'xstate';
import type { Actor, InspectionEvent, Observer } from 'xstate';
import type { CallToolResult, GetPromptResult, Prompt, ReadResourceResult, Resource, ResourceTemplateType as ResourceTemplate, Tool } from '@modelcontextprotocol/client';
import { ConnectionError, NotConnectedError } from '../core/errors.js';
import type { FlapSettings } from '../core/policy/flapping.js';
import type { PanicSettings } from '../core/policy/panic.js';
import type { ConnectionState } from '../core/states.js';
import { roundMs } from '../core/round.js';
import { connectionStateOf } from '../machines/connection.machine.js';
import type { ConnectionActorRef, ConnectionEmitted, ConnectionSnapshot } from '../machines/connection.machine.js';
import { isolatedConnections } from '../machines/isolated-connection.js';
import { supervisorMachine } from '../machines/supervisor.machine.js';
import type { ConnectionCommand, SupervisedServer, SupervisorEmitted, SupervisorMachine, SupervisorSnapshot } from '../machines/supervisor.machine.js';
import { createConnectionLogic } from '../runtime/connection-logic.js';
import { LogRing } from '../runtime/log-ring.js';
import type { LogLine, LogSink } from '../runtime/log-ring.js';
import { killProcessGroup } from '../runtime/process/process-group.js';
import { ProcessRegistry } from '../runtime/process/registry.js';
import { PendingTeardowns } from '../runtime/teardowns.js';
import type { GroupWatchdog } from '../runtime/process/support.js';
import type { StdioTeardownTimings } from '../runtime/transports/stdio.js';
import { parseConfig } from '../config/load.js';
import type { ServerDefinition, SupervisorConfig } from '../config/load.js';
import type { RawConfig } from '../config/schema.js';
import { ConnectionCalls } from './calls.js';
import { ListChanges } from './list-changes.js';
import type { ListKind } from '../core/session.js';
import type { CallToolOptions } from './calls.js';
import { DuplicateServerError, UnknownServerError } from './errors.js';
import { EventBus } from './event-bus.js';
import type { SubscribeOptions } from './event-bus.js';
import type { CallCompleted, CallOutcome, FleetEvent } from './events.js';
import { callOutcomeOf } from './call-outcome.js';
import type { Tracing } from '../core/trace-context.js';
import { DEFAULT_PROCESS_SAMPLE_INTERVAL_MS, ProcessSampling } from './process-sampling.js';
import { ResourceWatch } from './resource-limits.js';
import type { ResourceRestart } from './resource-limits.js';
import type { TrendSettings } from '../core/policy/memory-trend.js';
import type { ProcessView } from './views.js';
import { StatsBook } from './stats.js';
import type { ServerStats } from './stats.js';
import { disabledViewOf, summaryOf, viewOf, ViewTexts } from './views.js';
import type { ActorSummary, ActorView } from './views.js';

/** Options of `createSupervisor`; every field has a default. */
export interface CreateSupervisorOptions {
  /** Forwarded to `createActor` (e.g. `@statelyai/inspect`'s `inspector.inspect`). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Flap quarantine: deaths allowed in a window, and the quarantine lengths. */
  flap?: Partial<FlapSettings>;
  /** Panic mode: how much of the fleet lost how fast, and the admission cap while it lasts. */
  panic?: Partial<PanicSettings>;
  /** Reconnect slots only the top priority class may use; default 1 in 4. */
  reservedForTop?: number;
  /** How long a stdio server gets after stdin closes, and after SIGTERM. */
  stdioTeardown?: StdioTeardownTimings;
  /** Ends every server process group if this process dies hard (see `startWatchdog`). */
  watchdog?: GroupWatchdog;
  /** How often server processes' CPU and memory are read from /proc; 0 turns sampling off. */
  processSampleIntervalMs?: number;
  /**
   * Where the spans of connects, probes and tool calls go (`startTracing` of
   * `mcp-supervisor/service`, or `createTracing` around your own tracer); default none: nothing
   * is traced and nothing is spent on it.
   */
  tracing?: Tracing;
  /** When growing memory is reported as a leak trend (window, minimum samples, fit, growth); see docs/operations.md, "Resource limits". */
  memoryTrend?: Partial<TrendSettings>;
  /**
   * Where every server's output also goes besides its in-memory ring, e.g. rotating files
   * (`ServerLogFiles` of `mcp-supervisor/service`); default none.
   */
  logSink?: LogSink;
}

function toSupervised(definition: ServerDefinition): SupervisedServer {
  return {
    id: definition.id,
    transport: definition.target.type,
    target: definition.target,
    settings: definition.settings,
    priority: definition.priority,
    dependsOn: definition.dependsOn,
  };
}

/**
 * A running fleet: one connection actor per server under one supervisor actor that admits
 * reconnections under a concurrency cap, by priority and dependencies, quarantines flapping
 * servers and slows down in a panic. Every transition, probe, admission, quarantine and panic
 * is a fleet event ({@link Supervisor.subscribe}).
 *
 * @example
 * ```ts
 * const supervisor = createSupervisor({ mcpServers: { files: { command: 'node', args: ['server.mjs'] } } });
 * supervisor.subscribe((event) => console.log(event));
 * await supervisor.ready('files');
 * await supervisor.callTool('files', 'echo', { message: 'hi' });
 * await supervisor.stop();
 * ```
 */
export class Supervisor {
  /**
   * The supervisor actor. Its one child, `connections`, holds the connection actors, which run
   * in small actor systems apart (`isolatedConnections`) and report to it directly; reach a
   * connection actor with {@link Supervisor.connection}.
   */
  readonly actor: Actor<SupervisorMachine>;
  /** The running connection actors, by server id. */
  private readonly connections = new Map<string, ConnectionActorRef>();
  /** Every fleet event; read it through {@link Supervisor.subscribe}. */
  private readonly events = new EventBus<FleetEvent>();
  /** Facts about each server's processes across restarts. */
  private readonly processes = new ProcessRegistry();
  private readonly stderr = new Map<string, LogRing>();
  private readonly logSink: LogSink | undefined;
  private readonly calls = new Map<string, ConnectionCalls>();
  /** Where tool calls' spans go (connects and probes: the connection logic's option). */
  private readonly tracing: Tracing | undefined;
  /** Every server's definition, in config order (then the order of `add`), disabled ones included. */
  private readonly definitions = new Map<string, ServerDefinition>();
  /** The ids of {@link Supervisor.definitions} in id order, made when first asked for after `define`/`undefine`. */
  private idOrder: string[] | undefined;
  /**
   * Disabled servers, by id, with the time each became part of the fleet. They have no actor
   * (the supervisor machine spawns a connection for every server it is given); their view is
   * made here, `stopped`, and `enable` hands them to the machine.
   */
  private readonly disabled = new Map<string, number>();
  /** The views' texts last written, so listing the fleet again serializes only connections that moved. */
  private readonly viewTexts = new ViewTexts();
  private readonly stats = new StatsBook();
  private readonly toolCache = new Map<string, { tools: Tool[]; at: number }>();
  /** Every server's own list-changed notices, relayed from its serving session. */
  private readonly listChanges = new ListChanges(
    () => this.ids(),
    (id) => {
      const ref = this.connections.get(id);
      if (!ref) return undefined;
      const state = connectionStateOf(ref.getSnapshot());
      return state === 'healthy' || state === 'degraded' ? ref.getSnapshot().context.session : undefined;
    },
  );
  /** Resource limits and the leak-trend detector, fed by the sampler. */
  private readonly resources: ResourceWatch;
  private readonly sampling = new ProcessSampling(this.processes, (id, pid, reading) => this.resources.observe(id, pid, reading));
  private readonly teardowns = new PendingTeardowns();
  /**
   * Events emitted while the actor starts (first transitions and admissions) are held for one
   * microtask, so a subscriber added right after `createSupervisor` returns sees them too.
   */
  private startupBacklog: FleetEvent[] | undefined = [];

  /** Prefer `createSupervisor`, which also accepts a raw config object. */
  constructor(config: SupervisorConfig, options: CreateSupervisorOptions = {}) {
    this.resources = new ResourceWatch(
      {
        limitsOf: (id) => {
          const target = this.definitions.get(id)?.target;
          return target && 'limits' in target ? target.limits : undefined;
        },
        restart: (restart) => this.restartForResource(restart),
        trendStarted: (id, pid, trend) => this.publish({ type: 'leak.suspected', id, pid, ...trend, at: Date.now() }),
      },
      options.memoryTrend,
    );
    this.logSink = options.logSink;
    this.tracing = options.tracing;
    for (const definition of config.servers) {
      this.definitions.set(definition.id, definition);
      if (definition.disabled) this.disabled.set(definition.id, Date.now());
    }
    const logic = supervisorMachine.provide({
      actors: {
        connections: isolatedConnections(
          createConnectionLogic({
            stderrOf: (id) => this.stderrOf(id),
            stdioTeardown: options.stdioTeardown,
            processSupportOf: (id) => ({ observer: this.processes.observerFor(id), watchdog: options.watchdog }),
            teardowns: this.teardowns,
            tracing: options.tracing,
          }),
          {
            ...(options.inspect ? { inspect: options.inspect } : {}),
            onCreated: (id, connection) => this.connections.set(id, connection),
            onStopped: (id, connection) => {
              if (this.connections.get(id) === connection) this.connections.delete(id);
            },
          },
        ),
      },
    });
    this.actor = createActor(logic, {
      inspect: options.inspect,
      input: {
        servers: config.servers.filter((server) => !server.disabled).map(toSupervised),
        maxConcurrentReconnects: config.maxConcurrentReconnects,
        reservedForTop: options.reservedForTop,
        flap: options.flap,
        panic: options.panic,
      },
    });
    this.actor.on('*', (event) => this.onEmitted(event));
    this.actor.start();
    this.sampling.start(options.processSampleIntervalMs ?? DEFAULT_PROCESS_SAMPLE_INTERVAL_MS);
    queueMicrotask(() => {
      const backlog = this.startupBacklog ?? [];
      this.startupBacklog = undefined;
      for (const event of backlog) this.events.publish(event);
    });
  }

  /** The supervisor actor's current snapshot. */
  get snapshot(): SupervisorSnapshot {
    return this.actor.getSnapshot();
  }

  /** Every supervised server's id; disabled servers are not supervised ({@link Supervisor.disabledIds}). */
  ids(): string[] {
    return Object.keys(this.snapshot.context.servers);
  }

  /** The ids of the disabled servers: in the fleet, `stopped`, never started until enabled. */
  disabledIds(): string[] {
    return [...this.disabled.keys()];
  }

  /** Every server's id, supervised or disabled, in id order (code unit order, as `GET /actors` pages). */
  idsInOrder(): readonly string[] {
    // The default sort compares UTF-16 code units, the order `<` gives strings and pages follow.
    this.idOrder ??= [...this.definitions.keys()].sort();
    return this.idOrder;
  }

  /** Whether a server of this id is in the fleet, supervised or disabled. */
  has(id: string): boolean {
    return this.definitions.has(id);
  }

  /** Whether the server is disabled (in the fleet, not started); throws `UnknownServerError`. */
  isDisabled(id: string): boolean {
    this.known(id);
    return this.disabled.has(id);
  }

  /**
   * The connection actor of one server (`systemId` = server id); throws `UnknownServerError`,
   * also for a disabled server, which has none.
   */
  connection(id: string): ConnectionActorRef {
    const ref = this.served(id, this.snapshot.context);
    if (!ref) throw new UnknownServerError(id);
    return ref;
  }

  /** The server's connection actor while the supervisor serves it (not disabled, not being removed). */
  private served(id: string, context: SupervisorSnapshot['context']): ConnectionActorRef | undefined {
    const ref = this.connections.get(id);
    return ref && Object.hasOwn(context.servers, id) ? ref : undefined;
  }

  /** The server's connection state now (`stopped` for a disabled server). */
  state(id: string): ConnectionState {
    if (this.isDisabled(id)) return 'stopped';
    return connectionStateOf(this.connection(id).getSnapshot());
  }

  /** What one server looks like from outside; a disabled one is `stopped` with `disabled: true`. */
  view(id: string): ActorView {
    const since = this.disabled.get(id);
    if (since !== undefined) return disabledViewOf(this.definition(id), since);
    return viewOf(id, this.connection(id).getSnapshot(), this.snapshot.context, this.processFacts(id));
  }

  /**
   * {@link Supervisor.view} of every server, disabled ones included, in config order. A server
   * whose removal is finishing (its actor already gone) is left out.
   */
  views(): ActorView[] {
    return this.viewsOf([...this.definitions.keys()]);
  }

  /** The views of these servers, in this order; an id not in the fleet (or being removed) is left out. */
  viewsOf(ids: Iterable<string>): ActorView[] {
    return this.readViews(ids, (view) => view, viewOf);
  }

  /**
   * The JSON text of each of these servers' views ({@link Supervisor.viewsOf}, as `JSON.stringify`
   * writes them), in this order. Kept per connection snapshot: listing a fleet of thousands again
   * serializes only the connections that moved since (about 0.4 KiB per connection kept).
   */
  viewTextsOf(ids: Iterable<string>): string[] {
    return this.readViews(ids, (view) => JSON.stringify(view), (id, snapshot, context, process, now) => this.viewTexts.textOf(id, snapshot, context, process, now));
  }

  /** Reads these servers in order: a disabled one through `disabled`, a served one through `served`. */
  private readViews<T>(
    ids: Iterable<string>,
    disabled: (view: ActorView) => T,
    served: (id: string, snapshot: ConnectionSnapshot, context: SupervisorSnapshot['context'], process: ProcessView | undefined, now: number) => T,
  ): T[] {
    const context = this.snapshot.context;
    const now = Date.now();
    const read: T[] = [];
    for (const id of ids) {
      const definition = this.definitions.get(id);
      if (!definition) continue;
      const since = this.disabled.get(id);
      if (since !== undefined) {
        read.push(disabled(disabledViewOf(definition, since)));
        continue;
      }
      const ref = this.served(id, context);
      if (ref) read.push(served(id, ref.getSnapshot(), context, this.processFacts(id, now), now));
    }
    return read;
  }

  /**
   * The {@link ActorSummary} of every server that has a connection, in config order: the light read
   * of the fleet a metrics scrape makes. Disabled servers (which have no connection) are left out,
   * and so is a server whose removal is finishing (its actor already gone), as in {@link Supervisor.views}.
   */
  summaries(): ActorSummary[] {
    const context = this.snapshot.context;
    const now = Date.now();
    const summaries: ActorSummary[] = [];
    for (const id of this.definitions.keys()) {
      if (this.disabled.has(id)) continue;
      const ref = this.served(id, context);
      if (ref) summaries.push(summaryOf(id, ref.getSnapshot(), context, this.processFacts(id, now), now));
    }
    return summaries;
  }

  /** Resolves when the server's connection is `healthy`; rejects after `timeoutMs`. */
  async ready(id: string, timeoutMs = 30_000): Promise<void> {
    if (this.isDisabled(id)) throw new NotConnectedError(id, 'stopped');
    await waitFor(this.connection(id), (snapshot) => connectionStateOf(snapshot) === 'healthy', { timeout: timeoutMs });
  }

  /**
   * Resolves when the server is serving (`healthy` or `degraded`), or after `timeoutMs` without
   * complaint: callers go on to find out what state it is in (gRPC's wait-for-ready).
   */
  async whenServing(id: string, timeoutMs: number): Promise<void> {
    if (this.isDisabled(id)) return;
    const serving = (state: ConnectionState): boolean => state === 'healthy' || state === 'degraded';
    try {
      await waitFor(this.connection(id), (snapshot) => serving(connectionStateOf(snapshot)), { timeout: timeoutMs });
    } catch {
      // Not serving in time: the caller's next step reports the state it is in.
    }
  }

  /**
   * Calls a tool on one server. Throws `NotConnectedError` when the server is not serving,
   * `ConnectionLostError` when the connection is lost during the call, `ConnectionError`
   * (`timeout`, protocol errors) otherwise; a result with `isError` is returned, not thrown.
   */
  async callTool(id: string, name: string, args: Record<string, unknown> = {}, options?: SupervisorCallOptions): Promise<CallToolResult> {
    const calls = this.callsOf(id);
    const started = performance.now();
    let outcome: CallOutcome = 'ok';
    try {
      const result = await calls.callTool(name, args, options);
      if (result.isError) outcome = 'tool_error';
      return result;
    } catch (error) {
      outcome = callOutcomeOf(error);
      throw error;
    } finally {
      if (options?.publish !== false) this.publish({ type: 'call.completed', id, tool: name, outcome, latencyMs: roundMs(performance.now() - started), at: Date.now() });
    }
  }

  /**
   * Publishes `call.completed` for a call whose caller reports it itself (`rideCall`: one event
   * per call, its waits and a re-send included, refusals too). A server no longer in the fleet is
   * not reported: its series are gone.
   */
  recordCall(call: Omit<CallCompleted, 'type' | 'at'>): void {
    if (!this.definitions.has(call.id)) return;
    this.publish({ type: 'call.completed', ...call, at: Date.now() });
  }

  /** Lists the server's tools now (all pages) and caches them for {@link Supervisor.cachedTools}. */
  async listTools(id: string, options?: CallToolOptions): Promise<Tool[]> {
    const tools = await this.callsOf(id).listTools(options);
    this.toolCache.set(id, { tools, at: Date.now() });
    return tools;
  }

  /**
   * A server's own list-changed notices, for every server: the supervisor subscribes each new
   * session. Told synchronously, as the notice arrives; returns the unsubscribe function.
   */
  onListChanged(listener: (id: string, kind: ListKind) => void): () => void {
    return this.listChanges.subscribe(listener);
  }

  /** Lists the server's prompts now (all pages); empty when it offers none. `NotConnectedError` when not serving. */
  listPrompts(id: string, options?: CallToolOptions): Promise<Prompt[]> {
    return this.callsOf(id).listPrompts(options);
  }

  /** Gets one prompt of the server; errors as {@link Supervisor.callTool}. */
  getPrompt(id: string, name: string, args?: Record<string, string>, options?: CallToolOptions): Promise<GetPromptResult> {
    return this.callsOf(id).getPrompt(name, args, options);
  }

  /** Lists the server's resources now (all pages); empty when it offers none. `NotConnectedError` when not serving. */
  listResources(id: string, options?: CallToolOptions): Promise<Resource[]> {
    return this.callsOf(id).listResources(options);
  }

  /** Lists the server's resource templates now (all pages); empty when it offers none. `NotConnectedError` when not serving. */
  listResourceTemplates(id: string, options?: CallToolOptions): Promise<ResourceTemplate[]> {
    return this.callsOf(id).listResourceTemplates(options);
  }

  /** Reads one resource of the server; errors as {@link Supervisor.callTool}. */
  readResource(id: string, uri: string, options?: CallToolOptions): Promise<ReadResourceResult> {
    return this.callsOf(id).readResource(uri, options);
  }

  /** The last listing of this server's tools, if any since it last connected. */
  cachedTools(id: string): { tools: Tool[]; at: number } | undefined {
    this.known(id);
    return this.toolCache.get(id);
  }

  /** Runs one health check now and resolves with its outcome; `NotConnectedError` when not serving. */
  async probe(id: string): Promise<ProbeCompleted> {
    if (this.isDisabled(id)) throw new NotConnectedError(id, 'stopped');
    const ref = this.connection(id);
    const state = connectionStateOf(ref.getSnapshot());
    if (state !== 'healthy' && state !== 'degraded') throw new NotConnectedError(id, state);
    const { pingTimeoutMs } = ref.getSnapshot().context.settings;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        subscription.unsubscribe();
        reject(new ConnectionError('timeout', `no probe result from "${id}" within ${pingTimeoutMs + 1_000} ms`));
      }, pingTimeoutMs + 1_000);
      const subscription = this.actor.on('probe.completed', (event) => {
        if (event.id !== id) return;
        clearTimeout(timer);
        subscription.unsubscribe();
        resolve(event);
      });
      this.actor.send({ type: 'connection.command', id, command: 'probe' });
    });
  }

  /** The server's definition as configured (secrets included: never show it as is). */
  definition(id: string): ServerDefinition {
    const definition = this.definitions.get(id);
    if (!definition) throw new UnknownServerError(id);
    return definition;
  }

  /** Error count, last probe time and recent transitions of one server. */
  statsOf(id: string): ServerStats {
    this.known(id);
    return this.stats.of(id);
  }

  /** The bounded log of one server's process (stderr, and stdout of launched HTTP servers). */
  logRing(id: string): LogRing {
    this.known(id);
    return this.stderrOf(id);
  }

  /** The last lines the server's process wrote. */
  logs(id: string, lines = 100): LogLine[] {
    this.known(id);
    return this.stderrOf(id).tail(lines);
  }

  /**
   * Sends an operator command (`start`, `stop`, `reconnect`, `probe`) to one connection. On a
   * disabled server, `start` and `reconnect` enable it ({@link Supervisor.enable}); `stop` and
   * `probe` do nothing.
   */
  command(id: string, command: ConnectionCommand): void {
    if (this.isDisabled(id)) {
      if (command === 'start' || command === 'reconnect') this.enable(id);
      return;
    }
    this.connection(id);
    if (command !== 'probe') this.stats.commandSent(id);
    this.actor.send({ type: 'connection.command', id, command });
  }

  /** Reconnects the server with a fresh session (and process), or starts it when stopped (or disabled). */
  restart(id: string): void {
    if (this.isDisabled(id)) return this.enable(id);
    this.connection(id);
    this.stats.commandSent(id);
    this.actor.send({ type: 'server.restart', id });
  }

  /**
   * Starts supervising one more server, or keeps a disabled one (`stopped`, not started);
   * `DuplicateServerError` when the id is taken.
   */
  add(definition: ServerDefinition): void {
    const { id } = definition;
    if (this.definitions.has(id) || Object.hasOwn(this.snapshot.context.servers, id)) throw new DuplicateServerError(id);
    this.define(definition);
    if (definition.disabled) {
      const at = Date.now();
      this.disabled.set(id, at);
      this.publish({ type: 'server.added', id, at });
      return;
    }
    this.actor.send({ type: 'server.add', server: toSupervised(definition) });
    if (!Object.hasOwn(this.snapshot.context.servers, id)) {
      this.undefine(id);
      throw new Error(`the supervisor actor did not take server "${id}"`);
    }
  }

  /** Starts a disabled server: from now on it is supervised like any other. No-op if it is not disabled. */
  enable(id: string): void {
    const definition = this.definition(id);
    if (!this.disabled.delete(id)) return;
    const enabled = { ...definition, disabled: false };
    this.definitions.set(id, enabled);
    this.actor.send({ type: 'server.add', server: toSupervised(enabled) });
    if (!Object.hasOwn(this.snapshot.context.servers, id)) {
      this.definitions.set(id, definition);
      this.disabled.set(id, Date.now());
      throw new Error(`the supervisor actor did not take server "${id}"`);
    }
  }

  /**
   * Ends the server's process group at once (SIGKILL), without the graceful teardown: for when
   * another instance may already run the same server (a fenced cluster member). Its connection
   * sees the process exit as it would any other. Nothing for servers without a process.
   */
  killProcesses(id: string): void {
    for (const pid of this.processGroupsOf(id)) killProcessGroup(pid);
  }

  /** The process groups the server's processes lead now (its process, for stdio and launched HTTP servers). */
  processGroupsOf(id: string): number[] {
    return this.processes.running().flatMap((running) => (running.id === id ? [running.pid] : []));
  }

  /** Stops the server's connection, closes its transport (reaping any process) and forgets it. */
  async remove(id: string, timeoutMs = 15_000): Promise<void> {
    if (this.isDisabled(id)) {
      this.disabled.delete(id);
      this.undefine(id);
      this.forgetRing(id);
      this.publish({ type: 'server.removed', id, at: Date.now() });
      return;
    }
    this.connection(id);
    this.actor.send({ type: 'server.remove', id });
    await waitFor(this.actor, (snapshot) => !Object.hasOwn(snapshot.context.servers, id), { timeout: timeoutMs });
    this.calls.get(id)?.dispose();
    this.calls.delete(id);
    this.forgetRing(id);
    this.undefine(id);
    this.processes.forget(id);
    this.resources.forget(id);
    this.stats.forget(id);
    this.toolCache.delete(id);
    this.listChanges.forget(id);
  }

  /** Stops admitting, stops every connection, waits for every transport to close, stops the actor. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.actor.getSnapshot().status !== 'active') return;
    const deadline = Date.now() + timeoutMs;
    this.actor.send({ type: 'shutdown' });
    const refs = this.ids().map((id) => this.connection(id));
    await Promise.all(
      refs.map((ref) =>
        waitFor(ref, (snapshot) => snapshot.matches('stopped') && snapshot.context.session === undefined, { timeout: timeoutMs }),
      ),
    );
    // Attempts cut short by the stop close their processes in the background: wait for those too.
    await this.teardowns.settled(Math.max(0, deadline - Date.now()));
    for (const calls of this.calls.values()) calls.dispose();
    this.sampling.stop();
    this.actor.stop();
  }

  /** Reads CPU and memory of every running server process group now (also done on a timer). */
  sampleProcesses(now = Date.now()): void {
    this.sampling.sample(now);
  }

  /**
   * Calls `listener` with every fleet event, in order, on a later turn of the event loop; a slow
   * listener loses its own oldest events, never anyone else's. Returns the unsubscribe function.
   */
  subscribe(listener: (event: FleetEvent) => void | Promise<void>, options?: SubscribeOptions): () => void {
    return this.events.subscribe(listener, options);
  }

  /** Adds a server's definition; the ids in order are made again when next asked for. */
  private define(definition: ServerDefinition): void {
    this.definitions.set(definition.id, definition);
    this.idOrder = undefined;
  }

  /** Forgets a server's definition; the ids in order are made again when next asked for. */
  private undefine(id: string): void {
    this.definitions.delete(id);
    this.idOrder = undefined;
  }

  /** Throws `UnknownServerError` unless the server is in the fleet (supervised or disabled). */
  private known(id: string): void {
    if (!this.definitions.has(id)) throw new UnknownServerError(id);
  }

  private callsOf(id: string): ConnectionCalls {
    if (this.isDisabled(id)) throw new NotConnectedError(id, 'stopped');
    const ref = this.connection(id);
    let calls = this.calls.get(id);
    if (!calls) {
      calls = new ConnectionCalls(ref, id, this.definitions.get(id)?.callTimeoutMs, this.tracing);
      this.calls.set(id, calls);
    }
    return calls;
  }

  /** The process facts of a server plus what the resource watch knows; undefined without a process. */
  private processFacts(id: string, now = Date.now()): ProcessView | undefined {
    const facts = this.processes.facts(id, now);
    return facts && { ...facts, ...this.resources.factsOf(id, facts.pid) };
  }

  /**
   * A process group stayed over a limit: the connection reconnects as after a lost session (its
   * `reconnecting` closes the session, which ends the process group), with the usual backoff and
   * the breach as `lastError` (kind `resource`). Only a serving connection; false otherwise.
   */
  private restartForResource({ id, pid, breach, message }: ResourceRestart): boolean {
    const ref = this.connections.get(id);
    if (!ref || this.processes.facts(id)?.pid !== pid) return false;
    const state = connectionStateOf(ref.getSnapshot());
    if (state !== 'healthy' && state !== 'degraded') return false;
    // Published first: the transition it causes follows it on the event stream.
    this.publish({ type: 'resource.exceeded', id, pid, resource: breach.resource, measured: breach.measured, limit: breach.limit, forSeconds: breach.forSeconds, message, at: breach.at });
    ref.send({ type: 'resource.exceeded', error: new ConnectionError('resource', message) });
    return true;
  }

  private stderrOf(id: string): LogRing {
    let ring = this.stderr.get(id);
    if (!ring) {
      ring = new LogRing();
      this.stderr.set(id, ring);
      if (this.logSink) ring.subscribe(this.logSink.open(id));
    }
    return ring;
  }

  /** Drops a removed server's ring, and tells the log sink it is gone. */
  private forgetRing(id: string): void {
    if (this.stderr.delete(id)) this.logSink?.close(id);
  }

  private onEmitted(event: SupervisorEmitted): void {
    this.stats.record(event);
    // A new session may serve a different tool list.
    if (event.type === 'state.changed' && event.to === 'connecting') this.toolCache.delete(event.id);
    if (event.type === 'state.changed') this.listChanges.update(event.id);
    this.publish(event);
  }

  private publish(event: FleetEvent): void {
    if (this.startupBacklog) this.startupBacklog.push(event);
    else this.events.publish(event);
  }
}

/** Options of {@link Supervisor.callTool}: those of the call, and whether it reports itself. */
export interface SupervisorCallOptions extends CallToolOptions {
  /**
   * Whether the call publishes its `call.completed` event (default true). `rideCall` sets false
   * and reports the whole ride once with {@link Supervisor.recordCall}.
   */
  publish?: boolean;
}

/** The outcome of one probe, as {@link Supervisor.probe} resolves it. */
export type ProbeCompleted = Extract<ConnectionEmitted, { type: 'probe.completed' }>;

/**
 * Starts supervising every server of a config: either the parsed result of `loadConfigFile` /
 * `parseConfig`, or a raw `mcpServers` object (validated here, `${VAR}` expanded from
 * `process.env`; throws `ConfigError`). Disabled servers are not started.
 *
 * @example
 * ```ts
 * const supervisor = createSupervisor(
 *   { supervisor: { maxConcurrentReconnects: 4 }, mcpServers: { files: { command: 'node', args: ['server.mjs'] } } },
 *   { flap: { flapLimit: 3 } },
 * );
 * const unsubscribe = supervisor.subscribe((event) => console.log(event.type, event));
 * await supervisor.ready('files');
 * await supervisor.stop();
 * unsubscribe();
 * ```
 */
export function createSupervisor(config: SupervisorConfig | RawConfig, options?: CreateSupervisorOptions): Supervisor {
  const parsed = 'mcpServers' in config ? parseConfig(config) : config;
  return new Supervisor(parsed, options);
}
