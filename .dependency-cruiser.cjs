/**
 * Layer rules for src/ (docs/design.md §1, docs/architecture.md). Run: npm run check:layers
 *
 *   service   src/service   CLI, startService                (may use everything below)
 *   http      src/http      Hono app, routes, dashboard      observe  src/observe
 *                                                            gateway  src/gateway (the fleet as one MCP server)
 *   fleet     src/fleet     the facade
 *   runtime   src/runtime   all I/O                          config   src/config
 *   machines  src/machines  pure statecharts
 *   core      src/core      pure types and policies
 *
 * Imports run one way: down. Entry folders: src/index.ts (the fleet facade), src/inspector
 * (re-exports observe/inspector), src/testing (standalone fault proxy, node built-ins only).
 *
 * Every layer rule counts type-only imports too (`import type` still couples the layers and
 * the emitted .d.ts files). Only the two "pure layers" rules look at run time alone: there,
 * `import type` (and `import('…')` types) are tolerated because they vanish from the emitted
 * JavaScript (dependency-cruiser labels them `pre-compilation-only`).
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */

/** The run-time packages that mean I/O, a server or a logger: never in the pure layers. */
const IO_PACKAGES = [
  '@modelcontextprotocol/[^/]+',
  'hono',
  '@hono/[^/]+',
  'pino',
  'ws',
  'prom-client',
  '@statelyai/[^/]+',
];
/**
 * Matches the resolved path (…node_modules/<pkg>/…, also under a symlinked or nested
 * node_modules) or, if the import could not be resolved, the bare specifier.
 */
const IO_PACKAGE_PATH = `(^|/)node_modules/(${IO_PACKAGES.join('|')})/|^(${IO_PACKAGES.join('|')})(/|$)`;

/** A src/ module outside the given top-level folders (each a folder name under src/). */
const srcExcept = (...folders) => ({ path: '^src/', pathNot: `^src/(${folders.join('|')})/` });

