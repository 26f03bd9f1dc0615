export interface FlapSettings {
  /** More deaths than this within the window quarantine a connection. */
  flapLimit: number;
  flapWindowMs: number;
  quarantineBaseMs: number;
  quarantineMaxMs: number;
}

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

export function isFlapping(deaths: readonly number[], now: number, settings: Pick<FlapSettings, 'flapLimit' | 'flapWindowMs'>): boolean {
  return recentDeaths(deaths, now, settings.flapWindowMs).length > settings.flapLimit;
}

/** 30 s × times quarantined (this one included), capped at 300 s (docs/design.md §3). */
export function quarantineDuration(timesQuarantined: number, settings: Pick<FlapSettings, 'quarantineBaseMs' | 'quarantineMaxMs'>): number {
  return Math.min(settings.quarantineMaxMs, settings.quarantineBaseMs * Math.max(1, timesQuarantined));
}
