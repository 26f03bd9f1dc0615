/**
 * Resource limits (PM2's `max_memory_restart`, for memory and CPU): a process group over a limit
 * in every sample for `forSeconds` is to be restarted. Pure: the caller feeds samples and acts
 * on the breaches; time is the samples' own timestamps, so tests replay series.
 */
import type { ResourceLimits } from '../target.js';

/** What a limit is on: resident memory of the process group, or its CPU time per wall second. */
export type LimitedResource = 'memory' | 'cpu';

/** How long a limit must be exceeded before the restart, unless `forSeconds` says otherwise (PM2 checks every 30 s). */
export const DEFAULT_LIMIT_FOR_SECONDS = 30;

/** One reading of a process group, as the sampler takes it. */
export interface ResourceReading {
  /** When (epoch ms). */
  at: number;
  /** Resident memory of the group (bytes). */
  rssBytes: number;
  /**
   * CPU seconds per wall second over the interval since the previous reading; null when there
   * was none (a first reading averages since the process started, startup included: not counted).
   */
  cpuRatio: number | null;
}

/** A limit the group is over now, and since which reading. */
export interface OverLimit {
  /** Which limit. */
  resource: LimitedResource;
  /** The last measured value (bytes, or CPU ratio). */
  measured: number;
  /** The configured limit (bytes, or CPU ratio). */
  limit: number;
  /** The first reading of this run over the limit (epoch ms). */
  since: number;
}

/** A limit exceeded in every reading for at least `forSeconds`: the group is to be restarted. */
export interface LimitBreach extends OverLimit {
  /** The configured duration (seconds). */
  forSeconds: number;
  /** The reading that completed the duration (epoch ms). */
  at: number;
}

/** The runs over each limit so far (empty: under every limit). */
export type LimitWatch = Readonly<Partial<Record<LimitedResource, OverLimit>>>;

/** A watch with nothing over its limits. */
export const NO_OVER_LIMIT: LimitWatch = Object.freeze({});

/**
 * Feeds one reading: a value over its limit starts or continues a run, a value at or under it
 * ends the run (over means "in every reading", so one good reading forgives). A run as long as
 * `forSeconds` is a breach, and starts over: if the group is not restarted (the connection was
 * not serving), the next breach needs another `forSeconds`.
 */
export function watchLimits(watch: LimitWatch, reading: ResourceReading, limits: ResourceLimits): { watch: LimitWatch; breaches: LimitBreach[] } {
  const forSeconds = limits.forSeconds ?? DEFAULT_LIMIT_FOR_SECONDS;
  const next: Partial<Record<LimitedResource, OverLimit>> = {};
  const breaches: LimitBreach[] = [];
  const check = (resource: LimitedResource, measured: number | null, limit: number | undefined): void => {
    if (limit === undefined) return;
    // No interval measure (a first reading): the run neither grows nor ends.
    if (measured === null) {
      const run = watch[resource];
      if (run) next[resource] = run;
      return;
    }
    if (measured <= limit) return;
    const since = watch[resource]?.since ?? reading.at;
    if (reading.at - since >= forSeconds * 1_000) {
      breaches.push({ resource, measured, limit, since, forSeconds, at: reading.at });
      return;
    }
    next[resource] = { resource, measured, limit, since };
  };
  check('memory', reading.rssBytes, limits.maxMemoryBytes);
  check('cpu', reading.cpuRatio, limits.maxCpuRatio);
  return { watch: next, breaches };
}

/** `memory 612 MiB over limit 512 MiB for 30 s`, `cpu 1.52 over limit 0.8 for 30 s`: the restart's reason. */
export function describeBreach(breach: LimitBreach): string {
  const seconds = Math.round((breach.at - breach.since) / 1_000);
  const value = breach.resource === 'memory' ? formatBytes : formatRatio;
  return `${breach.resource} ${value(breach.measured)} over limit ${value(breach.limit)} for ${seconds} s`;
}

/** Bytes in MiB (GiB from 10 GiB on), as people read memory limits. */
export function formatBytes(bytes: number): string {
  const mib = bytes / 1_048_576;
  if (mib >= 10_240) return `${trimmed(mib / 1_024)} GiB`;
  return `${trimmed(mib)} MiB`;
}

function formatRatio(ratio: number): string {
  return trimmed(ratio);
}

/** At most 2 decimals, none when whole; 3 significant digits at least for small values. */
function trimmed(value: number): string {
  const decimals = value >= 100 ? 0 : 2;
  return String(Number(value.toFixed(decimals)));
}
