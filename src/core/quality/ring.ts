/**
 * Returns a new array with `item` appended, keeping at most `capacity` newest
 * items. A fresh array (rather than in-place mutation) keeps actor context
 * snapshots immutable, so an earlier snapshot never changes under a reader.
 *
 * A non-integer capacity is floored and anything below 1 (including NaN)
 * yields an empty array: a zero-size history is a legitimate "don't keep
 * samples" setting, not an error. `Infinity` means unbounded.
 */
export function appendBounded<T>(ring: readonly T[], item: T, capacity: number): T[] {
  const cap = Number.isNaN(capacity) ? 0 : Math.max(0, Math.floor(capacity));
  if (cap === 0) return [];
  const next = [...ring, item];
  return next.length > cap ? next.slice(next.length - cap) : next;
}
