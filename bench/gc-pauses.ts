// What a slow sample met: the GC pauses that fell inside it. A page row's p99 and slowest of 200
// and a scrape's slowest of ten are single requests, and at 10 000 connections whichever request a scavenge
// lands in pays ~10 ms (docs/performance.md); the bench says so for each run instead of guessing.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';
import { percentileIndex } from './harness.js';
import type { ThreadTimes } from './main-thread.js';

/** One timed sample: when it ran, on `performance.now()`'s clock (the clock GC entries use). */
export interface TimedSample {
  start: number;
  end: number;
  /** The main thread's time on a CPU and waiting for one meanwhile, where the OS tells. */
  thread?: ThreadTimes;
}

/** The GC pauses inside one sample: how many, how long together (ms), and of which kinds. */
export interface PausesWithin {
  count: number;
  ms: number;
  /** e.g. `minor 7.9 ms`, one per pause in the order they came. */
  kinds: string[];
}

const KIND_NAMES = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weak callbacks'],
]);

interface Pause {
  start: number;
  duration: number;
  kind: string;
}

/** Records every GC pause from now until `stop()`, to ask later which fell inside a sample. */
export class GcPauses {
  private readonly pauses: Pause[] = [];
  private readonly observer = new PerformanceObserver((list) => this.record(list.getEntries()));

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /**
   * Stops recording. Node makes a GC's entry in a native immediate after the GC, and those run
   * before the loop's JS immediates: after one turn the entry is in the observer's buffer, which
   * `takeRecords` empties. The second turn is margin.
   */
  async stop(): Promise<void> {
    await turn();
    await turn();
    this.record(this.observer.takeRecords());
    this.observer.disconnect();
  }

  /** The pauses that began inside `sample` (a pause blocks the thread, so none straddles a start). */
  within(sample: TimedSample): PausesWithin {
    const inside = this.pauses.filter((pause) => pause.start >= sample.start && pause.start < sample.end);
    return {
      count: inside.length,
      ms: inside.reduce((sum, pause) => sum + pause.duration, 0),
      kinds: inside.map((pause) => `${pause.kind} ${pause.duration.toFixed(1)} ms`),
    };
  }

  private record(entries: readonly PerformanceEntry[]): void {
    for (const entry of entries) {
      // A GC entry's `detail` holds its kind; @types/node's PerformanceEntry does not declare it.
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      this.pauses.push({ start: entry.startTime, duration: entry.duration, kind: (kind !== undefined && KIND_NAMES.get(kind)) || 'other' });
    }
  }
}

/**
 * The sample `percentile` (bench/harness.ts) reports as the p-th percentile of the samples'
 * durations: the same rank ({@link percentileIndex}), so a row's note describes the very request its value is.
 */
export function sampleAtPercentile(samples: readonly TimedSample[], p: number): TimedSample | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a.end - a.start - (b.end - b.start));
  return sorted[percentileIndex(sorted.length, p)];
}
