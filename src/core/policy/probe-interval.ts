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

/**
 * The delay before the next probe: `intervalMs × (1 − jitter × u)`, u in [0, 1). Jitter only ever
 * shortens an interval, so every bound that holds for the plain interval (how soon a hung server is
 * noticed, a zombie declared) still holds. Its purpose is a fleet's load: connections that became
 * healthy in the same instant (admitted together) would otherwise probe in the same timer turn
 * forever, since each interval is an exact number of ms; drawn anew before every probe, the phases
 * drift apart within a few intervals. A ratio outside [0, 1] is clamped and the delay is at least
 * 1 ms (the config schema refuses such a ratio with an error; this keeps a programmatic caller's
 * mistake from stopping probes or probing in a busy loop).
 */
export function jitteredProbeInterval(intervalMs: number, jitter: number, u: number): number {
  const ratio = Number.isFinite(jitter) ? Math.min(Math.max(jitter, 0), 1) : 0;
  const unit = Math.min(Math.max(u, 0), 1);
  return Math.max(1, Math.round(intervalMs * (1 - ratio * unit)));
}
