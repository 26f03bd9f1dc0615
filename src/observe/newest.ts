/**
 * The newest `capacity` items of an append-only stream (the audit ring, the `/events` history).
 * Trimmed in batches: it may hold up to twice `capacity` and is cut back at once, since dropping
 * the oldest on every push moved the whole array each time (6.5 µs per event at 1 000, two events
 * per proxied tool call). Reads see only the newest `capacity`.
 */
export class NewestItems<T> {
  private items: T[] = [];

  /** @param capacity - how many are kept (at least 1). */
  constructor(readonly capacity: number) {}

  /** Appends one item. */
  push(item: T): void {
    this.items.push(item);
    if (this.items.length >= this.capacity * 2) this.items = this.toArray();
  }

  /** The oldest of the newest `capacity`, if any. */
  get oldest(): T | undefined {
    return this.items[this.start()];
  }

  /** The newest `capacity`, oldest first (a copy). */
  toArray(): T[] {
    return this.items.slice(this.start());
  }

  private start(): number {
    return Math.max(0, this.items.length - this.capacity);
  }
}
