import type { BackoffSettings } from '../settings.js';

/** The largest delay attempt `attempt` (0-based) may wait: exponential growth, capped. */
export function backoffCeiling(
  attempt: number,
  settings: Pick<BackoffSettings, 'initialBackoffMs' | 'multiplier' | 'maxBackoffMs'>,
): number {
  const grown = settings.initialBackoffMs * settings.multiplier ** Math.max(0, attempt);
  return Math.min(settings.maxBackoffMs, grown);
}

/**
 * Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"): uniformly random in
 * [0, ceiling). Spreads a fleet's reconnects over the whole window instead of in waves.
 * `random01` is in [0, 1).
 */
export function fullJitterDelay(
  attempt: number,
  settings: Pick<BackoffSettings, 'initialBackoffMs' | 'multiplier' | 'maxBackoffMs'>,
  random01: number,
): number {
  return Math.floor(random01 * backoffCeiling(attempt, settings));
}
