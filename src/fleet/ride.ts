import { performance } from 'node:perf_hooks';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { ConnectionError, ConnectionLostError, NotConnectedError } from '../core/errors.js';
import { roundMs } from '../core/round.js';
import type { McpSession } from '../core/session.js';
import type { ConnectionState } from '../core/states.js';
import type { TraceContext } from '../core/trace-context.js';
import { connectionStateOf } from '../machines/connection.machine.js';
import type { ConnectionActorRef } from '../machines/connection.machine.js';
import { callOutcomeOf } from './call-outcome.js';
import { UnknownServerError } from './errors.js';
import type { CallOutcome } from './events.js';
import type { Supervisor } from './supervisor.js';

/** The budget of a call to a server that sets no `timeout`: the MCP SDK's own request timeout. */
const DEFAULT_BUDGET_MS = 60_000;

const SERVING: ReadonlySet<ConnectionState> = new Set(['healthy', 'degraded']);
/** States a server leaves by itself toward serving: a call that arrives in one may wait. */
const ON_ITS_WAY: ReadonlySet<ConnectionState> = new Set(['connecting', 'reconnecting']);
/** States only an operator ends: no wait can help (zombie is on its way to `reconnecting`). */
const NEEDS_OPERATOR: ReadonlySet<ConnectionState> = new Set(['failed', 'stopped']);

/** Options of {@link rideCall}. */
export interface RideOptions {
  /** The whole budget (ms): waits + the call; default the server's callTimeoutMs, else 60 000. */
  timeoutMs?: number;
  /** Aborts the whole ride: a wait ends, a call in flight is cancelled on the server. */
  signal?: AbortSignal;
  /** The caller's W3C trace context, carried to the server (see `CallToolOptions.traceContext`). */
  traceContext?: TraceContext;
  /** Whether a call lost in flight may be sent again (the tool's readOnlyHint || idempotentHint). */
  retryable?: boolean;
  /** Wait for a connecting/reconnecting server within the budget (default true). REST passes `waitForReady` semantics. */
  waitWhileReconnecting?: boolean;
  /** Which front the call came through, for metrics: 'rest' | 'mcp'. */
  via?: 'rest' | 'mcp';
}

/**
 * Why a call was refused or failed, for the MCP front to show as an `isError` result (and the
 * REST route to map onto its status codes). `cause` is the underlying error when there is one.
 *
 * - `not_serving`: the server was not serving and the call was never sent (stopped, failed,
 *   zombie, disabled, quarantined past the budget, or still not back when the budget ran out).
 * - `connection_lost`: the connection died under the call, which may have reached the server;
 *   it was not re-sent (the tool is not read-only/idempotent, the server did not come back in
 *   time, or it was lost again after its one re-send: `retried`).
 * - `timeout`: no answer within the budget. Never re-sent.
 * - `aborted`: the caller's signal.
 * - `upstream_error`: the server answered with a protocol error, or the transport failed otherwise.
 */
export class RideError extends Error {
  /** Always `'RideError'`. */
  override readonly name = 'RideError';
  /** What went wrong, in one word. */
  readonly code: 'not_serving' | 'connection_lost' | 'timeout' | 'aborted' | 'upstream_error';
  /** The id of the server called. */
  readonly server: string;
  /** The server's connection state when the call was given up (absent when it says nothing). */
  readonly state?: string;
  /** Whether the call was sent a second time after a loss (and this is how the second sending ended). */
  readonly retried: boolean;

