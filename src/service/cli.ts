import { parseArgs } from 'node:util';
import { ConfigError } from '../config/errors.js';
import { ClusterJoinError } from '../fleet/errors.js';
import { loadConfigFile } from '../config/load.js';
import type { HttpLimits } from '../http/deps.js';
import { isHostEntry } from '../observe/local-access.js';
import type { InspectorBridge } from '../observe/inspector.js';
import { createLogger } from '../observe/logger.js';
import type { Logger } from '../observe/logger.js';
import { packageVersion } from '../runtime/package-info.js';
import { DEFAULT_HOST, DEFAULT_PORT, SHUTDOWN_TIMEOUT_MS, startService } from './service.js';
import type { RunningService, ServiceClusterOptions } from './service.js';
import { registerCommand } from './register-command.js';
import { serveStdioCommand } from './stdio-command.js';
import { logDirIssues, rawLogsSection } from './log-files.js';
import { auditDirIssues, rawAuditSection } from './audit-file.js';
import type { FleetEvent } from '../fleet/events.js';

const DEFAULT_INSPECT_PORT = 7412;
/** Signals that stop the service gracefully. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** A repeat of the stop signal within this long is an echo of the first, not a request to force. */
const SIGNAL_ECHO_MS = 1_000;

const HELP = `mcp-supervisor — keeps MCP server connections alive and honest

Usage: mcp-supervisor --config <file> [options]
       mcp-supervisor --check --config <file>
       mcp-supervisor register --etcd <url> --id <id> --url <url>   (see register --help)
       mcp-supervisor serve-stdio --config <file>   the fleet as one MCP server on stdio
                                                    (see serve-stdio --help)

Options:
  -c, --config <file>      mcpServers config (JSON); servers added or removed
                           through the API are written back to it   [required]
      --host <addr>        interface to listen on                  [${DEFAULT_HOST}]
  -p, --port <n>           port to listen on; 0 = any free port    [${DEFAULT_PORT}]
      --token <secret>     require "Authorization: Bearer <secret>" on every
                           route but /health; prefer the environment
                           variable MCP_SUPERVISOR_TOKEN (a flag shows in ps)
      --allowed-hosts <a,b>
                           further names (name or name:port) the API and the
                           inspector answer to in Host and Origin, e.g. a
                           reverse proxy's; their own address, localhost,
                           127.0.0.1 and [::1] always; any other gets 403
      --max-call-body <n>  largest tool-call body, in bytes or with KiB/MiB
                           (other routes: 1MiB)                      [4MiB]
      --max-event-clients <n>
                           event streams open at once (/events and
                           logs?follow=1 together); more get 503     [64]
      --max-servers <n>    servers the fleet may hold; POST /actors beyond
                           answers 409 limit_reached                 [1000]
      --log-level <lvl>    fatal|error|warn|info|debug|trace|silent  [info]
      --inspect            watch every statechart live in the Stately inspector
                           (prints the page to open)
      --inspect-port <n>   port of the inspector page; 0 = any free port [${DEFAULT_INSPECT_PORT}]
      --etcd <url,url>     cluster mode: share the fleet with other instances
                           through etcd (the servers are the keys
                           <prefix>servers/<id>; the config gives settings)
      --instance <name>    this instance's name in the cluster [hostname-pid]
      --lease-ttl <s>      lease of this instance's keys, seconds       [10]
      --cluster-prefix <p> key prefix in etcd           [/mcp-supervisor/]
      --seed-servers       also register the config's mcpServers in etcd
                           (ids not registered yet)
      --advertise-url <u>  where the other instances reach this one's API
                           (requests about its servers are forwarded there)
                                          [the URL it listens on]
      --check              validate the config and exit, starting nothing (like
                           nginx -t): 0 and a one-line summary, or 1 and every
                           problem by path
  -h, --help               show this help
  -v, --version            print the version

The fleet is also one MCP server at /mcp (tools named <server>__<tool>) and /mcp/<id>
(one server), both protocol eras, for operator tokens.
Logs are JSON lines (pino) on stdout; the line saying where to connect goes to stderr.
SIGINT / SIGTERM / SIGHUP shut down gracefully: every server is stopped and its process reaped
within ${SHUTDOWN_TIMEOUT_MS / 1000} s, then the process exits 0. The same signal again
more than a second later forces an immediate exit.
`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

