import { sampleProcess } from '../runtime/process/sampler.js';
import type { ProcessSample } from '../runtime/process/sampler.js';
import type { ProcessRegistry } from '../runtime/process/registry.js';

/** A modest interval: /proc reads are cheap, but a fleet has many processes. */
export const DEFAULT_PROCESS_SAMPLE_INTERVAL_MS = 5_000;

/**
 * Reads CPU and memory of every running server process group on a timer (Linux only) and
 * records them in the registry; the server may be a grandchild of a wrapper such as npx.
 */
export class ProcessSampling {
  private timer: NodeJS.Timeout | undefined;
  private readonly lastSamples = new Map<number, ProcessSample>();

  constructor(
    private readonly processes: ProcessRegistry,
    /**
     * Told of every sample (the resource watch); `cpuRatio` is null for a process's first sample,
     * which averages since it started rather than over an interval.
     */
    private readonly onSample?: (id: string, pid: number, reading: { at: number; rssBytes: number; cpuRatio: number | null }) => void,
  ) {}

  /** Samples every `intervalMs`; 0, or a platform without /proc, turns sampling off. */
  start(intervalMs: number): void {
    if (intervalMs <= 0 || process.platform !== 'linux') return;
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  sample(now = Date.now()): void {
    const seen = new Set<number>();
    for (const { id, pid } of this.processes.running()) {
      seen.add(pid);
      const previous = this.lastSamples.get(pid);
      const sample = sampleProcess(pid, previous, now, { group: true });
      if (!sample) continue;
      this.lastSamples.set(pid, sample);
      this.processes.recordSample(id, pid, { cpuRatio: sample.cpuRatio, rssBytes: sample.rssBytes });
      const interval = previous !== undefined && previous.startTicks === sample.startTicks && now > previous.at;
      this.onSample?.(id, pid, { at: now, rssBytes: sample.rssBytes, cpuRatio: interval ? sample.cpuRatio : null });
    }
    for (const pid of this.lastSamples.keys()) if (!seen.has(pid)) this.lastSamples.delete(pid);
  }
}
