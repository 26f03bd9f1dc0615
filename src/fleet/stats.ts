import { CONNECTION_STATES } from '../core/states.js';
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

/** A state as a small number in {@link ServerRecord}'s log; -1 for none. */
const STATE_CODES: ReadonlyMap<ConnectionState, number> = new Map(CONNECTION_STATES.map((state, index) => [state, index]));

/**
 * One server's facts, kept small: a fleet holds one per server, so at 10 000 servers every byte
 * here is 10 kB. Transitions are three plain numbers each in one array (V8 stores an all-number
 * array unboxed: 24 bytes a transition), reasons in a second array made only once one has a
 * reason; {@link ServerRecord.history} builds the records when asked (the actor detail, rarely).
 * An object per transition and their array took ~1 kB a server.
 */
class ServerRecord implements ServerStats {
  errorCount = 0;
  lastProbeAt: number | null = null;
  /** Each transition as `from, to, at` (states as codes, -1 for none), oldest first. */
  private readonly log: number[] = [];
  /** Reasons, index for index with the transitions; undefined until a transition has one. */
  private reasons: Array<string | undefined> | undefined;

  get history(): TransitionRecord[] {
    const records: TransitionRecord[] = [];
    for (let index = 0; index < this.log.length; index += 3) {
      records.push({ from: stateOf(this.log[index]!), to: stateOf(this.log[index + 1]!)!, at: this.log[index + 2]!, reason: this.reasons?.[index / 3] });
    }
    return records;
  }

  push(from: ConnectionState | undefined, to: ConnectionState, at: number, reason: string | undefined): void {
    if (reason !== undefined) (this.reasons ??= []).length = this.log.length / 3;
    this.log.push(codeOf(from), codeOf(to), at);
    this.reasons?.push(reason);
    if (this.log.length / 3 > HISTORY_CAPACITY) {
      this.log.splice(0, 3);
      this.reasons?.shift();
    }
  }
}

function codeOf(state: ConnectionState | undefined): number {
  return state === undefined ? -1 : STATE_CODES.get(state)!;
}

function stateOf(code: number): ConnectionState | undefined {
  return code < 0 ? undefined : CONNECTION_STATES[code];
}

/**
 * Keeps the few per-server facts the API shows, from the supervisor's event stream; synchronous,
 * so they are never behind the actors.
 */
export class StatsBook {
  private readonly stats = new Map<string, ServerRecord>();
  /** Servers an operator just sent a command to, so the transition it causes is not an error. */
  private readonly commanded = new Set<string>();

  /**
   * The facts of one server now (empty ones before its first event): a plain object whose
   * `history` is built when read (JSON and `{ ...stats }` read it too), so `/health` over a large
   * fleet does not build every server's history.
   */
  of(id: string): ServerStats {
    const record = this.stats.get(id);
    if (!record) return { errorCount: 0, lastProbeAt: null, history: [] };
    return {
      errorCount: record.errorCount,
      lastProbeAt: record.lastProbeAt,
      get history() {
        return record.history;
      },
    };
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
    let stats = this.stats.get(event.id);
    if (!stats) this.stats.set(event.id, (stats = new ServerRecord()));
    if (event.type === 'probe.completed') {
      stats.lastProbeAt = event.at;
      if (!ANSWERED.has(event.outcome)) stats.errorCount += 1;
      return;
    }
    stats.push(event.from, event.to, event.at, event.reason);
    const operatorAsked = this.commanded.delete(event.id);
    if (event.to === 'failed' || event.to === 'zombie') stats.errorCount += 1;
    // A first start, a start after stop and an operator's reconnect also pass through `reconnecting`.
    else if (event.to === 'reconnecting' && !operatorAsked && event.from !== undefined && FAILURE_SOURCES.has(event.from)) stats.errorCount += 1;
  }
}