  /**
   * @param code - what went wrong
   * @param server - the server called
   * @param message - the reason, for a person (or a model) to read
   * @param details - state, whether it was re-sent, and the underlying error
   */
  constructor(code: RideError['code'], server: string, message: string, details: { state?: string; retried?: boolean; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.server = server;
    if (details.state !== undefined) this.state = details.state;
    this.retried = details.retried ?? false;
  }
}

/**
 * The one code path of a proxied tool call (REST and /mcp): calls the tool when the server is
 * serving, waits (within the call's own budget) for one that is on its way back, and re-sends a
 * call lost in flight once, only when the tool says it is read-only or idempotent. Everything,
 * waits included, ends within the budget or when `signal` aborts. Publishes one `call.completed`
 * per call (its waits and re-send included), refusals too, with `via` and `retried`.
 *
 * Throws `UnknownServerError` for an id not in the fleet, `RideError` for everything else; a
 * result with `isError` is returned, not thrown.
 */
export async function rideCall(supervisor: Supervisor, id: string, tool: string, args: Record<string, unknown>, options: RideOptions = {}): Promise<CallToolResult> {
  const started = performance.now();
  const budgetMs = options.timeoutMs ?? supervisor.definition(id).callTimeoutMs ?? DEFAULT_BUDGET_MS;
  const ride = new Ride(supervisor, id, tool, options, budgetMs, started + budgetMs);
  let outcome: CallOutcome = 'ok';
  try {
    const result = await ride.run(args);
    if (result.isError) outcome = 'tool_error';
    return result;
  } catch (error) {
    outcome = ride.outcome ?? callOutcomeOf(error);
    throw error;
  } finally {
    supervisor.recordCall({
      id,
      tool,
      outcome,
      latencyMs: roundMs(performance.now() - started),
      ...(options.via ? { via: options.via } : {}),
      ...(ride.retried ? { retried: true } : {}),
    });
  }
}

/** One ride: its budget, whether it lost a call it may re-send, and how it ended. */
class Ride {
  /** Whether the call was sent a second time. */
  retried = false;
  /** How the ride ended, for `call.completed`, when it ended with a `RideError`. */
  outcome: CallOutcome | undefined;
  /** The loss of the first sending of a call that may be re-sent: from then on the ride waits for the re-send. */
  private lost: ConnectionLostError | undefined;
  /**
   * The session the lost sending went out on. The re-send waits for another one: the SDK may
   * reject a call on a closed transport before the actor has left `healthy`.
   */
  private lostSession: McpSession | undefined;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly id: string,
    private readonly tool: string,
    private readonly options: RideOptions,
    private readonly budgetMs: number,
    /** `performance.now()` at which the budget ends. */
    private readonly deadline: number,
  ) {}

  async run(args: Record<string, unknown>): Promise<CallToolResult> {
    for (;;) {
      const state = this.stateNow();
      if (!this.ready(state, this.sessionNow())) {
        await this.waitOrGiveUp(state);
        continue;
      }
      const remaining = this.deadline - performance.now();
      if (remaining <= 0) throw this.outOfBudget(state);
      if (this.lost) this.retried = true;
      const session = this.sessionNow();
      try {
        const { signal, traceContext } = this.options;
        return await this.supervisor.callTool(this.id, this.tool, args, { timeoutMs: Math.ceil(remaining), signal, traceContext, publish: false });
      } catch (error) {
        this.onFailedSend(error, session);
      }
    }
  }

  /** Throws how a sending ended, or returns when the ride should go on (wait, then send). */
  private onFailedSend(error: unknown, session: McpSession | undefined): void {
    const { id, tool } = this;
    if (this.options.signal?.aborted) throw this.fail('aborted', callOutcomeOf(error), `the call to ${tool} on "${id}" was cancelled by the caller`, { cause: error });
    // Nothing was sent (the server left service between our look and the send): safe to wait
    // and send, whatever the tool does.
    if (error instanceof NotConnectedError) {
      if (this.lost || this.waitsAtArrival()) return;
      throw this.fail('not_serving', 'not_connected', this.notServingMessage(error.state), { state: error.state, cause: error });
    }
    if (error instanceof ConnectionLostError) {
      if (!this.retried && this.options.retryable) {
        this.lost = error;
        this.lostSession = session;
        return;
      }
      const why = this.retried
        ? 'it was lost again after its one re-send'
        : `it was not re-sent because ${tool} is not marked read-only or idempotent`;
      throw this.fail('connection_lost', 'connection_lost', `the connection to "${id}" was lost during the call to ${tool}; ${why} (${error.message})`, {
        state: error.state,
        cause: error,
      });
    }
    if (error instanceof ConnectionError && error.kind === 'timeout') {
      throw this.fail('timeout', 'timeout', `no answer from "${id}" to ${tool} within ${this.budgetMs} ms (${error.message})`, { cause: error });
    }
    throw this.fail('upstream_error', callOutcomeOf(error), error instanceof Error ? error.message : String(error), { cause: error });
  }

  /** A server not serving now: waits for it when the rules allow, else throws why not. */
  private async waitOrGiveUp(state: ConnectionState): Promise<void> {
    const retrying = this.lost !== undefined;
    // Serving but not ready: between a session and the next (or, for a re-send, the lost one
    // still in place); the next transition is on its way.
    const onItsWay = ON_ITS_WAY.has(state) || SERVING.has(state);
    const mayWait = retrying ? !NEEDS_OPERATOR.has(state) : this.waitsAtArrival() && onItsWay;
    if (!mayWait) throw this.giveUp(state, this.notServingMessage(state));
    const until = this.quarantinedUntil();
    if (until !== undefined && until > this.deadlineEpoch()) {
      throw this.giveUp(state, `"${this.id}" is quarantined as flapping until ${new Date(until).toISOString()}, after the call's budget of ${this.budgetMs} ms ends${this.lastErrorSuffix()}`);
    }
    if (this.options.signal?.aborted) throw this.fail('aborted', retrying ? 'connection_lost' : 'not_connected', `the call to ${this.tool} on "${this.id}" was cancelled by the caller while "${this.id}" was ${state}`, { state, cause: this.options.signal.reason });
    if (this.deadline - performance.now() <= 0) throw this.outOfBudget(state);
    await this.nextChange();
  }

