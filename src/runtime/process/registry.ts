import type { ProcessExit, ProcessObserver } from './process-group.js';
import { roundRatio } from '../../core/round.js';

/** What the API shows about a server's process (docs/design.md §5 ActorView `process`). */
export interface ProcessFacts {
  /** The running process's pid (its group's id too); null when none runs now. */
  pid: number | null;
  /** When the current (or last) process started (epoch ms); null before the first. */
  startedAt: number | null;
  /** How long the current process has been running (ms); null when none runs. */
  uptimeMs: number | null;
  /** Processes started for this server after the first one. */
  restarts: number;
  /** How the last process ended (exit code or signal) and when (epoch ms); null if none has ended. */
  lastExit: { code: number | null; signal: string | null; at: number } | null;
  /** CPU seconds per wall second over the last sampling interval (1 = one full core). */
  cpuRatio: number | null;
  /** Resident memory of the process group (bytes) at the last sample; null before one (and off Linux). */
  rssBytes: number | null;
}

interface Entry {
  pid: number | null;
  startedAt: number | null;
  starts: number;
  lastExit: ProcessFacts['lastExit'];
  cpuRatio: number | null;
  rssBytes: number | null;
}

/**
 * Per-server process facts across restarts, fed by the `ProcessGroup` observer of each launch
 * and by the resource sampler. Lives in the I/O layer (the supervisor object), not in machines.
 */
export class ProcessRegistry {
  private readonly entries = new Map<string, Entry>();

  observerFor(id: string): ProcessObserver {
    return {
      started: (pid, at) => {
        const entry = this.entry(id);
        entry.pid = pid;
        entry.startedAt = at;
        entry.starts += 1;
        entry.cpuRatio = null;
        entry.rssBytes = null;
      },
      exited: (pid, exit: ProcessExit, at) => {
        const entry = this.entry(id);
        entry.lastExit = { code: exit.code, signal: exit.signal, at };
        if (entry.pid === pid) {
          entry.pid = null;
          entry.cpuRatio = null;
          entry.rssBytes = null;
        }
      },
    };
  }

  /** Undefined for servers that never had a process (plain HTTP, in-process). */
  facts(id: string, now = Date.now()): ProcessFacts | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    return {
      pid: entry.pid,
      startedAt: entry.startedAt,
      uptimeMs: entry.pid !== null && entry.startedAt !== null ? now - entry.startedAt : null,
      restarts: Math.max(0, entry.starts - 1),
      lastExit: entry.lastExit,
      // A view's number: rounded like every ratio shown (a hundredth of a percent).
      cpuRatio: roundRatio(entry.cpuRatio),
      rssBytes: entry.rssBytes,
    };
  }

  /** Every server with a running process, for the sampler. */
  running(): Array<{ id: string; pid: number }> {
    const live: Array<{ id: string; pid: number }> = [];
    for (const [id, entry] of this.entries) if (entry.pid !== null) live.push({ id, pid: entry.pid });
    return live;
  }

  recordSample(id: string, pid: number, sample: { cpuRatio: number | null; rssBytes: number | null }): void {
    const entry = this.entries.get(id);
    if (!entry || entry.pid !== pid) return;
    entry.cpuRatio = sample.cpuRatio;
    entry.rssBytes = sample.rssBytes;
  }

  forget(id: string): void {
    this.entries.delete(id);
  }

  private entry(id: string): Entry {
    let entry = this.entries.get(id);
    if (!entry) {
      entry = { pid: null, startedAt: null, starts: 0, lastExit: null, cpuRatio: null, rssBytes: null };
      this.entries.set(id, entry);
    }
    return entry;
  }
}
