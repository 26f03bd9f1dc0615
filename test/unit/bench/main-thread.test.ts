import { describe, expect, it } from 'vitest';
import { threadTimes, threadTimesBetween } from '../../../bench/main-thread.js';

const linux = process.platform === 'linux';

describe('threadTimes: where the calling thread spent a span', () => {
  it.runIf(linux)('counts a busy spin as time on a CPU (or waiting for one), and a blocked wait as neither', () => {
    const spinStart = threadTimes();
    const spinWall = performance.now();
    while (performance.now() - spinWall < 60);
    const spin = threadTimesBetween(spinStart, threadTimes());
    const spinMs = performance.now() - spinWall;
    expect(spin).toBeDefined();
    // Runnable the whole time: on a CPU, or ready and waiting for one.
    expect(spin!.onCpuMs + spin!.waitingMs).toBeGreaterThan(spinMs * 0.8);
    expect(spin!.onCpuMs).toBeLessThanOrEqual(spinMs + 5);

    // Asleep on a futex (not runnable) for 60 ms: in neither column. A wait for a CPU after waking
    // lengthens the wall time as much as the waiting column, so the difference holds under load.
    const blockStart = threadTimes();
    const blockWall = performance.now();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60);
    const blocked = threadTimesBetween(blockStart, threadTimes());
    const blockedMs = performance.now() - blockWall;
    expect(blockedMs - (blocked!.onCpuMs + blocked!.waitingMs)).toBeGreaterThan(45);
    expect(blocked!.onCpuMs).toBeLessThan(10);
  });

  it('between two readings is undefined when either is missing', () => {
    const reading = { onCpuMs: 10, waitingMs: 2 };
    expect(threadTimesBetween(undefined, reading)).toBeUndefined();
    expect(threadTimesBetween(reading, undefined)).toBeUndefined();
    expect(threadTimesBetween(reading, { onCpuMs: 15, waitingMs: 3 })).toEqual({ onCpuMs: 5, waitingMs: 1 });
  });
});