class UsageError extends Error {}

interface Options {
  config: string;
  host: string;
  port: number;
  token: string | undefined;
  allowedHosts: string[];
  limits: HttpLimits;
  level: LogLevel;
  inspect: boolean;
  inspectPort: number;
  cluster: ServiceClusterOptions | undefined;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'register') return registerCommand(argv.slice(1));
  if (argv[0] === 'serve-stdio') return serveStdioCommand(argv.slice(1));
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
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (values.check) {
    if (values.config) return check(values.config);
    process.stderr.write(`--check needs --config <file>\n\n${HELP}`);
    return 2;
  }
  let options: Options;
  try {
    options = validate(values);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${HELP}`);
    return 2;
  }
  return run(options);
}

async function run(options: Options): Promise<number> {
  const logger = createLogger(options.level);
  // Listening from the start: a signal during startup shuts down once started, never leaving children behind.
  // SIGHUP (the terminal closed) is a graceful stop too, not a reload: reloading a config that
  // spawns processes on a signal anyone with the same uid can send is not worth the surprise.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    for (const name of STOP_SIGNALS) process.once(name, resolve);
  });
  let inspector: InspectorBridge | undefined;
  let service: RunningService;
  try {
    if (options.inspect) {
      // Loaded only when asked for: it pulls in a WebSocket stack.
      const { startInspector } = await import('../observe/inspector.js');
      // The bridge needs the API's token too (a config file's, when no flag or variable gives one).
      const config = await loadConfigFile(options.config);
      const token = options.token ?? config.token;
      inspector = await startInspector({ host: options.host, port: options.inspectPort, token, tokens: config.tokens, allowedHosts: options.allowedHosts });
    }
    service = await startService({
      configPath: options.config,
      host: options.host,
      port: options.port,
      token: options.token,
      allowedHosts: options.allowedHosts,
      limits: options.limits,
      logger,
      inspect: inspector?.inspect,
      cluster: options.cluster,
    });
  } catch (error) {
    await inspector?.close();
    if (error instanceof ConfigError || error instanceof ClusterJoinError) {
      process.stderr.write(`mcp-supervisor: ${error.message}\n`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      process.stderr.write(`mcp-supervisor: cannot listen on ${options.host}:${options.port}: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  }

  const { supervisor, url } = service;
  supervisor.subscribe((event) => logEvent(logger, event));
  logger.info({ url, config: options.config, servers: supervisor.ids(), auth: service.requiresToken, inspector: inspector?.url.replace(/\?.*$/, '') }, 'listening');
  const auth = service.requiresToken ? ' -H "Authorization: Bearer <token>"' : '';
  process.stderr.write(`mcp-supervisor listening on ${url} — try: curl${auth} ${url}/actors\n`);
  if (inspector) process.stderr.write(`mcp-supervisor statecharts: open ${inspector.url} in a browser\n`);

  const signal = await signalled;
  const started = Date.now();
  logger.info({ signal }, 'shutting down');
  // A second signal, or a shutdown that overruns its budget, ends the process at once. One Ctrl-C
  // often arrives twice (the terminal signals the whole process group, and `npm start` forwards
  // it again), so a repeat within SIGNAL_ECHO_MS is the same keypress, not a second one.
  const force = (reason: string) => (): void => {
    logger.error({ reason }, 'forced exit');
    process.exit(1);
  };
  for (const name of STOP_SIGNALS) {
    const onRepeat = (): void => {
      if (Date.now() - started < SIGNAL_ECHO_MS) process.once(name, onRepeat);
      else force(`second ${name}`)();
    };
    process.once(name, onRepeat);
  }
  setTimeout(force(`shutdown took longer than ${SHUTDOWN_TIMEOUT_MS + 1_000} ms`), SHUTDOWN_TIMEOUT_MS + 1_000).unref();

  await service.close();
  await inspector?.close();
  logger.info({ ms: Date.now() - started }, 'stopped');
  return 0;
}

