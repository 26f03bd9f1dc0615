import type { ConnectionState } from '../core/states.js';
import type { SupervisorEmitted } from '../machines/supervisor.machine.js';

/** One top-level state change of a connection, as kept in its history. */
export interface TransitionRecord {
  /** The state left; undefined for the connection's first state. */
  from: ConnectionState | undefined;
  /** The state entered. */
  to: ConnectionState;
  /** Epoch ms. */
  at: number;
  /** Why, for `reconnecting`, `zombie` and `failed`: the last error's message. */
  reason: string | undefined;
}

/** Per-server facts gathered from the event stream, for `/health` and the actor detail. */
export interface ServerStats {
  /** Failed probes, zombies, failures and unplanned falls into `reconnecting`. */
  errorCount: number;
  /** When the last probe completed (epoch ms); null before the first. */
  lastProbeAt: number | null;
  /** The last 50 transitions (`HISTORY_CAPACITY`), oldest first. */
  history: TransitionRecord[];
}

/** Transitions kept per server for the actor detail. */
export const HISTORY_CAPACITY = 50;

/** States whose fall into `reconnecting` is a failure rather than a start. */
const FAILURE_SOURCES: ReadonlySet<ConnectionState> = new Set(['connecting', 'healthy', 'degraded']);

const ANSWERED = new Set(['fast', 'slow', 'method-not-found']);

/**
 * Keeps the few per-server facts the API shows, from the supervisor's event stream; synchronous,
 * so they are never behind the actors.
 */
export class StatsBook {
  private readonly stats = new Map<string, ServerStats>();
  /** Servers an operator just sent a command to, so the transition it causes is not an error. */
  private readonly commanded = new Set<string>();

  /** The facts of one server (empty ones before its first event). */
  of(id: string): ServerStats {
    return this.stats.get(id) ?? { errorCount: 0, lastProbeAt: null, history: [] };
  }

  /** The next transition of this server was asked for by an operator. */
  commandSent(id: string): void {
    this.commanded.add(id);
  }

  forget(id: string): void {
    this.stats.delete(id);
    this.commanded.delete(id);
  }

  record(event: SupervisorEmitted): void {
    if (event.type !== 'state.changed' && event.type !== 'probe.completed') return;
    const stats = this.of(event.id);
    this.stats.set(event.id, stats);
    if (event.type === 'probe.completed') {
      stats.lastProbeAt = event.at;
      if (!ANSWERED.has(event.outcome)) stats.errorCount += 1;
      return;
    }
    stats.history.push({ from: event.from, to: event.to, at: event.at, reason: event.reason });
    if (stats.history.length > HISTORY_CAPACITY) stats.history.shift();
    const operatorAsked = this.commanded.delete(event.id);
    if (event.to === 'failed' || event.to === 'zombie') stats.errorCount += 1;
    // A first start, a start after stop and an operator's reconnect also pass through `reconnecting`.
    else if (event.to === 'reconnecting' && !operatorAsked && event.from !== undefined && FAILURE_SOURCES.has(event.from)) stats.errorCount += 1;
  }
}
