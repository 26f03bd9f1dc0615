import { Console } from 'node:console';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/errors.js';
import { loadConfigFile } from '../config/load.js';
import { FleetCatalog } from '../fleet/catalog.js';
import { createSupervisor } from '../fleet/supervisor.js';
import { serveGatewayStdio } from '../gateway/stdio.js';
import { GatewayServers } from '../gateway/server.js';
import { SinkHealth } from '../observe/file-sink.js';
import { createLogger } from '../observe/logger.js';
import { startTracing } from '../observe/tracing.js';
import { boundedBy } from '../runtime/bounded.js';
import { packageVersion } from '../runtime/package-info.js';
import { startWatchdog } from '../runtime/process/watchdog.js';
import { openServerLogs } from './log-files.js';
import { SHUTDOWN_TIMEOUT_MS } from './service.js';

const HELP = `mcp-supervisor serve-stdio — the whole fleet as one MCP server on stdin/stdout

Usage: mcp-supervisor serve-stdio --config <file> [options]

For MCP clients that launch stdio servers (Claude Desktop, Cursor, VS Code): the client
starts this, and it supervises every server of the config and serves their tools,
prompts and resources as one server (tool names <server>__<tool>). Both protocol eras.
No HTTP API: stdout carries the protocol only; logs go to stderr.

Options:
  -c, --config <file>      mcpServers config (JSON)                   [required]
      --log-level <lvl>    fatal|error|warn|info|debug|trace|silent  [warn]
  -h, --help               show this help

It exits when stdin ends (the client went away) or on SIGINT / SIGTERM / SIGHUP, after
stopping every server and reaping its processes.
`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** How long serving waits at start for the servers to connect, so the client's first list is full. */
const STARTUP_WAIT_MS = 10_000;

/** `mcp-supervisor serve-stdio …`: serves the fleet on stdio until stdin ends; the exit code. */
export async function serveStdioCommand(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  // stdout is the protocol's: help goes to stderr too.
  if (values.help) {
    process.stderr.write(HELP);
    return 0;
  }
  const level = values['log-level'] ?? 'warn';
  if (!(LOG_LEVELS as readonly string[]).includes(level) || !values.config) {
    process.stderr.write(`${values.config ? `--log-level must be one of ${LOG_LEVELS.join(', ')}` : '--config is required'}\n\n${HELP}`);
    return 2;
  }
  const configPath = values.config;
  // stdout is the protocol: anything a library prints with console (the MCP SDK debug-logs a
  // server without tools there) would corrupt the client's stream, so console goes to stderr.
  globalThis.console = new Console(process.stderr, process.stderr);
  const logger = createLogger(level as (typeof LOG_LEVELS)[number], process.stderr);
  const stopped = new Promise<string>((resolve) => {
    for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(name, () => resolve(name));
    process.stdin.once('end', () => resolve('stdin ended'));
    process.stdin.once('close', () => resolve('stdin closed'));
  });

  let config;
  let serverLogs;
  try {
    config = await loadConfigFile(configPath);
    // An unwritable log directory is a ConfigError too, before anything spawns.
    serverLogs = await openServerLogs(configPath, config.logs, { logger, health: new SinkHealth() });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`mcp-supervisor: ${error.message}\n`);
    return 1;
  }
  for (const warning of config.warnings ?? []) logger.warn({ path: warning.path }, `config: ${warning.message}`);
  const watchdog = await startWatchdog();
  const tracing = await startTracing({ serviceVersion: packageVersion(), logger });
  const supervisor = createSupervisor(config, {
    watchdog,
    ...(tracing ? { tracing: tracing.tracing } : {}),
    ...(serverLogs ? { logSink: serverLogs } : {}),
  });
  supervisor.subscribe((event) => {
    if (event.type === 'state.changed') logger.info({ server: event.id, from: event.from, to: event.to, reason: event.reason }, 'state.changed');
  });
  const catalog = new FleetCatalog(supervisor);
  await catalog.start();
  // The client lists once it is connected, and many never listen for changes: let the servers
  // connect first (bounded), so that first list is the fleet's.
  await boundedBy(Promise.all(supervisor.ids().map((id) => supervisor.whenServing(id, STARTUP_WAIT_MS))), STARTUP_WAIT_MS);
  await boundedBy(catalog.settled(), STARTUP_WAIT_MS);
  const gateway = serveGatewayStdio(new GatewayServers({ supervisor, catalog, version: packageVersion() }), {
    onerror: (error) => logger.debug({ err: error }, 'mcp gateway'),
  });
  logger.info({ config: configPath, servers: supervisor.ids() }, 'serving on stdio');

  const reason = await stopped;
  logger.info({ reason }, 'shutting down');
  setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS + 1_000).unref();
  await gateway.close().catch(() => undefined);
  catalog.stop();
  await supervisor.stop(SHUTDOWN_TIMEOUT_MS - 1_000).catch((error: unknown) => logger.error({ err: error }, 'supervisor did not stop in time'));
  await serverLogs?.closeAll();
  await boundedBy(tracing?.shutdown(), 1_000);
  await watchdog.abandon();
  return 0;
}
