/**
 * Nearest-rank percentile: always returns one of the observed values, so a
 * reported p95 is a latency that really happened rather than an interpolation
 * between two that did. p = 0 is defined as the minimum.
 *
 * Non-finite values are ignored so one broken timer reading cannot poison the
 * ordering (NaN makes sort comparators inconsistent).
 */
export function percentile(values: readonly number[], p: number): number | null {
  return percentiles(values, [p])[0] ?? null;
}

/** {@link percentile} for several p at once, sorting the values once. */
export function percentiles(values: readonly number[], ps: readonly number[]): Array<number | null> {
  for (const p of ps) if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile p must be within [0, 100], got ${p}`);
  // A typed array sorts numbers natively, without calling a comparator per comparison: this runs
  // on every recorded call and probe, and the comparator was most of its cost.
  const sorted = Float64Array.from(values.filter(Number.isFinite)).sort();
  const n = sorted.length;
  // p * n before dividing keeps integer inputs exact (0.95 * 20 style float error could bump the rank).
  return ps.map((p) => (n === 0 ? null : (sorted[Math.max(1, Math.ceil((p * n) / 100)) - 1] ?? null)));
}

const DEFAULT_EWMA_ALPHA = 0.3;

/**
 * Exponentially weighted moving average over values given oldest first,
 * seeded with the oldest value. Alpha 0.3 means the newest sample carries 30 %
 * of the weight: recent enough to follow a real shift within a few samples,
 * damped enough that one outlier does not swing it.
 */
export function ewma(values: readonly number[], alpha: number = DEFAULT_EWMA_ALPHA): number | null {
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`ewma alpha must be within (0, 1], got ${alpha}`);
  let acc: number | null = null;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    acc = acc === null ? v : alpha * v + (1 - alpha) * acc;
  }
  return acc;
}

/**
 * Maps a latency to 0..100 against the configured degraded threshold `d`,
 * piecewise linearly through three anchors:
 *
 *   <= d/4 -> 100   comfortably fast: no reason to penalise jitter at this level
 *      d   ->  50   the operator's own "degraded" line reads as half health
 *   >= 2d  ->   0   twice the threshold is as bad as it gets for ranking
 *
 * Anchoring the midpoint on `d` keeps the part meaningful for any configured
 * threshold instead of baking in absolute milliseconds.
 */
export function latencyScore(latencyMs: number, degradedLatencyMs: number): number {
  assertPositiveThreshold(degradedLatencyMs);
  const d = degradedLatencyMs;
  const fast = d / 4;
  if (latencyMs <= fast) return 100;
  if (latencyMs >= 2 * d) return 0;
  if (latencyMs <= d) return 100 - (50 * (latencyMs - fast)) / (d - fast);
  return 50 - (50 * (latencyMs - d)) / d;
}

/**
 * The latency part is judged on p95 because tail latency is what callers
 * actually hit under load. With no successful sample there is no evidence of
 * responsiveness at all, so it earns nothing rather than a neutral guess.
 */
export function latencyPart(p95: number | null, degradedLatencyMs: number): number {
  return p95 === null ? 0 : latencyScore(p95, degradedLatencyMs);
}

export function assertPositiveThreshold(degradedLatencyMs: number): void {
  if (!(degradedLatencyMs > 0 && Number.isFinite(degradedLatencyMs))) {
    throw new RangeError(`degradedLatencyMs must be a positive finite number, got ${degradedLatencyMs}`);
  }
}
