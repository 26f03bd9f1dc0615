import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { ConfigError } from './config/errors.js';
import { loadConfigFile } from './config/load.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import type { FleetEvent } from './supervisor.js';
import { createSupervisor } from './supervisor.js';

const HELP = `mcp-supervisor — keeps MCP server connections alive and honest

Usage: mcp-supervisor --config <file> [options]

Options:
  -c, --config <file>     mcpServers config (JSON)            [required]
      --log-level <lvl>   fatal|error|warn|info|debug|trace|silent  [info]
  -h, --help              show this help
  -v, --version           print the version
`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const level = values['log-level'] ?? 'info';
  if (!isLogLevel(level)) {
    process.stderr.write(`--log-level must be one of ${LOG_LEVELS.join(', ')}\n`);
    return 2;
  }
  if (!values.config) {
    process.stderr.write(`--config is required\n\n${HELP}`);
    return 2;
  }

  const logger = createLogger(level);
  let config;
  try {
    config = await loadConfigFile(values.config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }

  const supervisor = createSupervisor(config);
  supervisor.subscribe((event) => logEvent(logger, event));
  logger.info(
    { config: values.config, servers: supervisor.ids(), maxConcurrentReconnects: config.maxConcurrentReconnects },
    'supervising',
  );

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('shutting down');
  await supervisor.stop();
  logger.info('stopped');
  return 0;
}

function logEvent(logger: Logger, event: FleetEvent): void {
  switch (event.type) {
    case 'transition':
      logger.info({ server: event.id, from: event.from, to: event.to, reason: event.reason }, 'transition');
      return;
    case 'probe.completed':
      logger.debug({ server: event.id, probe: event.kind, outcome: event.outcome, latencyMs: event.latencyMs }, 'probe');
      return;
    case 'admission':
      logger.debug({ server: event.id, waitedMs: event.waitedMs, inFlight: event.inFlight }, 'admitted');
      return;
    case 'quarantine':
      logger.warn({ server: event.id, until: new Date(event.until).toISOString(), times: event.times }, 'flapping: quarantined');
      return;
    case 'panic':
      logger.warn({ active: event.active, lost: event.lost, total: event.total }, event.active ? 'panic: most of the fleet lost at once, admitting slowly' : 'panic over');
      return;
    case 'server.added':
    case 'server.removed':
      logger.info({ server: event.id }, event.type);
      return;
    case 'call.completed':
      logger.debug({ server: event.id, tool: event.tool, outcome: event.outcome, latencyMs: event.latencyMs }, 'tool call');
      return;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
    strict: true,
  });
}

function isLogLevel(level: string): level is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(level);
}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`mcp-supervisor: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
