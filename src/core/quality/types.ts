import type { QualitySample, SampleWindow } from './window.js';

export type { QualitySample } from './window.js';

/**
 * Whether the newer half of the samples is better, the same or worse than the older half (at
 * least 6 samples; fewer always read `stable`).
 */
export type Trend = 'improving' | 'stable' | 'degrading';

/** Each part is 0..100 so the weights alone decide how much it matters. */
export interface QualityParts {
  /** From the p95 latency against `degradedLatencyMs`: 100 up to a quarter of it, 50 at it, 0 at twice it. */
  latency: number;
  /** The success rate × 100. */
  success: number;
  /** 100 without state changes, falling linearly to 0 at 30 transitions per hour. */
  stability: number;
}

/** How good a connection has been recently: a 0..100 score and what it is made of. */
export interface Quality {
  /** 0..100 integer: the weighted sum of `parts` (see QUALITY_WEIGHTS). */
  score: number;
  /** The three parts the score weighs (success 0.5, latency 0.3, stability 0.2). */
  parts: QualityParts;
  /** Over ok samples only. */
  latencyMs: { p50: number | null; p95: number | null; ewma: number | null };
  /** Share of ok samples, 0..1; null without samples. */
  successRate: number | null;
  /** State changes over the last hour. */
  transitionsPerHour: number;
  /** Whether the connection is getting better or worse. */
  trend: Trend;
  /** How many samples were scored; 0 means "never measured" (score 0), not "measured bad". */
  samples: number;
}

/** What {@link computeQuality} scores. */
export interface QualityInput {
  /** Recent probe and call outcomes, in any order (objects, or a connection's packed window). */
  samples: readonly QualitySample[] | SampleWindow;
  /** When the connection changed state (epoch ms); those within the last hour count. */
  transitionTimes: readonly number[];
  /** The time to score at (epoch ms); passed in so scoring stays deterministic. */
  now: number;
  /** The connection's "slow" threshold (ms); the latency part is judged against it. */
  degradedLatencyMs: number;
}
