/** How one subscriber to an event stream is buffered. */
export interface SubscribeOptions {
  /** Events held for a slow subscriber before the oldest are dropped; default 1000. */
  bufferSize?: number;
  /** Told how many events this subscriber lost, once per overflow. */
  onOverflow?: (dropped: number) => void;
}

interface Subscriber<E> {
  listener: (event: E) => void | Promise<void>;
  queue: E[];
  bufferSize: number;
  onOverflow: ((dropped: number) => void) | undefined;
  draining: boolean;
  closed: boolean;
}

/**
 * Fans one event stream out to many consumers without letting any of them slow the producer:
 * `publish` only appends to each subscriber's bounded queue; delivery happens later, in order,
 * one event at a time per subscriber (an async listener is awaited before its next event). A
 * subscriber that cannot keep up loses its oldest events, never anyone else's.
 */
export class EventBus<E> {
  private readonly subscribers = new Set<Subscriber<E>>();
  /**
   * Subscribers with events to deliver and no delivery under way, started together on the next
   * turn: one `setImmediate` per bus rather than one per subscriber and event (the fleet's bus
   * has several subscribers, and a proxied tool call publishes an event).
   */
  private due: Array<Subscriber<E>> = [];

  subscribe(listener: (event: E) => void | Promise<void>, options: SubscribeOptions = {}): () => void {
    const subscriber: Subscriber<E> = {
      listener,
      queue: [],
      bufferSize: options.bufferSize ?? 1_000,
      onOverflow: options.onOverflow,
      draining: false,
      closed: false,
    };
    this.subscribers.add(subscriber);
    return () => {
      subscriber.closed = true;
      subscriber.queue.length = 0;
      this.subscribers.delete(subscriber);
    };
  }

  publish(event: E): void {
    for (const subscriber of this.subscribers) {
      subscriber.queue.push(event);
      if (subscriber.queue.length > subscriber.bufferSize) {
        const dropped = subscriber.queue.length - subscriber.bufferSize;
        subscriber.queue.splice(0, dropped);
        subscriber.onOverflow?.(dropped);
      }
      if (!subscriber.draining) {
        subscriber.draining = true;
        if (this.due.push(subscriber) === 1) setImmediate(() => this.drainDue());
      }
    }
  }

  /** Starts delivering to every subscriber that has events waiting. */
  private drainDue(): void {
    const due = this.due;
    this.due = [];
    for (const subscriber of due) void this.drain(subscriber);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  private async drain(subscriber: Subscriber<E>): Promise<void> {
    while (!subscriber.closed) {
      const event = subscriber.queue.shift();
      if (event === undefined) break;
      try {
        // Only an async listener's promise is awaited: awaiting every plain listener's
        // `undefined` cost a turn of the microtask queue per event and subscriber.
        const delivered = subscriber.listener(event);
        if (delivered !== undefined) await delivered;
      } catch {
        // A failing consumer must not take the stream down for the others.
      }
    }
    subscriber.draining = false;
  }
}
