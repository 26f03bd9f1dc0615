/**
 * Rounding for JSON that people read (views, events, logs): `performance.now()` differences and
 * averages carry 14 decimals of noise. Round where a number leaves for a view or an event, never
 * inside a computation (percentiles, EWMAs and scores keep full precision).
 */

/** `value` rounded to `decimals` places; `null`, `undefined`, `NaN` and infinities pass through. */
export function roundTo<T extends number | null | undefined>(value: T, decimals: number): T {
  if (typeof value !== 'number' || !Number.isFinite(value)) return value;
  const factor = 10 ** decimals;
  const rounded = Math.round(value * factor) / factor;
  // Never -0: it prints as 0 in JSON anyway, but not in equality checks.
  return (rounded === 0 ? 0 : rounded) as T;
}

/** A duration in milliseconds rounded to the microsecond (3 decimals). */
export function roundMs<T extends number | null | undefined>(ms: T): T {
  return roundTo(ms, 3);
}

/** A ratio (0..1) rounded to 4 decimals: a hundredth of a percent. */
export function roundRatio<T extends number | null | undefined>(ratio: T): T {
  return roundTo(ratio, 4);
}
