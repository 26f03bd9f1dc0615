/**
 * Leak trend: resident memory that keeps growing at a steady pace over the last samples, told
 * apart from noise (garbage-collector sawtooth, one-off allocations) and from warm-up (growth that
 * slows down as caches fill). Pure: a function of the samples, tested on given series.
 */

/** When growing memory is reported as a leak trend. */
export interface TrendSettings {
  /** Samples kept per process: the window the slope is fitted over (60 × 5 s = 5 minutes). */
  windowSamples: number;
  /** No verdict from fewer samples than this (12 × 5 s = 1 minute). */
  minSamples: number;
  /** Goodness of fit of the least-squares line (R², 0..1): below it the growth is noise, not a trend. */
  minR2: number;
  /** The fitted growth across the window must be at least this many bytes… */
  minGrowthBytes: number;
  /** …and at least this share of the memory at the window's start. */
  minGrowthRatio: number;
  /**
   * The slope over the window's second half must be at least this share of the first half's:
   * a leak keeps its pace, warm-up slows down.
   */
  minPersistence: number;
}

/** 5-minute window, a verdict after 1 minute, R² ≥ 0.8, growth ≥ 8 MiB and ≥ 5 %, second half at least half as steep. */
export const DEFAULT_TREND_SETTINGS: Readonly<TrendSettings> = Object.freeze({
  windowSamples: 60,
  minSamples: 12,
  minR2: 0.8,
  minGrowthBytes: 8 * 1_048_576,
  minGrowthRatio: 0.05,
  minPersistence: 0.5,
});

/** One memory sample of a process group. */
export interface MemorySample {
  /** When (epoch ms). */
  at: number;
  /** Resident memory (bytes). */
  rssBytes: number;
}

/** A leak trend as views show it. */
export interface MemoryTrend {
  /** The fitted growth rate (bytes per second). */
  bytesPerSecond: number;
  /** Goodness of fit of the line (R², 0..1). */
  r2: number;
  /** The span of the samples fitted (seconds). */
  windowSeconds: number;
  /** How many samples were fitted. */
  samples: number;
  /** At this pace, seconds until the memory limit (0 when already over); null without a memory limit. */
  projectedLimitInSeconds: number | null;
}

/** What the trend detector says about one process's samples. */
export interface TrendVerdict {
  /** The least-squares slope over the window (bytes per second); null with fewer than `minSamples`. */
  bytesPerSecond: number | null;
  /** Set when the growth is a leak trend. */
  trend: MemoryTrend | null;
}

/** A least-squares line `y = intercept + slope × x`, and its R². */
export interface LinearFit {
  /** Change of y per unit of x. */
  slope: number;
  /** y at x = 0. */
  intercept: number;
  /** Share of y's variance the line explains (0..1); 0 when y does not vary. */
  r2: number;
}

/** The least-squares line through the points; undefined for fewer than 2 distinct x. */
export function fitLine(xs: readonly number[], ys: readonly number[]): LinearFit | undefined {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return undefined;
  let meanX = 0;
  let meanY = 0;
  for (let i = 0; i < n; i += 1) {
    meanX += xs[i] as number;
    meanY += ys[i] as number;
  }
  meanX /= n;
  meanY /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i += 1) {
    const dx = (xs[i] as number) - meanX;
    const dy = (ys[i] as number) - meanY;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  const r2 = syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept: meanY - slope * meanX, r2 };
}

/**
 * The verdict on the last `windowSamples` samples (oldest first): the slope, and a trend when
 * there are at least `minSamples`, the line fits (R² ≥ `minR2`), the fitted growth across the
 * window is at least `minGrowthBytes` and `minGrowthRatio` of the start, and the second half
 * grows at least `minPersistence` as fast as the first. `limitBytes` adds the projection.
 */
export function memoryTrendOf(samples: readonly MemorySample[], settings: TrendSettings = DEFAULT_TREND_SETTINGS, limitBytes?: number): TrendVerdict {
  const window = samples.length > settings.windowSamples ? samples.slice(samples.length - settings.windowSamples) : samples;
  if (window.length < Math.max(2, settings.minSamples)) return { bytesPerSecond: null, trend: null };
  const first = window[0] as MemorySample;
  const last = window[window.length - 1] as MemorySample;
  // Seconds from the first sample: small numbers keep the sums exact enough.
  const xs = window.map((sample) => (sample.at - first.at) / 1_000);
  const ys = window.map((sample) => sample.rssBytes);
  const fit = fitLine(xs, ys);
  if (!fit) return { bytesPerSecond: null, trend: null };
  const span = xs[xs.length - 1] as number;
  const verdict: TrendVerdict = { bytesPerSecond: fit.slope, trend: null };
  const growth = fit.slope * span;
  const start = fit.intercept;
  if (fit.slope <= 0 || fit.r2 < settings.minR2) return verdict;
  if (growth < settings.minGrowthBytes || growth < settings.minGrowthRatio * Math.max(0, start)) return verdict;
  if (!keepsPace(xs, ys, settings.minPersistence)) return verdict;
  const projected = limitBytes === undefined ? null : Math.max(0, Math.round((limitBytes - last.rssBytes) / fit.slope));
  return {
    bytesPerSecond: fit.slope,
    trend: { bytesPerSecond: Math.round(fit.slope), r2: Math.round(fit.r2 * 1_000) / 1_000, windowSeconds: Math.round(span), samples: window.length, projectedLimitInSeconds: projected },
  };
}

/** Whether the second half of the series grows at least `minPersistence` as fast as the first. */
function keepsPace(xs: readonly number[], ys: readonly number[], minPersistence: number): boolean {
  const half = Math.floor(xs.length / 2);
  const early = fitLine(xs.slice(0, half + 1), ys.slice(0, half + 1));
  const late = fitLine(xs.slice(half), ys.slice(half));
  if (!early || !late) return false;
  // A first half that did not grow cannot have slowed down.
  if (early.slope <= 0) return late.slope > 0;
  return late.slope >= minPersistence * early.slope;
}
