import { performance } from 'node:perf_hooks';
import { createActor, waitFor } from 'xstate';
import type { Actor, InspectionEvent, Observer } from 'xstate';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { createConnectionLogic } from './actors/connection-logic.js';
import type { ConnectionLogic } from './actors/connection-logic.js';
import { toConnectionError } from './actors/classify.js';
import { LogRing } from './actors/log-ring.js';
import type { ServerTarget } from './actors/target.js';
import type { StdioTeardownTimings } from './actors/transports/stdio.js';
import { ConnectionLostError, NotConnectedError } from './errors.js';
import { connectionStateOf } from './machines/connection.machine.js';
import type { ConnectionSnapshot, ConnectionState } from './machines/connection.machine.js';
import { resolveSettings } from './settings.js';
import type { ConnectionSettings } from './settings.js';

export interface CreateConnectionOptions {
  /** Stable server id; the actor's `systemId`. */
  id: string;
  target: ServerTarget;
  settings?: Partial<ConnectionSettings>;
  /** Seed for backoff jitter (reproducible runs); defaults to a random one. */
  seed?: number;
  stdioTeardown?: StdioTeardownTimings;
  /** Called with every top-level state change. */
  onTransition?: (change: StateChange) => void;
  /** Forwarded to `createActor` (e.g. `@statelyai/inspect`'s `inspector.inspect`). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

export interface StateChange {
  id: string;
  from: ConnectionState | undefined;
  to: ConnectionState;
  at: number;
  reason: string | undefined;
}

export interface CallToolOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

const LIVE_STATES: ReadonlySet<ConnectionState> = new Set(['healthy', 'degraded']);
/** States whose cause is the last error; for the others it would be stale. */
const REASONED_STATES: ReadonlySet<ConnectionState> = new Set(['reconnecting', 'zombie', 'failed']);

/**
 * One supervised MCP connection: the connection actor running on real transports, plus the
 * calls made through it. Calls in flight when the connection leaves `healthy`/`degraded` reject
 * at once with `ConnectionLostError` instead of waiting for a transport that may never answer.
 *
 * @example
 * const files = createConnection({ id: 'files', target: { type: 'stdio', command: 'node', args: ['server.mjs'] } });
 * await files.ready();
 * const result = await files.callTool('echo', { message: 'hi' });
 * await files.dispose();
 */
export class ManagedConnection {
  readonly id: string;
  readonly actor: Actor<ConnectionLogic>;
  /** The stdio server's stderr (bounded); empty for HTTP transports. */
  readonly stderr = new LogRing();
  private readonly pending = new Set<(error: Error) => void>();
  private lastState: ConnectionState | undefined;

  constructor(private readonly options: CreateConnectionOptions) {
    this.id = options.id;
    const logic = createConnectionLogic({ stderrOf: () => this.stderr, stdioTeardown: options.stdioTeardown });
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
    this.actor.start();
  }

  get state(): ConnectionState {
    return connectionStateOf(this.actor.getSnapshot());
  }

  get snapshot(): ConnectionSnapshot {
    return this.actor.getSnapshot();
  }

  /** Resolves once the connection is `healthy` (or rejects after `timeoutMs`). */
  async ready(timeoutMs = 30_000): Promise<void> {
    await waitFor(this.actor, (snapshot) => snapshot.matches('healthy'), { timeout: timeoutMs });
  }

  async listTools(options?: CallToolOptions): Promise<Tool[]> {
    return this.withSession((session, signal) => session.listTools(signal), options);
  }

  async callTool(name: string, args: Record<string, unknown> = {}, options?: CallToolOptions): Promise<CallToolResult> {
    return this.withSession(
      (session, signal) => session.callTool({ name, arguments: args }, { signal, timeoutMs: options?.timeoutMs }),
      options,
    );
  }

  start(): void {
    this.actor.send({ type: 'start' });
  }

  stop(): void {
    this.actor.send({ type: 'stop' });
  }

  reconnect(): void {
    this.actor.send({ type: 'reconnect' });
  }

  /** Stops the connection, waits for its transport (and any child process) to close, stops the actor. */
  async dispose(timeoutMs = 10_000): Promise<void> {
    if (this.actor.getSnapshot().status === 'stopped') return;
    this.actor.send({ type: 'stop' });
    await waitFor(this.actor, (snapshot) => snapshot.matches('stopped') && snapshot.context.session === undefined, {
      timeout: timeoutMs,
    });
    this.actor.stop();
  }

  private async withSession<T>(
    run: (session: NonNullable<ConnectionSnapshot['context']['session']>, signal: AbortSignal) => Promise<T>,
    options?: CallToolOptions,
  ): Promise<T> {
    const snapshot = this.actor.getSnapshot();
    const state = connectionStateOf(snapshot);
    const session = snapshot.context.session;
    if (!LIVE_STATES.has(state) || !session) throw new NotConnectedError(this.id, state);

    const controller = new AbortController();
    const forward = (): void => controller.abort(options?.signal?.reason);
    options?.signal?.addEventListener('abort', forward, { once: true });
    let rejectLost!: (error: Error) => void;
    const lost = new Promise<never>((_, reject) => {
      rejectLost = reject;
    });
    const onLost = (error: Error): void => {
      controller.abort(error);
      rejectLost(error);
    };
    this.pending.add(onLost);
    const started = performance.now();
    try {
      const result = await Promise.race([run(session, controller.signal), lost]);
      this.actor.send({ type: 'call.succeeded', latencyMs: performance.now() - started });
      return result;
    } catch (error) {
      if (error instanceof ConnectionLostError) throw error;
      const classified = toConnectionError(error);
      // A protocol error is still an answer: the server is alive.
      if (classified.kind === 'transient' || classified.kind === 'method-not-found') {
        this.actor.send({ type: 'call.succeeded', latencyMs: performance.now() - started });
      } else {
        this.actor.send({ type: 'call.failed', error: classified, latencyMs: performance.now() - started });
      }
      throw classified;
    } finally {
      this.pending.delete(onLost);
      options?.signal?.removeEventListener('abort', forward);
    }
  }

  private observe(snapshot: ConnectionSnapshot): void {
    const state = connectionStateOf(snapshot);
    if (state === this.lastState) return;
    const from = this.lastState;
    this.lastState = state;
    if (!LIVE_STATES.has(state) && this.pending.size > 0) {
      const error = new ConnectionLostError(this.id, state);
      for (const reject of [...this.pending]) reject(error);
    }
    const reason = REASONED_STATES.has(state) ? snapshot.context.lastError?.message : undefined;
    this.options.onTransition?.({ id: this.id, from, to: state, at: snapshot.context.since, reason });
  }
}

export function createConnection(options: CreateConnectionOptions): ManagedConnection {
  return new ManagedConnection(options);
}
