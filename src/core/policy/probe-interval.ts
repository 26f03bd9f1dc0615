import type { HealthSettings } from '../settings.js';

/** How much the healthy interval grows with each good probe in a row. */
export const STABLE_STRETCH_FACTOR = 1.5;

/**
 * A connection that keeps answering is probed less and less often, up to `stableIntervalMs`
 * (15 s → 22.5 s → 33.8 s → 50.6 s → 60 s with the defaults); any miss or slow answer starts the
 * streak over. Idle fleets thus cost few pings while a fresh or shaky connection is watched closely.
 */
export function healthyProbeInterval(
  settings: Pick<HealthSettings, 'healthyIntervalMs' | 'stableIntervalMs'>,
  goodStreak: number,
): number {
  const stretched = settings.healthyIntervalMs * STABLE_STRETCH_FACTOR ** Math.max(0, goodStreak);
  return Math.round(Math.min(Math.max(settings.stableIntervalMs, settings.healthyIntervalMs), stretched));
}
