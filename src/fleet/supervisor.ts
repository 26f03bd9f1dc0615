import { performance } from 'node:perf_hooks';
import { createActor, waitFor } from 'xstate';
import type { Actor, InspectionEvent, Observer } from 'xstate';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { createConnectionLogic } from '../runtime/connection-logic.js';
import { LogRing } from '../runtime/log-ring.js';
import type { StdioTeardownTimings } from '../runtime/transports/stdio.js';
import { ConnectionCalls } from './calls.js';
import { ProcessRegistry } from '../runtime/process/registry.js';
import type { ProcessFacts } from '../runtime/process/registry.js';
import type { GroupWatchdog } from '../runtime/process/support.js';
import { sampleProcess } from '../runtime/process/sampler.js';
import type { ProcessSample } from '../runtime/process/sampler.js';
import type { CallToolOptions } from './calls.js';
import { parseConfig } from '../config/load.js';
import type { ServerDefinition, SupervisorConfig } from '../config/load.js';
import type { RawConfig } from '../config/schema.js';
import { EventBus } from './event-bus.js';
import type { SubscribeOptions } from './event-bus.js';
import { ConnectionError, ConnectionLostError, NotConnectedError } from '../core/errors.js';
import { connectionStateOf } from '../machines/connection.machine.js';
import type { ConnectionActorRef, ConnectionEmitted, ConnectionSnapshot } from '../machines/connection.machine.js';
import type { ConnectionState } from '../core/states.js';
import { supervisorMachine } from '../machines/supervisor.machine.js';
import type { ConnectionCommand, SupervisedServer, SupervisorEmitted, SupervisorSnapshot } from '../machines/supervisor.machine.js';
import type { FlapSettings } from '../core/policy/flapping.js';
import type { PanicSettings } from '../core/policy/panic.js';

export interface CreateSupervisorOptions {
  /** Forwarded to `createActor` (e.g. `@statelyai/inspect`'s `inspector.inspect`). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  flap?: Partial<FlapSettings>;
  panic?: Partial<PanicSettings>;
  reservedForTop?: number;
  stdioTeardown?: StdioTeardownTimings;
  /** Ends every server process group if this process dies hard (see `startWatchdog`). */
  watchdog?: GroupWatchdog;
  /** How often server processes' CPU and memory are read from /proc; 0 turns sampling off. */
  processSampleIntervalMs?: number;
}

/** A modest interval: /proc reads are cheap, but a fleet has many processes. */
export const DEFAULT_PROCESS_SAMPLE_INTERVAL_MS = 5_000;

/** What one connection looks like from outside (docs/design.md §5 ActorView, without process facts yet). */
export interface ActorView {
  id: string;
  state: ConnectionState;
  transport: string;
  priority: number;
  since: number;
  attempts: number;
  lastError: { kind: string; message: string; at: number } | null;
  quality: { score: number; latencyMs: { p50: number | null; p95: number | null }; successRate: number | null; trend: string };
  /** Held in `reconnecting` by flap quarantine until this time (epoch ms). */
  quarantinedUntil: number | null;
  waitingForSlot: boolean;
  /** For servers the supervisor runs as processes (stdio, launched HTTP). */
  process?: ProcessFacts;
}

/** How a tool call through the supervisor ended; feeds metrics and the event stream. */
export type CallOutcome = 'ok' | 'tool_error' | 'protocol_error' | 'timeout' | 'not_connected' | 'connection_lost' | 'transport_error';

export interface CallCompleted {
  type: 'call.completed';
  id: string;
  tool: string;
  outcome: CallOutcome;
  latencyMs: number;
  at: number;
}

/** Everything the fleet reports: the supervisor actor's events plus the calls made through it. */
export type FleetEvent = SupervisorEmitted | CallCompleted;

export interface TransitionRecord {
  from: ConnectionState | undefined;
  to: ConnectionState;
  at: number;
  reason: string | undefined;
}

/** Per-server facts gathered from the event stream, for `/health` and the actor detail. */
export interface ServerStats {
  errorCount: number;
  lastProbeAt: number | null;
  history: TransitionRecord[];
}

