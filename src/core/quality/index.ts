export type { Quality, QualityInput, QualityParts, QualitySample, Trend } from './types.js';
export { appendBounded } from './ring.js';
export { ewma, latencyPart, latencyScore, percentile, percentiles } from './latency.js';
export { successPart, successRate } from './success.js';
export { FLAPPING_TRANSITIONS_PER_HOUR, HOUR_MS, stabilityPart, transitionsPerHour } from './stability.js';
export { sampleGoodness, TREND_MIN_SAMPLES, trend } from './trend.js';
export { computeQuality, EMPTY_QUALITY, QUALITY_WEIGHTS, weightedScore } from './score.js';
export { SampleWindow } from './window.js';
