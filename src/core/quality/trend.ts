import { latencyScore } from './latency.js';
import type { QualitySample, Trend } from './types.js';
import { SampleWindow } from './window.js';

/** Below this each half has fewer than 3 samples, and a single blip would decide the trend. */
export const TREND_MIN_SAMPLES = 6;

/**
 * Minimum change in mean goodness (0..1) between halves to call a trend.
 * 0.15 lets one failure among ten samples per half, or latency jitter inside
 * the fast band, read as 'stable', while a sustained slide is still caught.
 */
const TREND_DEAD_BAND = 0.15;

/**
 * Goodness of an ok sample never drops below this, so a slow answer always
 * beats a failure: a connection recovering from errors to slow-but-working
 * replies must read as improving, not stable.
 */
const OK_GOODNESS_FLOOR = 0.2;

/**
 * Per-sample goodness in 0..1: a failure is 0, an ok sample scales with the
 * same latency curve as the latency part (see latencyScore) between
 * OK_GOODNESS_FLOOR and 1, so trend and score agree on what "slow" means.
 */
export function sampleGoodness(sample: QualitySample, degradedLatencyMs: number): number {
  return goodness(sample.ok, sample.latencyMs, degradedLatencyMs);
}

function goodness(ok: boolean, latencyMs: number, degradedLatencyMs: number): number {
  if (!ok) return 0;
  const speed = latencyScore(latencyMs, degradedLatencyMs) / 100;
  return OK_GOODNESS_FLOOR + (1 - OK_GOODNESS_FLOOR) * speed;
}

/**
 * Compares the mean goodness of the older half with the newer half. With an
 * odd count the middle sample is left out so both halves weigh the same
 * number of observations.
 */
export function trend(samples: readonly QualitySample[] | SampleWindow, degradedLatencyMs: number): Trend {
  if (samples.length < TREND_MIN_SAMPLES) return 'stable';
  const ordered = SampleWindow.of(samples).chronological();
  const half = Math.floor(ordered.length / 2);
  const delta = meanGoodness(ordered, ordered.length - half, ordered.length, degradedLatencyMs) - meanGoodness(ordered, 0, half, degradedLatencyMs);
  if (delta > TREND_DEAD_BAND) return 'improving';
  if (delta < -TREND_DEAD_BAND) return 'degrading';
  return 'stable';
}

/** Mean goodness of samples `from` (inclusive) to `to` (exclusive). */
function meanGoodness(samples: SampleWindow, from: number, to: number, degradedLatencyMs: number): number {
  let sum = 0;
  for (let index = from; index < to; index += 1) sum += goodness(samples.okAt(index), samples.latencyAt(index), degradedLatencyMs);
  return sum / (to - from);
}
