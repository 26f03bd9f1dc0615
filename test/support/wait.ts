// Bounded waits for conditions that no actor snapshot announces (event arrays, /proc, streams).
// They poll, and fail with a message after the deadline; they never stand in for a fixed sleep.

/** Polls `probe` until it returns something other than undefined/false; throws after `timeoutMs`. */
export async function waitUntil<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  message: () => string,
  abort?: Promise<unknown>,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let aborted = false;
  void abort?.then(() => (aborted = true));
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (aborted) throw new Error(`gave up: the process exited. ${message()}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${message()}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Polls until `predicate` holds; throws, naming `what`, after `timeoutMs`. */
export async function until(predicate: () => boolean, what: string | (() => string), timeoutMs = 5_000, everyMs = 5): Promise<void> {
  await waitUntil(() => predicate() || undefined, timeoutMs, typeof what === 'string' ? () => what : what, undefined, everyMs);
}
