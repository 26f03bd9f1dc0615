import { EventBus } from '../fleet/event-bus.js';
import type { SubscribeOptions } from '../fleet/event-bus.js';
import type { FleetEvent } from '../fleet/events.js';
import type { AuditRecorded } from './audit.js';
import { NewestItems } from './newest.js';

/** Events this history itself lost (the supervisor published faster than it could record). */
export interface HistoryGap {
  /** Always `'gap'`. */
  type: 'gap';
  /** How many events were lost. */
  dropped: number;
  /** When the gap was recorded (epoch ms). */
  at: number;
}

/** What the `/events` stream carries: every fleet event, the audit trail's records, and a gap marker where the history lost some. */
export type StreamEvent = FleetEvent | AuditRecorded | HistoryGap;

/** Where a history's events come from: the supervisor, or it merged with other sources (audit, cluster). */
export interface EventSource {
  /** Every event from now on, through a bounded buffer (see `EventBus`). */
  subscribe(listener: (event: FleetEvent | AuditRecorded) => void | Promise<void>, options?: SubscribeOptions): () => void;
}

const TYPES: Record<StreamEvent['type'], true> = {
  'state.changed': true,
  'probe.completed': true,
  'slot.granted': true,
  'quarantine.started': true,
  'panic.started': true,
  'panic.ended': true,
  'server.added': true,
  'server.removed': true,
  'call.completed': true,
  'resource.exceeded': true,
  'leak.suspected': true,
  'audit.recorded': true,
  gap: true,
};

/** Every `type` the stream carries (the SSE `event:` names). */
export const STREAM_EVENT_TYPES = Object.keys(TYPES) as ReadonlyArray<StreamEvent['type']>;

export function isStreamEventType(type: string): type is StreamEvent['type'] {
  return Object.hasOwn(TYPES, type);
}

/** One event with its place in the stream: ids start at 1 and increase by 1 per event. */
export interface Sequenced {
  /** The event's id (the SSE `id:`, what a client resumes after with `Last-Event-ID`). */
  id: number;
  /** The event itself. */
  event: StreamEvent;
}

/** Options of an `EventHistory`; every field has a default. */
export interface EventHistoryOptions {
  /** Events retained for resuming clients; default 1000. */
  capacity?: number;
  /** The history's own buffer on the supervisor's bus; default 10 000. */
  bufferSize?: number;
}

/** What a client resuming after `lastId` gets from the history. */
export interface Replay {
  /** Retained events with an id above the one asked for, oldest first. */
  events: Sequenced[];
  /**
   * `gap`: events after `lastId` were already evicted, `events` is all that is retained.
   * `reset`: `lastId` is beyond anything this history issued (a previous process); `events` is all
   * that is retained. `undefined`: `events` continue exactly after `lastId`.
   */
  discontinuity: 'gap' | 'reset' | undefined;
}

/**
 * The fleet's event stream numbered and kept, bounded, for `/events` clients that resume with
 * `Last-Event-ID`. Subscribes once to the supervisor; clients subscribe here, so every client
 * sees the same ids.
 */
export class EventHistory {
  private readonly retained: NewestItems<Sequenced>;
  private readonly live = new EventBus<Sequenced>();
  private readonly unsubscribe: () => void;
  private nextId = 1;
  private pendingDropped = 0;

  constructor(supervisor: EventSource, options: EventHistoryOptions = {}) {
    this.retained = new NewestItems(Math.max(1, options.capacity ?? 1_000));
    this.unsubscribe = supervisor.subscribe((event) => this.record(event), {
      bufferSize: options.bufferSize ?? 10_000,
      onOverflow: (dropped) => {
        this.pendingDropped += dropped;
      },
    });
  }

  /** The id of the newest event issued; 0 before the first. */
  get lastId(): number {
    return this.nextId - 1;
  }

  /** The id of the oldest event still retained, if any. */
  get firstId(): number | undefined {
    return this.retained.oldest?.id;
  }

  /** Clients listening live. */
  get subscriberCount(): number {
    return this.live.subscriberCount;
  }

  /** Everything retained after `lastId`, and whether that continues the client's stream. */
  since(lastId: number): Replay {
    if (lastId > this.lastId) return { events: this.retained.toArray(), discontinuity: 'reset' };
    const first = this.firstId;
    if (first === undefined || lastId >= first - 1) return { events: this.retained.toArray().filter((entry) => entry.id > lastId), discontinuity: undefined };
    return { events: this.retained.toArray(), discontinuity: 'gap' };
  }

  /** Live events from now on, each client with its own bounded buffer (see `EventBus`). */
  subscribe(listener: (entry: Sequenced) => void | Promise<void>, options?: SubscribeOptions): () => void {
    return this.live.subscribe(listener, options);
  }

  /** Stops recording the supervisor's events; clients already subscribed get no more. */
  close(): void {
    this.unsubscribe();
  }

  private record(event: FleetEvent | AuditRecorded): void {
    if (this.pendingDropped > 0) {
      this.append({ type: 'gap', dropped: this.pendingDropped, at: Date.now() });
      this.pendingDropped = 0;
    }
    this.append(event);
  }

  private append(event: StreamEvent): void {
    const entry: Sequenced = { id: this.nextId++, event };
    this.retained.push(entry);
    this.live.publish(entry);
  }
}
