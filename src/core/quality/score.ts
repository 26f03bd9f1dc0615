import { assertPositiveThreshold, ewma, latencyPart, percentiles } from './latency.js';
import { transitionsPerHour, stabilityPart } from './stability.js';
import { successPart, successRate } from './success.js';
import { trend } from './trend.js';
import type { Quality, QualityInput, QualityParts } from './types.js';
import { SampleWindow } from './window.js';

/**
 * Weights sum to 1 so the score stays on the parts' 0..100 scale.
 * - success 0.5: a failed request is a hard error for the caller; nothing
 *   else hurts as much.
 * - latency 0.3: slow replies still deliver results, so they hurt less than
 *   failures, but tail latency is what users feel first.
 * - stability 0.2: flapping matters, but it already shows up as failed probes
 *   and calls, so a larger weight would count the same outage twice.
 * Consequence: a connection that fails everything without flapping scores 20,
 * far below any sensible "healthy" cut-off, yet still distinguishable from a
 * dead one that also flaps.
 */
export const QUALITY_WEIGHTS: Readonly<QualityParts> = Object.freeze({
  success: 0.5,
  latency: 0.3,
  stability: 0.2,
});

/** Rounded and clamped so consumers can compare and threshold scores as plain integers. */
export function weightedScore(parts: QualityParts): number {
  const raw =
    parts.success * QUALITY_WEIGHTS.success +
    parts.latency * QUALITY_WEIGHTS.latency +
    parts.stability * QUALITY_WEIGHTS.stability;
  return Math.min(100, Math.max(0, Math.round(raw)));
}

/**
 * What a connection that has never been measured carries: score 0 with every
 * part 0. It must not look perfect, because a router picking the best
 * connection by score would otherwise prefer an untested one over a proven
 * one, and a dashboard would show green before the first probe. All parts are
 * 0 (not just the score) so that the score is still the weighted sum of its
 * parts; `samples: 0` is what tells "unmeasured" apart from "measured bad".
 * Frozen because it is shared by every fresh connection.
 */
export const EMPTY_QUALITY: Quality = Object.freeze({
  score: 0,
  parts: Object.freeze({ latency: 0, success: 0, stability: 0 }),
  latencyMs: Object.freeze({ p50: null, p95: null, ewma: null }),
  successRate: null,
  transitionsPerHour: 0,
  trend: 'stable',
  samples: 0,
});

/**
 * Scores a connection from its recent samples and state changes; pure and deterministic. Throws
 * `RangeError` when `degradedLatencyMs` is not a positive finite number.
 */
export function computeQuality(input: QualityInput): Quality {
  const { samples, transitionTimes, now, degradedLatencyMs } = input;
  // Validate even on the empty path so a bad config fails on the first call, not the first sample.
  assertPositiveThreshold(degradedLatencyMs);
  const perHour = transitionsPerHour(transitionTimes, now);

  if (samples.length === 0) {
    // Flapping is still worth reporting, but without samples nothing is scored (see EMPTY_QUALITY).
    // Fresh nested objects so callers never receive the frozen shared constant's internals.
    return {
      ...EMPTY_QUALITY,
      parts: { ...EMPTY_QUALITY.parts },
      latencyMs: { ...EMPTY_QUALITY.latencyMs },
      transitionsPerHour: perHour,
    };
  }

  const ordered = SampleWindow.of(samples).chronological();
  const okLatencies: number[] = [];
  for (let index = 0; index < ordered.length; index += 1) if (ordered.okAt(index)) okLatencies.push(ordered.latencyAt(index));
  const [p50 = null, p95 = null] = percentiles(okLatencies, [50, 95]);
  const rate = successRate(ordered);

  const parts: QualityParts = {
    latency: latencyPart(p95, degradedLatencyMs),
    success: successPart(rate),
    stability: stabilityPart(perHour),
  };

  return {
    score: weightedScore(parts),
    parts,
    latencyMs: { p50, p95, ewma: ewma(okLatencies) },
    successRate: rate,
    transitionsPerHour: perHour,
    trend: trend(ordered, degradedLatencyMs),
    samples: ordered.length,
  };
}
