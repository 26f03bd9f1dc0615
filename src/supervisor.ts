import { createActor, waitFor } from 'xstate';
import type { Actor, InspectionEvent, Observer } from 'xstate';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { createConnectionLogic } from './actors/connection-logic.js';
import { LogRing } from './actors/log-ring.js';
import type { StdioTeardownTimings } from './actors/transports/stdio.js';
import { ConnectionCalls } from './calls.js';
import type { CallToolOptions } from './calls.js';
import { parseConfig } from './config/load.js';
import type { ServerDefinition, SupervisorConfig } from './config/load.js';
import type { RawConfig } from './config/schema.js';
import { EventBus } from './events.js';
import type { SubscribeOptions } from './events.js';
import { connectionStateOf } from './machines/connection.machine.js';
import type { ConnectionActorRef, ConnectionSnapshot, ConnectionState } from './machines/connection.machine.js';
import { supervisorMachine } from './machines/supervisor.machine.js';
import type { ConnectionCommand, SupervisedServer, SupervisorEmitted, SupervisorSnapshot } from './machines/supervisor.machine.js';
import type { FlapSettings } from './policy/flapping.js';
import type { PanicSettings } from './policy/panic.js';

export interface CreateSupervisorOptions {
  /** Forwarded to `createActor` (e.g. `@statelyai/inspect`'s `inspector.inspect`). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  flap?: Partial<FlapSettings>;
  panic?: Partial<PanicSettings>;
  reservedForTop?: number;
  stdioTeardown?: StdioTeardownTimings;
}

/** What one connection looks like from outside (DESIGN §5 ActorView, without process facts yet). */
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
}

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
  readonly events = new EventBus<SupervisorEmitted>();
  private readonly stderr = new Map<string, LogRing>();
  private readonly calls = new Map<string, ConnectionCalls>();
  /**
   * Events emitted while the actor starts (first transitions and admissions) are held for one
   * microtask, so a subscriber added right after `createSupervisor` returns sees them too.
   */
  private startupBacklog: SupervisorEmitted[] | undefined = [];

  constructor(config: SupervisorConfig, options: CreateSupervisorOptions = {}) {
    const logic = supervisorMachine.provide({
      actors: {
        connection: createConnectionLogic({ stderrOf: (id) => this.stderrOf(id), stdioTeardown: options.stdioTeardown }),
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
    return this.callsOf(id).callTool(name, args, options);
  }

  async listTools(id: string, options?: CallToolOptions): Promise<Tool[]> {
    return this.callsOf(id).listTools(options);
  }

  /** The last lines a stdio server wrote to stderr. */
  logs(id: string, lines = 100): ReturnType<LogRing['tail']> {
    this.connection(id);
    return this.stderrOf(id).tail(lines);
  }

  command(id: string, command: ConnectionCommand): void {
    this.connection(id);
    this.actor.send({ type: 'connection.command', id, command });
  }

  restart(id: string): void {
    this.connection(id);
    this.actor.send({ type: 'server.restart', id });
  }

  add(definition: ServerDefinition): void {
    if (definition.id in this.snapshot.context.servers) throw new DuplicateServerError(definition.id);
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
    this.actor.stop();
  }

  subscribe(listener: (event: SupervisorEmitted) => void | Promise<void>, options?: SubscribeOptions): () => void {
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
    if (this.startupBacklog) this.startupBacklog.push(event);
    else this.events.publish(event);
  }
}

/**
 * Starts supervising every server of a config: either the parsed result of `loadConfigFile` /
 * `parseConfig`, or a raw `mcpServers` object (validated here; throws `ConfigError`).
 */
export function createSupervisor(config: SupervisorConfig | RawConfig, options?: CreateSupervisorOptions): Supervisor {
  const parsed = 'mcpServers' in config ? parseConfig(config) : config;
  return new Supervisor(parsed, options);
}
