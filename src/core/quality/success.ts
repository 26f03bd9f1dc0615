import type { QualitySample } from './types.js';

/** Fraction of ok samples, 0..1; null when there is nothing to judge rather than a misleading 0 or 1. */
export function successRate(samples: readonly QualitySample[]): number | null {
  if (samples.length === 0) return null;
  let ok = 0;
  for (const s of samples) if (s.ok) ok++;
  return ok / samples.length;
}

/** Linear on purpose: every failed request costs a caller equally, so every one costs the same points. */
export function successPart(rate: number | null): number {
  return rate === null ? 0 : rate * 100;
}
