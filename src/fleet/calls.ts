import { performance } from 'node:perf_hooks';
import type { Subscription } from 'xstate';
import type { CallToolRequest, CallToolResult, GetPromptResult, Prompt, ReadResourceResult, Resource, ResourceTemplateType as ResourceTemplate, Tool } from '@modelcontextprotocol/client';
import { toConnectionError } from '../runtime/classify.js';
import { ConnectionError, ConnectionLostError, NotConnectedError } from '../core/errors.js';
import { connectionStateOf } from '../machines/connection.machine.js';
import type { ConnectionActorRef } from '../machines/connection.machine.js';
import type { ConnectionState } from '../core/states.js';
import type { McpSession } from '../core/session.js';
import { TRACEPARENT_META_KEY, TRACESTATE_META_KEY } from '@modelcontextprotocol/client';
import { SPAN_ATTRIBUTES as A } from '../core/trace-context.js';
import type { TraceContext, Tracing } from '../core/trace-context.js';
import { networkTransportOf } from '../runtime/spans.js';
import { callOutcomeOf } from './call-outcome.js';

/** Options of one call through a connection. */
export interface CallToolOptions {
  /** Deadline of a tool call (ms); the server's `timeout` from the config, else the MCP SDK's default (60 000), when unset. `listTools` ignores it. */
  timeoutMs?: number;
  /** Aborts the call: it rejects, and the request is cancelled on the server. */
  signal?: AbortSignal;
  /**
   * The caller's W3C trace context (e.g. the `traceparent` header of a proxied call). With tracing
   * on, the call's span continues it and the server gets the span's own context; without, the
   * server gets this one, as given. It travels in the request's `params._meta` (and as headers
   * over Streamable HTTP). `listTools` ignores it.
   */
  traceContext?: TraceContext;
}

const LIVE_STATES: ReadonlySet<ConnectionState> = new Set(['healthy', 'degraded']);

/**
 * How long answered calls wait to be reported to the connection actor together (ms). Short next
 * to any probe interval: a fast answer pushes the due probe back at most this much later, and
 * `quality` includes a call at most this much after it was answered.
 */
const REPORT_WINDOW_MS = 50;

/**
 * Calls made through one connection actor. Each call feeds the actor (`call.succeeded` /
 * `call.failed`, passive health detection), and calls still in flight when the connection leaves
 * `healthy`/`degraded` reject at once with `ConnectionLostError` instead of waiting on a
 * transport that may never answer.
 */
