import type { QualitySample } from './types.js';

/**
 * Samples sorted oldest first by `at`. Probes and calls are recorded by
 * different code paths and may be appended slightly out of order; order-
 * sensitive measures (EWMA, trend halves) must not depend on that. The sort is
 * stable, so samples with equal timestamps keep their recorded order.
 */
export function chronological(samples: readonly QualitySample[]): QualitySample[] {
  // Almost always already in order (samples are appended as they happen): one pass says so and
  // spares the sort, which ran on every recorded call and probe.
  for (let index = 1; index < samples.length; index += 1) {
    if ((samples[index] as QualitySample).at < (samples[index - 1] as QualitySample).at) return [...samples].sort((a, b) => a.at - b.at);
  }
  return [...samples];
}
