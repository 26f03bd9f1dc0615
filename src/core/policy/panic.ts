/**
 * Panic mode: when most of the fleet is lost at once the cause is probably shared (our network,
 * a gateway), so reconnections are admitted slowly instead of all at once.
 */
export interface PanicSettings {
  /** Share of all connections that must fall unhealthy within the window. */
  threshold: number;
  /** How recent a loss must be to count toward the threshold (ms). */
  windowMs: number;
  /** Admissions allowed at once while in panic. */
  panicConcurrency: number;
}

/** Panic when more than half the fleet is lost within 10 s; admit one reconnection at a time while it lasts. */
export const DEFAULT_PANIC_SETTINGS: Readonly<PanicSettings> = Object.freeze({ threshold: 0.5, windowMs: 10_000, panicConcurrency: 1 });

/**
 * More than `threshold` of the fleet lost within `windowMs` points at a shared cause (our own
 * network, a gateway restart, the host waking from sleep) rather than at the servers, so
 * hammering every one of them at once would only add load. `lostAt` holds, per connection, when
 * it last fell from healthy/degraded, or nothing while it is serving.
 */
export function shouldPanic(lostAt: ReadonlyArray<number | undefined>, total: number, now: number, settings: Pick<PanicSettings, 'threshold' | 'windowMs'>): boolean {
  const recent = lostAt.filter((at) => at !== undefined && at > now - settings.windowMs).length;
  return tooManyLost(recent, total, settings);
}

/** The verdict on counts alone, for callers that keep the count of recent losses themselves. */
export function tooManyLost(recentlyLost: number, total: number, settings: Pick<PanicSettings, 'threshold'>): boolean {
  return total >= 2 && recentlyLost > total * settings.threshold;
}

/** Panic ends once at least half of the fleet is serving again. */
export function panicOver(serving: number, total: number, settings: Pick<PanicSettings, 'threshold'>): boolean {
  return serving >= total * (1 - settings.threshold);
}