/** States whose fall into `reconnecting` is a failure rather than a start. */
const FAILURE_SOURCES: ReadonlySet<ConnectionState> = new Set(['connecting', 'healthy', 'degraded']);

/** Transitions kept per server for the actor detail. */
export const HISTORY_CAPACITY = 50;

export class UnknownServerError extends Error {
  override readonly name = 'UnknownServerError';
  constructor(readonly id: string) {
    super(`no server with id "${id}"`);
  }
}

export class DuplicateServerError extends Error {
  override readonly name = 'DuplicateServerError';
  constructor(readonly id: string) {
    super(`a server with id "${id}" already exists`);
  }
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
 * goes to `events`.
 *
 * @example
 * const supervisor = createSupervisor({ mcpServers: { files: { command: 'node', args: ['server.mjs'] } } });
 * supervisor.events.subscribe((event) => console.log(event));
 * await supervisor.ready('files');
 * await supervisor.callTool('files', 'echo', { message: 'hi' });
 * await supervisor.stop();
 */
export class Supervisor {
  readonly actor: Actor<typeof supervisorMachine>;
  readonly events = new EventBus<FleetEvent>();
  private readonly stderr = new Map<string, LogRing>();
  private readonly calls = new Map<string, ConnectionCalls>();
  private readonly definitions = new Map<string, ServerDefinition>();
  /** Facts about each server's processes across restarts. */
  readonly processes = new ProcessRegistry();
  private readonly stats = new Map<string, ServerStats>();
  private readonly toolCache = new Map<string, { tools: Tool[]; at: number }>();
  /** Servers an operator just sent a command to, so the transition it causes is not an error. */
  private readonly commanded = new Set<string>();
  private sampler: NodeJS.Timeout | undefined;
  private readonly lastSamples = new Map<number, ProcessSample>();
  /**
   * Events emitted while the actor starts (first transitions and admissions) are held for one
   * microtask, so a subscriber added right after `createSupervisor` returns sees them too.
   */
  private startupBacklog: FleetEvent[] | undefined = [];

