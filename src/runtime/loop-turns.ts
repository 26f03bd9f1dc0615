import { setImmediate as nextLoopTurn } from 'node:timers/promises';

/**
 * After how long a run of in-process connects stops admitting new ones until the loop has turned.
 * The handshakes already under way finish first, so the loop is held for up to this plus the cap's
 * worth of handshakes (~150–500 ms at 10 000 with a cap of 64 on a slow host).
 */
const LOOP_SLICE_MS = 50;

/**
 * Lets the event loop turn during a long run of work that never waits on I/O. In-process servers
 * connect through promise callbacks alone, and each connect that ends admits the next: a fleet of
 * them starting, or reconnecting after a storm, ran as one unbroken chain of microtasks (10 000
 * held the loop for 9 s: no timer, probe, HTTP request or scrape was served until all were up).
 * An in-process connect asks {@link LoopTurns.next} first: while the current slice lasts it goes
 * on at once; once the slice is over, it and every connect after it wait for the loop's next turn,
 * together (a turn comes only once the handshakes under way have finished), and a new slice begins.
 * Yielding on every connect instead made each wave of admitted connects wait for a whole turn of a
 * busy loop: 14.6 s for 10 000 against 11.1 s sliced, in one pair of runs.
 */
export class LoopTurns {
  private sliceStartedAt: number;
  private turn: Promise<void> | undefined;

  /** `now` is the clock slices are measured with (a test's own). */
  constructor(
    private readonly sliceMs = LOOP_SLICE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.sliceStartedAt = now();
  }

  /** Undefined while the current slice lasts; after it, the loop's next turn, one promise for every caller until it comes. */
  next(): Promise<void> | undefined {
    if (this.turn) return this.turn;
    if (this.now() - this.sliceStartedAt < this.sliceMs) return undefined;
    this.turn = (async () => {
      try {
        await nextLoopTurn();
      } finally {
        this.turn = undefined;
        this.sliceStartedAt = this.now();
      }
    })();
    return this.turn;
  }
}
