/**
 * A tiny seeded PRNG (mulberry32) whose whole state is one uint32. The connection machine keeps
 * that state in its context, so jittered backoff stays a pure function of context: reproducible
 * in tests, and still decorrelated across a fleet because every connection gets its own seed.
 */
export function nextRandom(state: number): { value: number; state: number } {
  const nextState = (state + 0x6d2b79f5) >>> 0;
  return { value: randomValueAt(nextState), state: nextState };
}

/**
 * The value in [0, 1) that {@link nextRandom} gave when it returned `state`: so a context can keep
 * only the state of its last draw and still read the value drawn (one field, not two).
 */
export function randomValueAt(state: number): number {
  let t = state >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}

/** FNV-1a: a stable seed from a server id when the caller gives none. */
export function seedFromString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