export class ConnectionCalls {
  private readonly pending = new Set<(error: Error) => void>();
  private readonly subscription: Subscription;
  /**
   * Latencies of calls answered since the last report to the actor. Answers are reported at most
   * once per {@link REPORT_WINDOW_MS}, as one `call.succeeded`: one transition and one quality
   * score for all of them (reported one by one, or once per turn of the event loop, they were
   * the largest cost of a call in the fleet layer under load).
   */
  private answered: number[] = [];
  private reportTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ref: ConnectionActorRef,
    readonly id: string,
    /** The deadline of a call that sets none (ms): the server's configured `timeout`. */
    private readonly defaultTimeoutMs?: number,
    /** Where each tool call's span goes; none when unset. */
    private readonly tracing?: Tracing,
  ) {
    this.subscription = ref.subscribe((snapshot) => {
      if (this.pending.size === 0) return;
      const state = connectionStateOf(snapshot);
      if (LIVE_STATES.has(state)) return;
      const error = new ConnectionLostError(id, state);
      for (const reject of [...this.pending]) reject(error);
    });
  }

  listTools(options?: CallToolOptions): Promise<Tool[]> {
    return this.run((session, signal) => session.listTools(signal), options);
  }

  /** The server's prompts; empty when its session cannot list them (a session made elsewhere). */
  listPrompts(options?: CallToolOptions): Promise<Prompt[]> {
    return this.run((session, signal) => session.listPrompts?.(signal) ?? Promise.resolve([]), options);
  }

  /** The server's resources; empty when its session cannot list them. */
  listResources(options?: CallToolOptions): Promise<Resource[]> {
    return this.run((session, signal) => session.listResources?.(signal) ?? Promise.resolve([]), options);
  }

  /** The server's resource templates; empty when its session cannot list them. */
  listResourceTemplates(options?: CallToolOptions): Promise<ResourceTemplate[]> {
    return this.run((session, signal) => session.listResourceTemplates?.(signal) ?? Promise.resolve([]), options);
  }

  /** Gets one prompt, under the call deadline (`timeoutMs`, else the server's `timeout`). */
  getPrompt(name: string, args: Record<string, string> | undefined, options?: CallToolOptions): Promise<GetPromptResult> {
    return this.run((session, signal) => {
      if (!session.getPrompt) throw unsupported(this.id, 'prompts/get');
      return session.getPrompt(args ? { name, arguments: args } : { name }, { signal, timeoutMs: options?.timeoutMs ?? this.defaultTimeoutMs });
    }, options);
  }

  /** Reads one resource, under the call deadline (`timeoutMs`, else the server's `timeout`). */
  readResource(uri: string, options?: CallToolOptions): Promise<ReadResourceResult> {
    return this.run((session, signal) => {
      if (!session.readResource) throw unsupported(this.id, 'resources/read');
      return session.readResource({ uri }, { signal, timeoutMs: options?.timeoutMs ?? this.defaultTimeoutMs });
    }, options);
  }

  callTool(name: string, args: Record<string, unknown> = {}, options?: CallToolOptions): Promise<CallToolResult> {
    if (this.tracing) return this.tracedCall(this.tracing, name, args, options);
    return this.call(name, args, options, options?.traceContext);
  }

  /** The call itself; `trace` goes to the server in the request's `_meta`. */
  private call(name: string, args: Record<string, unknown>, options: CallToolOptions | undefined, trace: TraceContext | undefined): Promise<CallToolResult> {
    return this.run((session, signal) => session.callTool(toolParams(name, args, trace), { signal, timeoutMs: options?.timeoutMs ?? this.defaultTimeoutMs }), options);
  }

  /**
   * A call under its own client span (`tools/call <name>`): a child of the caller's context, and
   * the parent of whatever the server records, whose request carries the span's context.
   */
  private async tracedCall(tracing: Tracing, name: string, args: Record<string, unknown>, options: CallToolOptions | undefined): Promise<CallToolResult> {
    const { transport, session } = this.ref.getSnapshot().context;
    const span = tracing.startSpan(
      `tools/call ${name}`,
      {
        [A.serverId]: this.id,
        [A.transport]: transport,
        [A.networkTransport]: networkTransportOf(transport),
        [A.era]: session?.era,
        [A.method]: 'tools/call',
        [A.toolName]: name,
        [A.operation]: 'execute_tool',
      },
      options?.traceContext,
    );
    try {
      const result = await this.call(name, args, options, span.traceContext());
      span.end(result.isError ? 'tool_error' : 'ok');
      return result;
    } catch (error) {
      span.end(callOutcomeOf(error), error);
      throw error;
    }
  }

  dispose(): void {
    this.reportAnswered();
    this.subscription.unsubscribe();
  }

  private answer(latencyMs: number): void {
    this.answered.push(latencyMs);
    if (this.reportTimer) return;
    // Unref'd: answers waiting to be reported never keep a process alive.
    this.reportTimer = setTimeout(() => this.reportAnswered(), REPORT_WINDOW_MS).unref();
  }

  /** Sends the answers not yet reported, before anything else about calls reaches the actor. */
  private reportAnswered(): void {
    clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
    const latencies = this.answered;
    if (latencies.length === 0) return;
    this.answered = [];
    // Answers that waited past the actor's end (a server removed meanwhile) have no one to tell.
    if (this.ref.getSnapshot().status !== 'active') return;
    let latencyMs = Number.POSITIVE_INFINITY;
    for (const latency of latencies) latencyMs = Math.min(latencyMs, latency);
    this.ref.send(latencies.length === 1 ? { type: 'call.succeeded', latencyMs } : { type: 'call.succeeded', latencyMs, latenciesMs: latencies });
  }

  private async run<T>(work: (session: McpSession, signal: AbortSignal | undefined) => Promise<T>, options?: CallToolOptions): Promise<T> {
    const snapshot = this.ref.getSnapshot();
    const state = connectionStateOf(snapshot);
    const session = snapshot.context.session;
    if (!LIVE_STATES.has(state) || !session) throw new NotConnectedError(this.id, state);

    // A call lost with its connection is answered at once (the race below); the request itself
    // ends when the connection closes its session, which every way out of serving does. So the
    // SDK gets only the caller's own signal: no controller of our own per call.
    let onLost!: (error: Error) => void;
    const lost = new Promise<never>((_, reject) => {
      onLost = reject;
    });
    this.pending.add(onLost);
    const started = performance.now();
    try {
      const result = await Promise.race([work(session, options?.signal), lost]);
      this.answer(performance.now() - started);
      return result;
    } catch (error) {
      if (error instanceof ConnectionLostError) throw error;
      const classified = toConnectionError(error);
      // The transport died under the call: the same answer as a loss seen by the state machine.
      const lostUnderCall = classified.kind === 'closed' || classified.kind === 'session-expired';
      // A protocol error is still an answer: the server is alive.
      if (classified.kind === 'transient' || classified.kind === 'method-not-found') {
        this.answer(performance.now() - started);
      } else {
        // In order: the answers before this failure first.
        this.reportAnswered();
        this.ref.send({ type: 'call.failed', error: classified, latencyMs: performance.now() - started });
      }
      if (lostUnderCall) throw new ConnectionLostError(this.id, connectionStateOf(this.ref.getSnapshot()), classified);
      throw classified;
    } finally {
      this.pending.delete(onLost);
    }
  }
}

/** A session made elsewhere (no SDK client) that lacks a method: answered like a server without it. */
function unsupported(id: string, method: string): ConnectionError {
  return new ConnectionError('method-not-found', `the session of "${id}" cannot send ${method}`);
}

/** A `tools/call` request's params, with the trace context in `_meta` when there is one (SEP-414 keys). */
function toolParams(name: string, args: Record<string, unknown>, trace: TraceContext | undefined): CallToolRequest['params'] {
  if (!trace) return { name, arguments: args };
  const meta: Record<string, string> = { [TRACEPARENT_META_KEY]: trace.traceparent };
  if (trace.tracestate) meta[TRACESTATE_META_KEY] = trace.tracestate;
  return { name, arguments: args, _meta: meta };
}
