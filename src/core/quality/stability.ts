export const HOUR_MS = 3_600_000;

/**
 * State transitions in the window (now - windowMs, now], scaled to a per-hour
 * rate so a shorter window stays comparable with the default hour. The open
 * lower bound means a transition exactly one window old has aged out, so a
 * rolling window never counts the same boundary instant twice; times after
 * `now` are not yet real and are ignored.
 */
export function transitionsPerHour(
  transitionTimes: readonly number[],
  now: number,
  windowMs: number = HOUR_MS,
): number {
  if (!(windowMs > 0 && Number.isFinite(windowMs))) {
    throw new RangeError(`windowMs must be a positive finite number, got ${windowMs}`);
  }
  const from = now - windowMs;
  let count = 0;
  for (const t of transitionTimes) if (t > from && t <= now) count++;
  return (count * HOUR_MS) / windowMs;
}

/**
 * At this rate a connection changes state every two minutes: it is flapping
 * so hard that being "up" between flaps is worth nothing to a caller.
 */
export const FLAPPING_TRANSITIONS_PER_HOUR = 30;

/**
 * 100 when the connection has not changed state, falling linearly to 0 at
 * FLAPPING_TRANSITIONS_PER_HOUR. Linear keeps the part easy to explain: each
 * transition per hour costs 100/30 (about 3.3) points. Note one
 * reconnect cycle is at least two transitions (down, then up).
 */
export function stabilityPart(perHour: number): number {
  if (!(perHour > 0)) return 100;
  return Math.max(0, 100 - (100 * perHour) / FLAPPING_TRANSITIONS_PER_HOUR);
}
