import { createActor, waitFor } from 'xstate';
import type { Actor, InspectionEvent, Observer } from 'xstate';
import type { CallToolResult, Tool } from '@modelcontextprotocol/client';
import { createConnectionLogic } from '../runtime/connection-logic.js';
import { PendingTeardowns } from '../runtime/teardowns.js';
import { ConnectionCalls } from './calls.js';
import type { CallToolOptions } from './calls.js';
import { LogRing } from '../runtime/log-ring.js';
import type { ServerTarget } from '../core/target.js';
import type { StdioTeardownTimings } from '../runtime/transports/stdio.js';
import { connectionStateOf } from '../machines/connection.machine.js';
import type { ConnectionMachine, ConnectionSnapshot } from '../machines/connection.machine.js';
import type { ConnectionState } from '../core/states.js';
import { resolveSettings } from '../core/settings.js';
import type { ConnectionSettings } from '../core/settings.js';
import type { Tracing } from '../core/trace-context.js';

/** Options of {@link createConnection}. */
export interface CreateConnectionOptions {
  /** Stable server id; the actor's `systemId`. */
  id: string;
  /** Where the server is and how to reach it. */
  target: ServerTarget;
  /** Overrides of `DEFAULT_SETTINGS` for this connection. */
  settings?: Partial<ConnectionSettings>;
  /** Seed for backoff and probe jitter (reproducible runs); defaults to a random one. */
  seed?: number;
  /** How long a stdio server gets after stdin closes, and after SIGTERM; default 500 ms and 2000 ms. */
  stdioTeardown?: StdioTeardownTimings;
  /** Called with every top-level state change. */
  onTransition?: (change: StateChanged) => void;
  /** Forwarded to `createActor` (e.g. `@statelyai/inspect`'s `inspector.inspect`). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Where the spans of connects, probes and tool calls go; default none (nothing traced). */
  tracing?: Tracing;
}

/** A connection entered a top-level state: the same fact, by the same name, as the supervisor's `state.changed`. */
export interface StateChanged {
  /** Always `'state.changed'`. */
  type: 'state.changed';
  /** The connection's id. */
  id: string;
  /** The state it left; undefined for its first state. */
  from: ConnectionState | undefined;
  /** The state it entered. */
  to: ConnectionState;
  /** When it entered `to` (epoch ms). */
  at: number;
  /** Why, for `reconnecting`, `zombie` and `failed`: the last error's message. */
  reason: string | undefined;
}

/** States whose cause is the last error; for the others it would be stale. */
const REASONED_STATES: ReadonlySet<ConnectionState> = new Set(['reconnecting', 'zombie', 'failed']);

/**
 * One supervised MCP connection: the connection actor running on real transports, plus the
 * calls made through it. Calls in flight when the connection leaves `healthy`/`degraded` reject
 * at once with `ConnectionLostError` instead of waiting for a transport that may never answer.
 *
 * @example
 * ```ts
 * const files = createConnection({ id: 'files', target: { type: 'stdio', command: 'node', args: ['server.mjs'] } });
 * await files.ready();
 * const result = await files.callTool('echo', { message: 'hi' });
 * await files.dispose();
 * ```
 */
export class ManagedConnection {
  /** The server's id, as given in the options. */
  readonly id: string;
  /** The running connection actor (the connection machine on real transports); started on construction. */
  readonly actor: Actor<ConnectionMachine>;
  /** The stdio server's stderr (bounded); empty for HTTP transports. */
  readonly stderr = new LogRing();
  private readonly calls: ConnectionCalls;
  private readonly teardowns = new PendingTeardowns();
  private lastState: ConnectionState | undefined;

