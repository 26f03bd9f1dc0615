/**
 * Every transport teardown still running, across all connections of one fleet, so a graceful
 * stop can wait for them. A stop that cuts a connect attempt short (the connection is `stopped`
 * at once) leaves that attempt's process to be closed in the background; without this wait the
 * supervisor's own process could exit first and leave the server running with PPID 1.
 */
export class PendingTeardowns {
  private readonly pending = new Set<Promise<unknown>>();

  /** Keeps `teardown` until it settles. */
  add(teardown: Promise<unknown>): void {
    const settled = teardown.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
  }

  /** How many teardowns are still running. */
  get size(): number {
    return this.pending.size;
  }

  /** Resolves once every teardown (including ones added meanwhile) has settled, or after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
      await Promise.race([Promise.all([...this.pending]), timeout]);
      clearTimeout(timer);
    }
  }
}
