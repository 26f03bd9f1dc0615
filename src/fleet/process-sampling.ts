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

  constructor(private readonly processes: ProcessRegistry) {}

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
      const sample = sampleProcess(pid, this.lastSamples.get(pid), now, { group: true });
      if (!sample) continue;
      this.lastSamples.set(pid, sample);
      this.processes.recordSample(id, pid, { cpuRatio: sample.cpuRatio, rssBytes: sample.rssBytes });
    }
    for (const pid of this.lastSamples.keys()) if (!seen.has(pid)) this.lastSamples.delete(pid);
  }
}