function validate(values: ReturnType<typeof parse>['values']): Options {
  const level = values['log-level'] ?? 'info';
  if (!isLogLevel(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  if (!values.config) throw new UsageError('--config is required');
  const token = values.token ?? process.env.MCP_SUPERVISOR_TOKEN;
  if (token !== undefined && token.trim() === '') throw new UsageError('the token (--token or MCP_SUPERVISOR_TOKEN) must not be empty');
  return {
    config: values.config,
    host: values.host ?? DEFAULT_HOST,
    port: portOf('--port', values.port, DEFAULT_PORT),
    token,
    allowedHosts: hostsOf(values['allowed-hosts']),
    limits: {
      maxCallBodyBytes: sizeOf('--max-call-body', values['max-call-body']),
      maxEventClients: countOf('--max-event-clients', values['max-event-clients']),
      maxServers: countOf('--max-servers', values['max-servers']),
    },
    level,
    inspect: values.inspect ?? false,
    inspectPort: portOf('--inspect-port', values['inspect-port'], DEFAULT_INSPECT_PORT),
    cluster: clusterOf(values),
  };
}

/** `--etcd` and its companions; undefined when not in cluster mode. */
function clusterOf(values: ReturnType<typeof parse>['values']): Options['cluster'] {
  const companions = ['instance', 'lease-ttl', 'cluster-prefix', 'seed-servers', 'advertise-url'] as const;
  if (values.etcd === undefined) {
    const stray = companions.find((name) => values[name] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --etcd <url>`);
    return undefined;
  }
  const etcd = values.etcd.split(',').map((url) => url.trim()).filter((url) => url !== '');
  if (etcd.length === 0 || etcd.some((url) => !/^https?:\/\/[^/\s]+\/?$/.test(url))) throw new UsageError('--etcd takes http(s)://host:port URLs, comma-separated');
  const ttl = values['lease-ttl'] === undefined ? undefined : Number(values['lease-ttl']);
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 2 && ttl <= 3_600)) throw new UsageError('--lease-ttl must be a whole number of seconds from 2 to 3600');
  const instance = values.instance;
  if (instance !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(instance)) throw new UsageError('--instance must be letters, digits, ".", "_" or "-" (at most 128)');
  const advertiseUrl = values['advertise-url'];
  if (advertiseUrl !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(advertiseUrl)) throw new UsageError('--advertise-url takes an http(s)://host:port URL');
  return { etcd, instance, leaseTtlSeconds: ttl, prefix: values['cluster-prefix'], seedServers: values['seed-servers'] ?? false, advertiseUrl };
}

/**
 * `--check`: loads and validates the config as a start would (env files read, `${VAR}` expanded
 * from this environment), prints ignored keys and warnings to stderr, then one summary line to
 * stdout; or every problem by path to stderr. Starts nothing, binds nothing.
 */
async function check(path: string): Promise<number> {
  let config: Awaited<ReturnType<typeof loadConfigFile>>;
  try {
    config = await loadConfigFile(path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The directories it would write are checked too, so one run lists every problem.
    const unwritable = [...(await logDirIssues(path, await rawLogsSection(path))), ...(await auditDirIssues(path, await rawAuditSection(path)))];
    process.stderr.write(`mcp-supervisor: ${(unwritable.length > 0 ? new ConfigError(path, [...error.issues, ...unwritable]) : error).message}\n`);
    return 1;
  }
  const unwritable = [...(await logDirIssues(path, config.logs)), ...(await auditDirIssues(path, config.audit))];
  if (unwritable.length > 0) {
    process.stderr.write(`mcp-supervisor: ${new ConfigError(path, unwritable).message}\n`);
    return 1;
  }
  for (const { path: where, keys } of config.ignored ?? []) process.stderr.write(`mcp-supervisor: ${where || '(root)'}: ignoring ${keys.join(', ')}\n`);
  for (const warning of config.warnings ?? []) process.stderr.write(`mcp-supervisor: warning: ${warning.path}: ${warning.message}\n`);
  const disabled = config.servers.filter((server) => server.disabled).length;
  const servers = `${config.servers.length} server${config.servers.length === 1 ? '' : 's'}${disabled > 0 ? ` (${disabled} disabled)` : ''}`;
  process.stdout.write(`mcp-supervisor: config ${path} is valid: ${servers}\n`);
  return 0;
}

function portOf(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new UsageError(`${flag} must be a port number from 0 to 65535, got "${value}"`);
  return port;
}

function hostsOf(value: string | undefined): string[] {
  const hosts = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const bad = hosts.filter((entry) => !isHostEntry(entry));
  if (bad.length > 0) throw new UsageError(`--allowed-hosts takes names or name:port (IPv6 in brackets), got ${bad.map((entry) => `"${entry}"`).join(', ')}`);
  return hosts;
}

/** A positive whole number of bytes, or of KiB/MiB with that suffix (k, KiB, m, MiB, any case). */
function sizeOf(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\s*(k|kib|m|mib)?$/i.exec(value.trim());
  const size = match ? Number(match[1]) * (match[2] ? (match[2].toLowerCase().startsWith('k') ? 1024 : 1024 * 1024) : 1) : NaN;
  if (!Number.isSafeInteger(size) || size < 1) throw new UsageError(`${flag} must be a size in bytes (e.g. 4194304, 512KiB, 8MiB), got "${value}"`);
  return size;
}

function countOf(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const count = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(count) || count < 1) throw new UsageError(`${flag} must be a whole number of at least 1, got "${value}"`);
  return count;
}

function logEvent(logger: Logger, event: FleetEvent): void {
  switch (event.type) {
    case 'state.changed':
      logger.info({ server: event.id, from: event.from, to: event.to, reason: event.reason }, 'state.changed');
      return;
    case 'probe.completed':
      logger.debug({ server: event.id, probe: event.kind, outcome: event.outcome, latencyMs: event.latencyMs }, 'probe');
      return;
    case 'slot.granted':
      logger.debug({ server: event.id, waitedMs: event.waitedMs, inFlight: event.inFlight }, 'slot.granted');
      return;
    case 'quarantine.started':
      logger.warn({ server: event.id, until: new Date(event.until).toISOString(), times: event.times }, 'flapping: quarantined');
      return;
    case 'panic.started':
      logger.warn({ lost: event.lost, total: event.total }, 'panic: most of the fleet lost at once, admitting slowly');
      return;
    case 'panic.ended':
      logger.warn({ lost: event.lost, total: event.total }, 'panic over');
      return;
    case 'server.added':
    case 'server.removed':
      logger.info({ server: event.id }, event.type);
      return;
    case 'call.completed':
      logger.debug({ server: event.id, tool: event.tool, outcome: event.outcome, latencyMs: event.latencyMs }, 'tool call');
      return;
    case 'resource.exceeded':
      logger.warn({ server: event.id, pid: event.pid, resource: event.resource, measured: event.measured, limit: event.limit }, `resource limit: restarting (${event.message})`);
      return;
    case 'leak.suspected':
      logger.warn(
        { server: event.id, pid: event.pid, bytesPerSecond: event.bytesPerSecond, projectedLimitInSeconds: event.projectedLimitInSeconds },
        'memory grows steadily: a leak trend',
      );
      return;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      token: { type: 'string' },
      'allowed-hosts': { type: 'string' },
      'max-call-body': { type: 'string' },
      'max-event-clients': { type: 'string' },
      'max-servers': { type: 'string' },
      'log-level': { type: 'string' },
      inspect: { type: 'boolean' },
      'inspect-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      check: { type: 'boolean' },
      etcd: { type: 'string' },
      instance: { type: 'string' },
      'lease-ttl': { type: 'string' },
      'cluster-prefix': { type: 'string' },
      'seed-servers': { type: 'boolean' },
      'advertise-url': { type: 'string' },
    },
    strict: true,
  });
}

function isLogLevel(level: string): level is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(level);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`mcp-supervisor: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
