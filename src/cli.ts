import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { ConfigError } from './config/errors.js';
import { loadConfigFile } from './config/load.js';
import { createConnection } from './connection.js';
import type { ManagedConnection } from './connection.js';
import { createLogger } from './logger.js';

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

  const connections: ManagedConnection[] = config.servers
    .filter((server) => !server.disabled)
    .map((server) =>
      createConnection({
        id: server.id,
        target: server.target,
        settings: server.settings,
        onTransition: (change) => logger.info({ server: change.id, from: change.from, to: change.to, reason: change.reason }, 'transition'),
      }),
    );
  for (const connection of connections) {
    connection.actor.on('probe.completed', (probe) =>
      logger.debug({ server: probe.id, probe: probe.kind, outcome: probe.outcome, latencyMs: probe.latencyMs }, 'probe'),
    );
  }
  logger.info({ config: values.config, servers: connections.map((connection) => connection.id) }, 'supervising');

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('shutting down');
  await Promise.allSettled(connections.map((connection) => connection.dispose()));
  logger.info('stopped');
  return 0;
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
