import { defineConfig } from 'vitest/config';

/**
 * Files that run with nothing beside them: they hold timing bounds of a few hundred milliseconds
 * (detection, a ride's answer, the cluster's fencing window) or load the machine themselves (a
 * storm of reconnections, 1 000 sessions under a browser), so a neighbour's load could fail them.
 */
const ALONE = [
  'test/e2e/cluster.test.ts',
  'test/e2e/dashboard-scale.test.ts',
  'test/integration/storm.test.ts',
  'test/integration/connection.test.ts',
  'test/integration/ride.test.ts',
  'test/integration/eras.test.ts',
  'test/integration/watchdog.test.ts',
];

export default defineConfig({
  test: {
    // Integration tests spawn real processes and servers; forks keep each file's children
    // attributable to one worker so the leak checks can walk its process tree.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 15_000,
    projects: [
      {
        extends: true,
        // Two at a time even on two cores (Vitest's default there is one): most files wait on
        // processes, sockets and timers rather than compute, so the suite takes ~2/3 the time.
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: ALONE, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        // After the shared group, one file at a time.
        test: { name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