module.exports = {
  forbidden: [
    // ---------------------------------------------------------------- layers (one way: down)
    {
      name: 'core-imports-nothing-in-src',
      comment:
        'src/core is the bottom layer: pure types, states, settings, errors, policies, quality. ' +
        'It may not import any other part of src.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: srcExcept('core'),
    },
    {
      name: 'machines-import-only-core',
      comment:
        'src/machines holds the pure statecharts. They may import src/core (and xstate), nothing ' +
        'else in src: no runtime, config, fleet or anything above.',
      severity: 'error',
      from: { path: '^src/machines/' },
      to: srcExcept('core', 'machines'),
    },
    {
      name: 'runtime-imports-only-core-and-machines',
      comment:
        'src/runtime (transports, sessions, processes: all I/O) may import src/core and ' +
        'src/machines only. Not config (a sibling), not fleet or above.',
      severity: 'error',
      from: { path: '^src/runtime/' },
      to: srcExcept('core', 'machines', 'runtime'),
    },
    {
      name: 'config-imports-only-core',
      comment:
        'src/config (schema, load, persist) may import src/core only. Not runtime (a sibling), ' +
        'not machines, not fleet or above.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: srcExcept('core', 'config'),
    },
    {
      name: 'fleet-imports-only-lower-layers',
      comment:
        'src/fleet (the facade) may import core, machines, runtime and config. Not observe, http, ' +
        'service or the entry folders.',
      severity: 'error',
      from: { path: '^src/fleet/' },
      to: srcExcept('core', 'machines', 'runtime', 'config', 'fleet'),
    },
    {
      name: 'observe-imports-fleet-and-below',
      comment:
        'src/observe (metrics, event history, inspector bridge, logger) may import fleet and ' +
        'below. Not http (a sibling), not service, not the entry folders.',
      severity: 'error',
      from: { path: '^src/observe/' },
      to: srcExcept('core', 'machines', 'runtime', 'config', 'fleet', 'observe'),
    },
    {
      name: 'gateway-imports-fleet-and-below',
      comment:
        'src/gateway (the fleet as one MCP server: SDK Server factory, HTTP both eras, stdio) may ' +
        'import fleet and below. Not observe or http (siblings and above), not service.',
      severity: 'error',
      from: { path: '^src/gateway/' },
      to: srcExcept('core', 'machines', 'runtime', 'config', 'fleet', 'gateway'),
    },
    {
      name: 'http-imports-observe-fleet-and-below',
      comment:
        'src/http (Hono app, routes, dashboard) may import observe, gateway, fleet and below. Not ' +
        'service and not the entry folders.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: srcExcept('core', 'machines', 'runtime', 'config', 'fleet', 'observe', 'gateway', 'http'),
    },
    {
      name: 'mcp-server-sdk-only-in-gateway',
      comment:
        'The MCP server SDK (@modelcontextprotocol/server) is the gateway\'s business: no other part ' +
        'of src loads it (the library entry stays a client only).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/gateway/' },
      to: { path: '(^|/)node_modules/@modelcontextprotocol/server/|^@modelcontextprotocol/server(/|$)' },
    },
    // src/service may import everything in src: no rule.

    // ---------------------------------------------------------------- entry points
    {
      name: 'root-entry-exposes-fleet-and-below',
      comment:
        'src/index.ts is the `mcp-supervisor` entry: the fleet facade. It may re-export fleet and ' +
        'below (core, machines, runtime, config), never observe, http or service (they would load ' +
        'Hono, pino, ws and prom-client for every library user).',
      severity: 'error',
      from: { path: '^src/index\\.ts$' },
      to: srcExcept('core', 'machines', 'runtime', 'config', 'fleet'),
    },
    {
      name: 'inspector-entry-exposes-observe-only',
      comment: 'src/inspector is the `mcp-supervisor/inspector` entry: it re-exports src/observe only.',
      severity: 'error',
      from: { path: '^src/inspector/' },
      to: srcExcept('observe', 'inspector'),
    },
    {
      name: 'testing-entry-is-standalone',
      comment:
        'src/testing (`mcp-supervisor/testing`, the fault proxy) stands alone: it imports node ' +
        'built-ins and its own files, nothing else in src and no npm package.',
      severity: 'error',
      from: { path: '^src/testing/' },
      to: { pathNot: '^src/testing/', dependencyTypesNot: ['core'] },
    },

    // ---------------------------------------------------------------- purity of the bottom layers
    {
      name: 'pure-layers-no-node-builtins',
      comment:
        'src/core and src/machines are pure (no I/O; machines bundle for the browser): no node:* ' +
        'built-ins at run time. `import type` is tolerated.',
      severity: 'error',
      from: { path: '^src/(core|machines)/' },
      to: { dependencyTypes: ['core'], dependencyTypesNot: ['pre-compilation-only'] },
    },
    {
      name: 'pure-layers-no-io-packages',
      comment:
        'src/core and src/machines may not load the MCP SDK, Hono, pino, ws, prom-client or ' +
        '@statelyai/* at run time. `import type` (e.g. MCP SDK types in core) is tolerated.',
      severity: 'error',
      from: { path: '^src/(core|machines)/' },
      to: { path: IO_PACKAGE_PATH, dependencyTypesNot: ['pre-compilation-only'] },
    },

    // ---------------------------------------------------------------- hygiene
    {
      name: 'no-import-from-test-bench-scripts',
      comment:
        'Shipped code never imports from test/, bench/ or scripts/ (they are not published), nor ' +
        'from fixtures/ (the test servers the tests and the bench share).',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts|fixtures)/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles within src (type-only imports included).',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', circular: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // Resolve `./x.js` specifiers to `./x.ts` the way tsc (NodeNext) does.
    tsConfig: { fileName: 'tsconfig.json' },
    // See type-only imports too (the layer rules count them) and label the ones that vanish
    // from the emitted JavaScript `pre-compilation-only` (the pure-layer rules tolerate those).
    // Under verbatimModuleSyntax `import { type X } from 'hono'` still emits `import {} from
    // 'hono'`, so it is not pre-compilation-only and is caught; `import type` is not.
    tsPreCompilationDeps: 'specify',
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
