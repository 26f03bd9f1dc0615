// Where a slow request's time went on the thread that ran it (the bench's main thread): running,
// or ready to run and waiting for a CPU that other threads of this OS hold (this process's own,
// e.g. V8's GC helpers, or other processes'). Time a hypervisor takes shows as neither, or as time
// on a CPU. Linux's schedstat for the calling thread, in nanoseconds; elsewhere, nothing.
import { readFileSync } from 'node:fs';

/** A thread's time so far: on a CPU, and ready but waiting for one (ms). */
export interface ThreadTimes {
  onCpuMs: number;
  waitingMs: number;
}

/** The calling thread's times now, from `/proc/thread-self/schedstat`; undefined where it cannot be read. */
export function threadTimes(): ThreadTimes | undefined {
  let text: string;
  try {
    // For the calling thread the kernel prints its CPU total as last updated, at a scheduler tick
    // or a switch (up to 4 ms stale at HZ=250); getrusage, under cpuUsage, brings it up to date.
    process.cpuUsage();
    text = readFileSync('/proc/thread-self/schedstat', 'utf8');
  } catch {
    return undefined;
  }
  const [onCpuNs, waitingNs] = text.trim().split(' ').map(Number);
  // A kernel without sched_info prints zeros; a running thread never reads 0 on a CPU.
  if (onCpuNs === undefined || waitingNs === undefined || !Number.isFinite(onCpuNs) || !Number.isFinite(waitingNs) || onCpuNs === 0) return undefined;
  return { onCpuMs: onCpuNs / 1e6, waitingMs: waitingNs / 1e6 };
}

/** What passed between two readings (undefined if either is missing). */
export function threadTimesBetween(before: ThreadTimes | undefined, after: ThreadTimes | undefined): ThreadTimes | undefined {
  return before && after ? { onCpuMs: after.onCpuMs - before.onCpuMs, waitingMs: after.waitingMs - before.waitingMs } : undefined;
}