  constructor(config: SupervisorConfig, options: CreateSupervisorOptions = {}) {
    for (const definition of config.servers) if (!definition.disabled) this.definitions.set(definition.id, definition);
    const logic = supervisorMachine.provide({
      actors: {
        connection: createConnectionLogic({
          stderrOf: (id) => this.stderrOf(id),
          stdioTeardown: options.stdioTeardown,
          processSupportOf: (id) => ({ observer: this.processes.observerFor(id), watchdog: options.watchdog }),
        }),
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
    const sampleEvery = options.processSampleIntervalMs ?? DEFAULT_PROCESS_SAMPLE_INTERVAL_MS;
    if (sampleEvery > 0 && process.platform === 'linux') {
      this.sampler = setInterval(() => this.sampleProcesses(), sampleEvery);
      this.sampler.unref();
    }
    queueMicrotask(() => {
      const backlog = this.startupBacklog ?? [];
      this.startupBacklog = undefined;
      for (const event of backlog) this.events.publish(event);
    });
  }

  get snapshot(): SupervisorSnapshot {
    return this.actor.getSnapshot();
  }

  ids(): string[] {
    return Object.keys(this.snapshot.context.servers);
  }

  /** The connection actor of one server (`systemId` = server id). */
  connection(id: string): ConnectionActorRef {
    const ref = this.actor.system.get(id) as ConnectionActorRef | undefined;
    if (!ref || !(id in this.snapshot.context.servers)) throw new UnknownServerError(id);
    return ref;
  }

  state(id: string): ConnectionState {
    return connectionStateOf(this.connection(id).getSnapshot());
  }

  view(id: string): ActorView {
    const snapshot: ConnectionSnapshot = this.connection(id).getSnapshot();
    const { context } = snapshot;
    const supervisor = this.snapshot.context;
    const server = supervisor.servers[id];
    const until = supervisor.quarantine[id]?.until;
    return {
      id,
      state: connectionStateOf(snapshot),
      transport: context.transport,
      priority: server?.priority ?? 0,
      since: context.since,
      attempts: context.attempts,
      lastError: context.lastError ?? null,
      quality: {
        score: context.quality.score,
        latencyMs: { p50: context.quality.latencyMs.p50, p95: context.quality.latencyMs.p95 },
        successRate: context.quality.successRate,
        trend: context.quality.trend,
      },
      quarantinedUntil: until !== undefined && until > Date.now() ? until : null,
      waitingForSlot: supervisor.queue.some((request) => request.id === id),
      ...this.processView(id),
    };
  }

  views(): ActorView[] {
    return this.ids().map((id) => this.view(id));
  }

  /** Resolves when the server's connection is `healthy`. */
  async ready(id: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(this.connection(id), (snapshot) => snapshot.matches('healthy'), { timeout: timeoutMs });
  }

  async callTool(id: string, name: string, args: Record<string, unknown> = {}, options?: CallToolOptions): Promise<CallToolResult> {
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
      this.publish({ type: 'call.completed', id, tool: name, outcome, latencyMs: performance.now() - started, at: Date.now() });
    }
  }

  /** Lists the server's tools now (all pages) and caches them for `cachedTools`. */
  async listTools(id: string, options?: CallToolOptions): Promise<Tool[]> {
    const tools = await this.callsOf(id).listTools(options);
    this.toolCache.set(id, { tools, at: Date.now() });
    return tools;
  }

  /** The last listing of this server's tools, if any since it last connected. */
  cachedTools(id: string): { tools: Tool[]; at: number } | undefined {
    this.connection(id);
    return this.toolCache.get(id);
  }

  /** Runs one health check now and resolves with its outcome. */
  async probe(id: string): Promise<Extract<ConnectionEmitted, { type: 'probe.completed' }>> {
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

  definition(id: string): ServerDefinition {
    const definition = this.definitions.get(id);
    if (!definition) throw new UnknownServerError(id);
    return definition;
  }

  statsOf(id: string): ServerStats {
    this.connection(id);
    return this.stats.get(id) ?? { errorCount: 0, lastProbeAt: null, history: [] };
  }

  private processView(id: string): { process?: ProcessFacts } {
    const facts = this.processes.facts(id);
    return facts ? { process: facts } : {};
  }

  /** The bounded log of one server's process (stderr, and stdout of launched HTTP servers). */
  logRing(id: string): LogRing {
    this.connection(id);
    return this.stderrOf(id);
  }

  /** The last lines a stdio server wrote to stderr. */
  logs(id: string, lines = 100): ReturnType<LogRing['tail']> {
    this.connection(id);
    return this.stderrOf(id).tail(lines);
  }

  command(id: string, command: ConnectionCommand): void {
    this.connection(id);
    if (command !== 'probe') this.commanded.add(id);
    this.actor.send({ type: 'connection.command', id, command });
  }

  restart(id: string): void {
    this.connection(id);
    this.commanded.add(id);
    this.actor.send({ type: 'server.restart', id });
  }

  add(definition: ServerDefinition): void {
    if (definition.id in this.snapshot.context.servers) throw new DuplicateServerError(definition.id);
    this.definitions.set(definition.id, definition);
    this.actor.send({ type: 'server.add', server: toSupervised(definition) });
  }

  /** Stops the server's connection, closes its transport (reaping any process) and forgets it. */
  async remove(id: string, timeoutMs = 15_000): Promise<void> {
    this.connection(id);
    this.actor.send({ type: 'server.remove', id });
    await waitFor(this.actor, (snapshot) => !(id in snapshot.context.servers), { timeout: timeoutMs });
    this.calls.get(id)?.dispose();
    this.calls.delete(id);
    this.stderr.delete(id);
    this.definitions.delete(id);
    this.processes.forget(id);
    this.stats.delete(id);
    this.toolCache.delete(id);
  }

  /** Stops admitting, stops every connection, waits for every transport to close, stops the actor. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.actor.getSnapshot().status !== 'active') return;
    this.actor.send({ type: 'shutdown' });
    const refs = this.ids().map((id) => this.connection(id));
    await Promise.all(
      refs.map((ref) =>
        waitFor(ref, (snapshot) => snapshot.matches('stopped') && snapshot.context.session === undefined, { timeout: timeoutMs }),
      ),
    );
    for (const calls of this.calls.values()) calls.dispose();
    clearInterval(this.sampler);
    this.actor.stop();
  }

  /** Reads CPU and memory of every running server process group (the server may be a grandchild of a wrapper). */
  sampleProcesses(now = Date.now()): void {
    const seen = new Set<number>();
    for (const { id, pid } of this.processes.running()) {
      seen.add(pid);
      const sample = sampleProcess(pid, this.lastSamples.get(pid), now, { group: true });
      if (!sample) continue;
      this.lastSamples.set(pid, sample);
      this.processes.recordSample(id, pid, { cpuRatio: sample.cpuRatio, rssBytes: sample.rssBytes });
    }
    for (const pid of this.lastSamples.keys()) if (!seen.has(pid)) this.lastSamples.delete(pid);
  }

  subscribe(listener: (event: FleetEvent) => void | Promise<void>, options?: SubscribeOptions): () => void {
    return this.events.subscribe(listener, options);
  }

  private callsOf(id: string): ConnectionCalls {
    const ref = this.connection(id);
    let calls = this.calls.get(id);
    if (!calls) {
      calls = new ConnectionCalls(ref, id);
      this.calls.set(id, calls);
    }
    return calls;
  }

  private stderrOf(id: string): LogRing {
    let ring = this.stderr.get(id);
    if (!ring) {
      ring = new LogRing();
      this.stderr.set(id, ring);
    }
    return ring;
  }

  private onEmitted(event: SupervisorEmitted): void {
    this.record(event);
    this.publish(event);
  }

  private publish(event: FleetEvent): void {
    if (this.startupBacklog) this.startupBacklog.push(event);
    else this.events.publish(event);
  }

  /** Keeps the few per-server facts the API shows; synchronous, so they are never behind. */
  private record(event: SupervisorEmitted): void {
    if (event.type !== 'transition' && event.type !== 'probe.completed') return;
    const stats = this.stats.get(event.id) ?? { errorCount: 0, lastProbeAt: null, history: [] };
    this.stats.set(event.id, stats);
    if (event.type === 'probe.completed') {
      stats.lastProbeAt = event.at;
      if (event.outcome !== 'fast' && event.outcome !== 'slow' && event.outcome !== 'method-not-found') stats.errorCount += 1;
      return;
    }
    stats.history.push({ from: event.from, to: event.to, at: event.at, reason: event.reason });
    if (stats.history.length > HISTORY_CAPACITY) stats.history.shift();
    const operatorAsked = this.commanded.delete(event.id);
    if (event.to === 'failed' || event.to === 'zombie') stats.errorCount += 1;
    // A first start, a start after stop and an operator's reconnect also pass through `reconnecting`.
    else if (event.to === 'reconnecting' && !operatorAsked && event.from !== undefined && FAILURE_SOURCES.has(event.from)) stats.errorCount += 1;
    // A new session may serve a different tool list.
    if (event.to === 'connecting') this.toolCache.delete(event.id);
  }
}

function callOutcomeOf(error: unknown): CallOutcome {
  if (error instanceof NotConnectedError) return 'not_connected';
  if (error instanceof ConnectionLostError) return 'connection_lost';
  if (error instanceof ConnectionError) {
    if (error.kind === 'timeout') return 'timeout';
    if (error.kind === 'transient' || error.kind === 'method-not-found') return 'protocol_error';
  }
  return 'transport_error';
}

/**
 * Starts supervising every server of a config: either the parsed result of `loadConfigFile` /
 * `parseConfig`, or a raw `mcpServers` object (validated here; throws `ConfigError`).
 */
export function createSupervisor(config: SupervisorConfig | RawConfig, options?: CreateSupervisorOptions): Supervisor {
  const parsed = 'mcpServers' in config ? parseConfig(config) : config;
  return new Supervisor(parsed, options);
}
