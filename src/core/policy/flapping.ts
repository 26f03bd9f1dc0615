/**
 * Flap quarantine: a connection whose server keeps dying is held in `reconnecting` for a while
 * instead of being admitted again and again; the quarantine holds no reconnect slot.
 */
export interface FlapSettings {
  /** More deaths than this within the window quarantine a connection. */
  flapLimit: number;
  /** The sliding window deaths are counted in (ms). */
  flapWindowMs: number;
  /** Length of the first quarantine (ms); the n-th lasts n times this. */
  quarantineBaseMs: number;
  /** No quarantine lasts longer than this (ms). */
  quarantineMaxMs: number;
}

/** More than 5 deaths within 60 s quarantine for 30 s, 60 s, 90 s … up to 300 s. */
export const DEFAULT_FLAP_SETTINGS: Readonly<FlapSettings> = Object.freeze({
  flapLimit: 5,
  flapWindowMs: 60_000,
  quarantineBaseMs: 30_000,
  quarantineMaxMs: 300_000,
});

/** Deaths still inside the window ending at `now`, oldest dropped first. */
export function recentDeaths(deaths: readonly number[], now: number, windowMs: number): number[] {
  return deaths.filter((at) => at > now - windowMs);
}

/** Whether more than `flapLimit` of `deaths` (epoch ms) fall within the window ending at `now`. */
export function isFlapping(deaths: readonly number[], now: number, settings: Pick<FlapSettings, 'flapLimit' | 'flapWindowMs'>): boolean {
  return recentDeaths(deaths, now, settings.flapWindowMs).length > settings.flapLimit;
}

/** 30 s × times quarantined (this one included), capped at 300 s (docs/design.md §3). */
export function quarantineDuration(timesQuarantined: number, settings: Pick<FlapSettings, 'quarantineBaseMs' | 'quarantineMaxMs'>): number {
  return Math.min(settings.quarantineMaxMs, settings.quarantineBaseMs * Math.max(1, timesQuarantined));
}
