import type { QualitySample } from './types.js';
import { SampleWindow } from './window.js';

/** Fraction of ok samples, 0..1; null when there is nothing to judge rather than a misleading 0 or 1. */
export function successRate(samples: readonly QualitySample[] | SampleWindow): number | null {
  if (samples.length === 0) return null;
  const window = SampleWindow.of(samples);
  let ok = 0;
  for (let index = 0; index < window.length; index += 1) if (window.okAt(index)) ok++;
  return ok / window.length;
}

/** Linear on purpose: every failed request costs a caller equally, so every one costs the same points. */
export function successPart(rate: number | null): number {
  return rate === null ? 0 : rate * 100;
}