  /**
   * Resolves when the server starts serving, reaches a state only an operator ends, gets
   * quarantined past the budget, leaves the fleet, the budget ends or the signal aborts:
   * the ride then looks again. Subscriptions, not polling: an answer within the actor's own turn.
   */
  private nextChange(): Promise<void> {
    const { supervisor } = this;
    const { signal } = this.options;
    return new Promise((resolve) => {
      const unsubscribers: Array<() => void> = [];
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        for (const unsubscribe of unsubscribers) unsubscribe();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, this.deadline - performance.now()));
      const ref = this.connectionOrNone();
      if (!ref) {
        done();
        return;
      }
      const check = (): void => {
        const snapshot = ref.getSnapshot();
        const state = connectionStateOf(snapshot);
        const until = this.quarantinedUntil();
        if (this.ready(state, snapshot.context.session) || NEEDS_OPERATOR.has(state) || (until !== undefined && until > this.deadlineEpoch())) done();
      };
      const observer = { next: check, error: done, complete: done };
      const onConnection = ref.subscribe(observer);
      const onSupervisor = supervisor.actor.subscribe(observer);
      unsubscribers.push(() => onConnection.unsubscribe(), () => onSupervisor.unsubscribe());
      signal?.addEventListener('abort', done, { once: true });
      check();
    });
  }

  /** Whether the call can be sent now: serving, and for a re-send, on a new session. */
  private ready(state: ConnectionState, session: McpSession | undefined): boolean {
    return SERVING.has(state) && session !== undefined && session !== this.lostSession;
  }

  /** The server's connection actor; none for a disabled server or one removed meanwhile. */
  private connectionOrNone(): ConnectionActorRef | undefined {
    try {
      return this.supervisor.connection(this.id);
    } catch {
      return undefined;
    }
  }

  /** The connection's session now, if it has one. */
  private sessionNow(): McpSession | undefined {
    return this.connectionOrNone()?.getSnapshot().context.session;
  }

  /** Whether a call that finds its server connecting/reconnecting waits for it. */
  private waitsAtArrival(): boolean {
    return this.options.waitWhileReconnecting ?? true;
  }

  /** The server's state now; a server removed during the ride ends it. */
  private stateNow(): ConnectionState {
    try {
      return this.supervisor.state(this.id);
    } catch (error) {
      if (!(error instanceof UnknownServerError)) throw error;
      throw this.giveUp(undefined, `"${this.id}" was removed from the fleet during the call`, error);
    }
  }

  /** The budget ran out while the server was not serving. */
  private outOfBudget(state: ConnectionState): RideError {
    return this.giveUp(state, `"${this.id}" did not come back into service within the call's budget of ${this.budgetMs} ms (now ${state}${this.lastErrorSuffix(';')})`);
  }

  /**
   * The ride ends without sending (again): `not_serving` when nothing was sent, `connection_lost`
   * when the first sending was lost and the re-send never happened.
   */
  private giveUp(state: ConnectionState | undefined, reason: string, cause?: unknown): RideError {
    const details = { ...(state === undefined ? {} : { state }), ...(cause === undefined ? {} : { cause }) };
    if (!this.lost) return this.fail('not_serving', 'not_connected', reason, details);
    return this.fail('connection_lost', 'connection_lost', `the connection to "${this.id}" was lost during the call to ${this.tool}, and it was not re-sent: ${reason}`, {
      ...details,
      cause: cause ?? this.lost,
    });
  }

  private fail(code: RideError['code'], outcome: CallOutcome, message: string, details: { state?: string; cause?: unknown }): RideError {
    this.outcome = outcome;
    return new RideError(code, this.id, message, { ...details, retried: this.retried });
  }

  private notServingMessage(state: string): string {
    return `"${this.id}" is not serving (${state})${this.lastErrorSuffix()}`;
  }

  /** `: <the server's last error>` (or `<sep> last error: …`), or nothing when it has none. */
  private lastErrorSuffix(separator?: string): string {
    let message: string | undefined;
    try {
      message = this.supervisor.view(this.id).lastError?.message;
    } catch {
      return '';
    }
    if (message === undefined) return '';
    return separator === undefined ? `: ${message}` : `${separator} last error: ${message}`;
  }

  /** When the server's flap quarantine ends (epoch ms), if it is quarantined. */
  private quarantinedUntil(): number | undefined {
    return this.supervisor.snapshot.context.quarantine.get(this.id)?.until;
  }

  /** The end of the budget in epoch ms, to compare with quarantine ends. */
  private deadlineEpoch(): number {
    return Date.now() + (this.deadline - performance.now());
  }
}
