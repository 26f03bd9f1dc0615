/** One line a server wrote, with when and on which stream. */
export interface LogLine {
  at: number;
  stream: 'stderr' | 'stdout';
  text: string;
}

/**
 * Keeps the last `capacity` lines a child wrote. Reading the stream eagerly into a bounded ring
 * means a chatty server never blocks on a full pipe, and never grows our memory without bound.
 */
export class LogRing {
  private readonly lines: LogLine[] = [];
  private partial = '';
  private dropped = 0;

  constructor(
    readonly capacity = 500,
    /** Longer lines are cut: one runaway line must not defeat the bound. */
    readonly maxLineLength = 4_096,
  ) {}

  write(chunk: string, stream: LogLine['stream'] = 'stderr', at = Date.now()): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = (parts.pop() ?? '').slice(0, this.maxLineLength);
    for (const part of parts) this.push({ at, stream, text: part.replace(/\r$/, '').slice(0, this.maxLineLength) });
  }

  /** The newest `count` lines, oldest first. */
  tail(count = this.capacity): LogLine[] {
    return this.lines.slice(Math.max(0, this.lines.length - count));
  }

  get droppedLines(): number {
    return this.dropped;
  }

  private push(line: LogLine): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) {
      this.lines.shift();
      this.dropped += 1;
    }
  }
}
