/**
 * One observation of a connection: either a dedicated health probe or a real
 * tool call whose outcome we piggy-back on, so busy connections need no extra
 * probing to stay measured.
 */
export interface QualitySample {
  /** Epoch milliseconds of the observation; callers supply it so scoring stays deterministic. */
  at: number;
  ok: boolean;
  /** Meaningful only when `ok`; failed attempts often end on a timeout, which says nothing about speed. */
  latencyMs: number;
  source: 'probe' | 'call';
}

export type Trend = 'improving' | 'stable' | 'degrading';

/** Each part is 0..100 so the weights alone decide how much it matters. */
export interface QualityParts {
  latency: number;
  success: number;
  stability: number;
}

export interface Quality {
  /** 0..100 integer: the weighted sum of `parts` (see QUALITY_WEIGHTS). */
  score: number;
  parts: QualityParts;
  /** Over ok samples only. */
  latencyMs: { p50: number | null; p95: number | null; ewma: number | null };
  successRate: number | null;
  transitionsPerHour: number;
  trend: Trend;
  samples: number;
}

export interface QualityInput {
  samples: readonly QualitySample[];
  transitionTimes: readonly number[];
  now: number;
  degradedLatencyMs: number;
}
