import { DEFAULT_LIMIT_FOR_SECONDS, describeBreach, NO_OVER_LIMIT, watchLimits } from '../core/policy/resource-limits.js';
import type { LimitBreach, LimitedResource, LimitWatch, OverLimit } from '../core/policy/resource-limits.js';
import { DEFAULT_TREND_SETTINGS, memoryTrendOf } from '../core/policy/memory-trend.js';
import type { MemorySample, MemoryTrend, TrendSettings } from '../core/policy/memory-trend.js';
import type { ResourceLimits } from '../core/target.js';
import { roundRatio } from '../core/round.js';

/** What the resource watch adds to a server's `process` facts (ActorView). */
export interface ResourceFacts {
  /** The configured limits, `forSeconds` filled in; absent when the server has none. */
  limits?: Required<Pick<ResourceLimits, 'forSeconds'>> & Omit<ResourceLimits, 'forSeconds'>;
  /** The limits the process group is over right now, and since when (a restart follows after `forSeconds`); absent without limits. */
  overLimit?: OverLimit[];
  /** Restarts for going over a limit, by resource, since the server joined the fleet; absent without limits. */
  resourceRestarts?: Record<LimitedResource, number>;
  /** Least-squares slope of the group's resident memory over the sampling window (bytes/s); null before enough samples. */
  memoryGrowthBytesPerSecond: number | null;
  /** Set while the memory grows steadily (a leak trend), before any limit is hit; null otherwise. */
  memoryTrend: MemoryTrend | null;
}

/** A restart the watch asked for: the breach and the reason recorded as `lastError`. */
export interface ResourceRestart {
  /** The server's id. */
  id: string;
  /** The process group's leader. */
  pid: number;
  /** The limit, the measured value and how long. */
  breach: LimitBreach;
  /** `memory 612 MiB over limit 512 MiB for 30 s`. */
  message: string;
}

/** What the watch needs from the fleet. */
export interface ResourceWatchHooks {
  /** The server's limits, if it has any (read at every sample: a re-registered server may change them). */
  limitsOf(id: string): ResourceLimits | undefined;
  /** Restart the server through its reconnect path; false when it is not serving (the watch tries again later). */
  restart(restart: ResourceRestart): boolean;
  /** A leak trend started being reported for this server. */
  trendStarted(id: string, pid: number, trend: MemoryTrend): void;
}

interface Watched {
  pid: number;
  samples: MemorySample[];
  limits: LimitWatch;
  growth: number | null;
  trend: MemoryTrend | null;
}

/**
 * Applies each server's resource limits and the leak-trend detector to the samples of its
 * process group (src/core/policy holds the arithmetic). Lives in the fleet, where sampling
 * happens: the machines have no clock but `after`, so the watch decides and commands the
 * connection (`resource.exceeded`), which reconnects as it would after any lost session.
 */
export class ResourceWatch {
  private readonly watched = new Map<string, Watched>();
  private readonly restarts = new Map<string, Record<LimitedResource, number>>();
  private readonly trendSettings: TrendSettings;

  constructor(
    private readonly hooks: ResourceWatchHooks,
    trend: Partial<TrendSettings> = {},
  ) {
    this.trendSettings = { ...DEFAULT_TREND_SETTINGS, ...trend };
  }

  /** One sample of a server's process group; `cpuRatio` null when it is the process's first. */
  observe(id: string, pid: number, reading: { at: number; rssBytes: number; cpuRatio: number | null }): void {
    let watched = this.watched.get(id);
    if (!watched || watched.pid !== pid) {
      // A new process: its history starts now.
      watched = { pid, samples: [], limits: NO_OVER_LIMIT, growth: null, trend: null };
      this.watched.set(id, watched);
    }
    watched.samples.push({ at: reading.at, rssBytes: reading.rssBytes });
    if (watched.samples.length > this.trendSettings.windowSamples) watched.samples.splice(0, watched.samples.length - this.trendSettings.windowSamples);
    const limits = this.hooks.limitsOf(id);
    const verdict = memoryTrendOf(watched.samples, this.trendSettings, limits?.maxMemoryBytes);
    watched.growth = verdict.bytesPerSecond;
    const started = verdict.trend !== null && watched.trend === null;
    watched.trend = verdict.trend;
    if (started && verdict.trend) this.hooks.trendStarted(id, pid, verdict.trend);
    if (!limits) {
      watched.limits = NO_OVER_LIMIT;
      return;
    }
    const { watch, breaches } = watchLimits(watched.limits, reading, limits);
    watched.limits = watch;
    // Memory first: one restart answers both, and memory is the one that takes the host down.
    const breach = breaches[0];
    if (!breach) return;
    if (this.hooks.restart({ id, pid, breach, message: describeBreach(breach) })) {
      const counts = this.restartsOf(id);
      counts[breach.resource] += 1;
    }
  }

  /** The facts for the server's view, about its process `pid` now (null: none runs, so no runs or trend). */
  factsOf(id: string, pid: number | null): ResourceFacts {
    const found = this.watched.get(id);
    const watched = found && found.pid === pid ? found : undefined;
    const limits = this.hooks.limitsOf(id);
    const facts: ResourceFacts = { memoryGrowthBytesPerSecond: watched?.growth == null ? null : Math.round(watched.growth), memoryTrend: watched?.trend ?? null };
    if (!limits) return facts;
    return {
      limits: { ...limits, forSeconds: limits.forSeconds ?? DEFAULT_LIMIT_FOR_SECONDS },
      // A view's number: a CPU ratio rounded like every ratio shown.
      overLimit: watched ? Object.values(watched.limits).map((over) => (over.resource === 'cpu' ? { ...over, measured: roundRatio(over.measured) } : over)) : [],
      resourceRestarts: { ...this.restartsOf(id) },
      ...facts,
    };
  }

  /** The server left the fleet. */
  forget(id: string): void {
    this.watched.delete(id);
    this.restarts.delete(id);
  }

  private restartsOf(id: string): Record<LimitedResource, number> {
    let counts = this.restarts.get(id);
    if (!counts) {
      counts = { memory: 0, cpu: 0 };
      this.restarts.set(id, counts);
    }
    return counts;
  }
}
