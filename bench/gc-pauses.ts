// What a slow sample met: the GC pauses that fell inside it. A page's p99 of 50 and a scrape's
// slowest of ten are single requests, and at 10 000 connections whichever request a scavenge
// lands in pays ~10 ms (docs/performance.md); the bench says so for each run instead of guessing.
import { PerformanceObserver } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';

/** One timed sample: when it ran, on `performance.now()`'s clock (the clock GC entries use). */
export interface TimedSample {
  start: number;
  end: number;
}

/** The GC pauses inside one sample: how many and how long together (ms). */
export interface PausesWithin {
  count: number;
  ms: number;
}

/** Records every GC pause from now until `stop()`, to ask later which fell inside a sample. */
export class GcPauses {
  private readonly pauses: Array<{ start: number; duration: number }> = [];
  private readonly observer = new PerformanceObserver((list) => this.record(list.getEntries()));

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /**
   * Stops recording. A GC's entry is made on a later turn of the loop than the GC itself and
   * reaches the observer on the turn after that: two turns, then whatever is still buffered.
   */
  async stop(): Promise<void> {
    await turn();
    await turn();
    this.record(this.observer.takeRecords());
    this.observer.disconnect();
  }

  private record(entries: readonly PerformanceEntry[]): void {
    for (const entry of entries) this.pauses.push({ start: entry.startTime, duration: entry.duration });
  }

  /** The pauses that began inside `sample`. */
  within(sample: TimedSample): PausesWithin {
    const inside = this.pauses.filter((pause) => pause.start >= sample.start && pause.start < sample.end);
    return { count: inside.length, ms: inside.reduce((sum, pause) => sum + pause.duration, 0) };
  }
}

/** The slowest of `samples` (undefined for none). */
export function slowest(samples: readonly TimedSample[]): TimedSample | undefined {
  return samples.reduce<TimedSample | undefined>((worst, sample) => (worst === undefined || sample.end - sample.start > worst.end - worst.start ? sample : worst), undefined);
}
