/** One line a server wrote, with when and on which stream. */
export interface LogLine {
  /** When the chunk holding the line's end was read (epoch ms). */
  at: number;
  /** Which stream it came from (stdout only for launched HTTP servers; for stdio it is the protocol). */
  stream: 'stderr' | 'stdout';
  /** The line without its line break, cut at `maxLineLength` characters. */
  text: string;
}

/** Told of each completed line, right after it enters the ring. */
export type LogListener = (line: LogLine) => void;

/**
 * Where a fleet's server output also goes besides each server's ring, e.g. files
 * (`CreateSupervisorOptions.logSink`). Lines arrive redacted, as the ring keeps them.
 */
export interface LogSink {
  /** Called once per server, when its ring is made: the listener is told of each of its lines. */
  open(id: string): LogListener;
  /** Called when the server leaves the fleet. */
  close(id: string): void;
}

/**
 * Keeps the last `capacity` lines a child wrote. Reading the stream eagerly into a bounded ring
 * means a chatty server never blocks on a full pipe, and never grows our memory without bound:
 * at most `capacity` lines of at most `maxLineLength` characters, plus one unfinished line of
 * at most `maxLineLength` per stream.
 */
export class LogRing {
  private readonly lines: LogLine[] = [];
  /** The unfinished last line of each stream: stdout and stderr interleave, their lines must not. */
  private readonly partial: Record<LogLine['stream'], string> = { stderr: '', stdout: '' };
  private readonly listeners = new Set<LogListener>();
  private dropped = 0;
  private redact: ((text: string) => string) | undefined;

  constructor(
    /** Lines kept; the oldest go first. */
    readonly capacity = 500,
    /** Longer lines are cut: one runaway line must not defeat the bound. */
    readonly maxLineLength = 4_096,
  ) {}

  /**
   * Every line completed from now on goes through `redact` before it is kept or told to
   * listeners: a server that prints its own token or URL must not have it shown by `/logs`.
   * Lines are redacted whole, so a secret split across two chunks of the stream is still found.
   */
  redactWith(redact: (text: string) => string): void {
    this.redact = redact;
  }

  /** Appends a chunk of a stream's output; each line it completes enters the ring. */
  write(chunk: string, stream: LogLine['stream'] = 'stderr', at = Date.now()): void {
    const parts = (this.partial[stream] + chunk).split('\n');
    this.partial[stream] = (parts.pop() ?? '').slice(0, this.maxLineLength);
    for (const part of parts) this.push({ at, stream, text: this.clean(part.replace(/\r$/, '')).slice(0, this.maxLineLength) });
  }

  /** Keeps a stream's unfinished last line: a crash message often has no trailing newline. */
  flush(stream: LogLine['stream'], at = Date.now()): void {
    const rest = this.partial[stream];
    this.partial[stream] = '';
    if (rest !== '') this.push({ at, stream, text: this.clean(rest.replace(/\r$/, '')) });
  }

  /** The newest `count` lines, oldest first. */
  tail(count = this.capacity): LogLine[] {
    return this.lines.slice(Math.max(0, this.lines.length - count));
  }

  /** Lines that fell out of the ring because newer ones came. */
  get droppedLines(): number {
    return this.dropped;
  }

  /**
   * Calls `listener` with every line completed from now on (synchronously, from `write`); returns
   * the unsubscribe function. A listener that throws is ignored, never the writer's problem. Taking
   * `tail()` in the same synchronous step as subscribing gives history and live lines without gap or
   * duplicate.
   */
  subscribe(listener: LogListener): () => void {
    // A wrapper, so the same function subscribed twice is two subscriptions.
    const entry: LogListener = (line) => listener(line);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Listeners subscribed now. */
  get subscriberCount(): number {
    return this.listeners.size;
  }

  private clean(text: string): string {
    return this.redact ? this.redact(text) : text;
  }

  private push(line: LogLine): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) {
      this.lines.shift();
      this.dropped += 1;
    }
    for (const listener of this.listeners) {
      try {
        listener(line);
      } catch {
        // A subscriber's failure must not break reading the child's output.
      }
    }
  }
}
