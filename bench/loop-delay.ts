// The event loop's delay as the bench reports it. Node's `monitorEventLoopDelay` records the time
// between two runs of its own repeating timer, so every sample holds the timer's period (the
// resolution) as well as the delay: an idle loop reads ~10.2 ms at a resolution of 10 ms. The delay
// is what is left, how late that timer ran; Elastic's APM agent subtracts the resolution the same
// way. prom-client's percentile, min, max and mean lag gauges (`nodejs_eventloop_lag_p99_seconds`…)
// print the interval as it is, so the rows give it too.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';

/** The monitor's timer period (ms): a sample every 10 ms of a free loop, as prom-client samples. */
export const LOOP_MONITOR_RESOLUTION_MS = 10;

/** What one monitor saw, in ms. */
export interface LoopDelay {
  /** The 99th percentile of how late the monitor's timer ran. */
  p99Ms: number;
  /** The latest it ran. */
  maxMs: number;
  /** The monitor's own reading of the 99th percentile: the interval between its runs, period included. */
  intervalP99Ms: number;
  /** The longest interval between its runs. */
  intervalMaxMs: number;
  /** How many times its timer ran. */
  samples: number;
}

/** A monitor of the event loop, started now; `loopDelayOf` reads it (after `disable()`, or while it runs). */
export function startLoopMonitor(): IntervalHistogram {
  const monitor = monitorEventLoopDelay({ resolution: LOOP_MONITOR_RESOLUTION_MS });
  monitor.enable();
  return monitor;
}

/** The part of a monitor's histogram that `loopDelayOf` reads. */
export type LoopHistogram = Pick<IntervalHistogram, 'count' | 'max' | 'percentile'>;

/**
 * The delay a monitor saw: its readings less its period. Undefined when its timer never ran: the
 * loop was saturated for the whole span, and no percentile means anything.
 */
export function loopDelayOf(monitor: LoopHistogram): LoopDelay | undefined {
  if (monitor.count === 0) return undefined;
  const intervalP99Ms = monitor.percentile(99) / 1e6;
  const intervalMaxMs = monitor.max / 1e6;
  // A run can come a little early of its period (libuv counts it from the start of the loop's turn).
  const late = (intervalMs: number): number => Math.max(0, intervalMs - LOOP_MONITOR_RESOLUTION_MS);
  return { p99Ms: late(intervalP99Ms), maxMs: late(intervalMaxMs), intervalP99Ms, intervalMaxMs, samples: monitor.count };
}