  constructor(private readonly options: CreateConnectionOptions) {
    this.id = options.id;
    const logic = createConnectionLogic({
      stderrOf: () => this.stderr,
      stdioTeardown: options.stdioTeardown,
      teardowns: this.teardowns,
      tracing: options.tracing,
    });
    this.actor = createActor(logic, {
      systemId: options.id,
      inspect: options.inspect,
      input: {
        id: options.id,
        transport: options.target.type,
        target: options.target,
        settings: resolveSettings(options.settings),
        seed: options.seed ?? Math.floor(Math.random() * 2 ** 32),
      },
    });
    this.actor.subscribe((snapshot) => this.observe(snapshot));
    this.calls = new ConnectionCalls(this.actor, options.id, undefined, options.tracing);
    this.actor.start();
  }

  /** The connection state now (`healthy`, `reconnecting`, …). */
  get state(): ConnectionState {
    return connectionStateOf(this.actor.getSnapshot());
  }

  /** The actor's current snapshot: state value and context (attempts, last error, quality, …). */
  get snapshot(): ConnectionSnapshot {
    return this.actor.getSnapshot();
  }

  /** Resolves once the connection is `healthy` (or rejects after `timeoutMs`). */
  async ready(timeoutMs = 30_000): Promise<void> {
    await waitFor(this.actor, (snapshot) => connectionStateOf(snapshot) === 'healthy', { timeout: timeoutMs });
  }

  /** Lists the server's tools (all pages); `NotConnectedError` when not `healthy` or `degraded`. */
  listTools(options?: CallToolOptions): Promise<Tool[]> {
    return this.calls.listTools(options);
  }

  /**
   * Calls a tool. Throws `NotConnectedError` when the connection is not serving,
   * `ConnectionLostError` when it is lost during the call, `ConnectionError` (`timeout`, protocol
   * errors) otherwise; a result with `isError` is returned, not thrown.
   */
  callTool(name: string, args: Record<string, unknown> = {}, options?: CallToolOptions): Promise<CallToolResult> {
    return this.calls.callTool(name, args, options);
  }

  /** Starts a `stopped` connection again, with a fresh attempt count; ignored in other states. */
  start(): void {
    this.actor.send({ type: 'start' });
  }

  /** Stops the connection and closes its transport (the actor keeps running; see {@link ManagedConnection.dispose}). */
  stop(): void {
    this.actor.send({ type: 'stop' });
  }

  /**
   * Drops the session and connects afresh without waiting out backoff; from `failed` it also
   * forgives past attempts. Ignored while `stopped` (use {@link ManagedConnection.start}).
   */
  reconnect(): void {
    this.actor.send({ type: 'reconnect' });
  }

  /** Stops the connection, waits for its transport (and any child process) to close, stops the actor. */
  async dispose(timeoutMs = 10_000): Promise<void> {
    if (this.actor.getSnapshot().status === 'stopped') return;
    const deadline = Date.now() + timeoutMs;
    this.actor.send({ type: 'stop' });
    await waitFor(this.actor, (snapshot) => snapshot.matches('stopped') && snapshot.context.session === undefined, {
      timeout: timeoutMs,
    });
    // An attempt cut short by the stop closes its process in the background: wait for it too.
    await this.teardowns.settled(Math.max(0, deadline - Date.now()));
    this.calls.dispose();
    this.actor.stop();
  }

  private observe(snapshot: ConnectionSnapshot): void {
    const state = connectionStateOf(snapshot);
    if (state === this.lastState) return;
    const from = this.lastState;
    this.lastState = state;
    const reason = REASONED_STATES.has(state) ? snapshot.context.lastError?.message : undefined;
    this.options.onTransition?.({ type: 'state.changed', id: this.id, from, to: state, at: snapshot.context.since, reason });
  }
}

/**
 * Starts supervising one MCP server on its own: no supervisor, no admission cap. The connection
 * starts connecting at once and keeps itself healthy (probes, backoff, zombie detection) until
 * disposed.
 *
 * @example
 * ```ts
 * const files = createConnection({ id: 'files', target: { type: 'stdio', command: 'node', args: ['server.mjs'] } });
 * await files.ready();
 * await files.callTool('echo', { message: 'hi' });
 * await files.dispose();
 * ```
 */
export function createConnection(options: CreateConnectionOptions): ManagedConnection {
  return new ManagedConnection(options);
}
