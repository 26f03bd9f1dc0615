/**
 * Runs at most `size` tasks at once; the others wait in order. Reads that scan files for a
 * request (`GET /audit`, `GET /actors/:id/logs`) go through one, so that many requests at once
 * cannot hold many file scans (and their buffers) at once.
 */
export class Gate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  /** Runs `task` once fewer than `size` others run. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its place straight to the next waiter, so none can jump the queue.
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
