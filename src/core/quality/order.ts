import type { QualitySample } from './types.js';

/**
 * Samples sorted oldest first by `at`. Probes and calls are recorded by
 * different code paths and may be appended slightly out of order; order-
 * sensitive measures (EWMA, trend halves) must not depend on that. The sort is
 * stable, so samples with equal timestamps keep their recorded order.
 */
export function chronological(samples: readonly QualitySample[]): QualitySample[] {
  return [...samples].sort((a, b) => a.at - b.at);
}
