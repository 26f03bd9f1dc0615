/**
 * Unused files, exports, types and dependencies: `npm run check:unused` (docs/architecture.md).
 *
 * Entry files are the package's public API (package.json "exports" and "bin") plus everything
 * that is run rather than imported: scripts, the bench, the tests and their fixtures (test/fixtures/,
 * and fixtures/ for the servers the bench shares with the tests), the examples. Exports of the
 * entry files are used by definition (includeEntryExports is off), so an export is reported only
 * when no entry file reaches it. Fix a report by deleting the code,
 * or by dropping `export` from a helper used only in its own file; ignore something here only
 * when it is used in a way knip cannot see, and say how.
 *
 * Also entries, found by knip's plugins rather than listed here (listing them again only earns
 * "redundant entry pattern" hints): bin/mcp-supervisor.mjs (package.json "bin"),
 * src/service/cli.ts (`npm start`: tsx src/service/cli.ts), bench/run.ts (`npm run bench`),
 * vitest.config.ts and the test files (the vitest plugin; the test glob is listed anyway below so
 * the tests stay entries whatever vitest.config.ts includes).
 */
import type { KnipConfig } from 'knip';

const config: KnipConfig = {
  entry: [
    // Public entry points: package.json "exports".
    'src/index.ts',
    'src/machines/index.ts',
    'src/service/index.ts',
    'src/testing/index.ts',
    'src/inspector/index.ts',
    // Spawned by path (src/runtime/process/watchdog.ts: new URL('./watchdog-process.mjs',
    // import.meta.url)), never imported.
    'src/runtime/process/watchdog-process.mjs',
    // Run, not imported.
    'scripts/*.{ts,mjs}',
    'bench/scenarios/*.ts',
    // Spawned by path from bench/scenarios/41-scale-50k.ts, in a process of its own.
    'bench/fleet-50k.ts',
    'test/**/*.test.ts',
    // Test servers and programs the tests (and, for fixtures/, the bench) spawn by path.
    'test/fixtures/*',
    'fixtures/*.mjs',
    'examples/*.mjs',
    // Spawned by path from examples/embed.mjs (args: [path('./servers/flaky-server.mjs')]).
    'examples/servers/*.mjs',
  ],
  project: [
    'src/**/*.{ts,mjs}',
    'bin/**/*.mjs',
    'scripts/**/*.{ts,mjs}',
    'bench/**/*.ts',
    'test/**/*.{ts,mjs}',
    'fixtures/**/*.{ts,mjs}',
    'examples/**/*.mjs',
  ],
  ignoreBinaries: [
    // util-linux (essential on Debian): test/e2e/log-files.test.ts runs the service under
    // `prlimit --fsize` so that writing its log files really fails (EFBIG), as on a full disk.
    'prlimit',
  ],
  ignoreDependencies: [
    // Used by path, which knip cannot see: the tests and examples/embed.mjs spawn
    // node_modules/@modelcontextprotocol/server-everything/dist/index.js (located with
    // createRequire().resolve or a relative path), they never import it.
    '@modelcontextprotocol/server-everything',
    // Run by path in a process of its own (bench/scenarios/51-proxy-load.ts resolves
    // autocannon/autocannon.js with createRequire and spawns it), never imported.
    'autocannon',
  ],
};

export default config;
