import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { parseConfigText, readConfigText, singleTokenIssues } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import { ConfigStore } from '../config/store.js';
import { createApp } from '../http/app.js';
import type { App } from '../http/app.js';
import type { HttpLimits } from '../http/deps.js';
import { createMetrics } from '../observe/metrics.js';
import { startTracing } from '../observe/tracing.js';
import { boundedBy } from '../runtime/bounded.js';
import { SinkHealth } from '../observe/file-sink.js';
import { openServerLogs } from './log-files.js';
import { openAuditTrail } from './audit-file.js';
import type { Logger } from '../observe/logger.js';
import { createSupervisor } from '../fleet/supervisor.js';
import { ClusterNode } from '../fleet/cluster.js';
import type { ClusterOptions } from '../fleet/cluster.js';
import { packageVersion } from '../runtime/package-info.js';
import { startWatchdog } from '../runtime/process/watchdog.js';
import type { CreateSupervisorOptions, Supervisor } from '../fleet/supervisor.js';
import { FleetCatalog } from '../fleet/catalog.js';
import { createGatewayHttp } from '../gateway/http.js';
import type { Gateway } from '../gateway/http.js';
import { GatewayServers } from '../gateway/server.js';

/** Where the service listens unless told otherwise: loopback only (docs/design.md §5). */
export const DEFAULT_HOST = '127.0.0.1';
/** The CLI's default port (the library default is 0, an OS-chosen port). */
export const DEFAULT_PORT = 7411;
/** `close()` finishes within this, whatever the servers do. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;
/** Longest wait for buffered spans to be exported at shutdown. */
const TRACES_FLUSH_MS = 2_000;

/** Options of {@link startService}; only `configPath` is required. */
export interface StartServiceOptions {
  /** The `mcpServers` config file; servers added or removed through the API are written back to it. */
  configPath: string;
  /** Interface to listen on; default `127.0.0.1` (loopback only). */
  host?: string;
  /** 0 (default) lets the OS pick; read the chosen one from the result. */
  port?: number;
  /** When set, every route but `/health` requires `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * Further names the API answers to besides its own address, `localhost`, `127.0.0.1` and
   * `[::1]` (`name` for any port, `name:port` for one); other `Host`s and `Origin`s get 403.
   */
  allowedHosts?: readonly string[];
  /** Body size, JSON depth, event-stream and fleet-size limits of the API (docs/security.md). */
  limits?: HttpLimits;
  /** Where the service logs (pino); default none. */
  logger?: Logger;
  /** An XState inspection observer (e.g. `startInspector().inspect`). */
  inspect?: CreateSupervisorOptions['inspect'];
  /** Further supervisor options (flap, panic, stdio teardown timings). */
  supervisor?: Omit<CreateSupervisorOptions, 'inspect'>;
  /** Environment for `${VAR}` expansion; `process.env` by default. */
  env?: Record<string, string | undefined>;
  /** Upper bound of `close()`; default 10 s. */
  shutdownTimeoutMs?: number;
  /** `false` runs without the hard-death watchdog process (for embedding where one is not wanted). */
  watchdog?: false;
  /**
   * Cluster mode (docs/cluster.md): the fleet is the servers registered in etcd, shared with the
   * other instances; the config file gives settings only (its servers too with `seedServers`).
   */
  cluster?: ServiceClusterOptions;
}

/** Cluster mode of {@link startService}. */
export interface ServiceClusterOptions extends Omit<ClusterOptions, 'apiUrl' | 'entryOptions' | 'instance'> {
  /** This instance's name; default `<hostname>-<pid>`. */
  instance?: string;
  /** Also register the config file's `mcpServers` in etcd (those whose id is not taken there yet). */
  seedServers?: boolean;
  /**
   * The URL the other instances reach this one's API at (requests are forwarded there); default
   * the URL it listens on, with this machine's hostname when it listens on every interface.
   */
  advertiseUrl?: string;
}

/** The service {@link startService} started. */
export interface RunningService {
  /** Base URL, e.g. `http://127.0.0.1:7411`. */
  url: string;
  /** The interface it listens on. */
  host: string;
  /** The port it listens on (the one the OS chose when asked for 0). */
  port: number;
  /** The fleet it supervises. */
  supervisor: Supervisor;
  /** The HTTP app it serves. */
  app: App;
  /** Whether the API requires a bearer token (from the options or the config). */
  requiresToken: boolean;
  /**
   * Graceful shutdown, at most `shutdownTimeoutMs`: stops accepting connections, stops the
   * supervisor (no more admissions, in-flight calls settle with an error, every transport closed,
   * every child reaped), lets pending responses finish, then closes every connection left
   * (idle keep-alive and `/events` streams). Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Runs the whole service: loads and validates the config (a `ConfigError` listing every problem
 * is thrown before anything starts), binds the port (a bind error is thrown before any server is
 * spawned), then starts supervising and serves the HTTP API.
 *
 * @example
 * ```ts
 * const service = await startService({ configPath: 'mcp.json', port: 7411, logger: createLogger('info') });
 * console.log(`open ${service.url}/actors`);
 * process.once('SIGTERM', () => void service.close());
 * ```
 */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  const host = options.host ?? DEFAULT_HOST;
  const env = options.env ?? process.env;
  const logger = options.logger;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS;

  // One read: the fleet and the store's compare-and-swap baseline come from the same bytes.
  const text = await readConfigText(options.configPath);
  const config = parseConfigText(text, options.configPath, env);
  for (const { server, keys } of config.ignored ?? []) logger?.info({ server, keys }, 'config: ignoring keys this supervisor does not use');
  for (const warning of config.warnings ?? []) logger?.warn({ path: warning.path }, `config: ${warning.message}`);
  const token = options.token ?? config.token;
  // The flag or variable is checked against `supervisor.tokens` as the config's own token was.
  const tokenIssues = options.token === undefined ? [] : singleTokenIssues(options.token, config.tokens, '--token / MCP_SUPERVISOR_TOKEN');
  if (tokenIssues.length > 0) throw new ConfigError(options.configPath, tokenIssues);
  // Health of every file sink (server logs, audit trail), shown by the metrics.
  const sinkHealth = new SinkHealth();
  // An unwritable log directory is a ConfigError, before anything binds or spawns.
  const serverLogs = await openServerLogs(options.configPath, config.logs, { logger, health: sinkHealth });
  const audit = await openAuditTrail(options.configPath, config.audit, { logger, health: sinkHealth }).catch(async (error: unknown) => {
    await serverLogs?.closeAll();
    throw error;
  });
  const persistence = await ConfigStore.open(options.configPath, { env, baseline: text });

  let app: App | undefined;
  const server = createAdaptorServer({
    fetch: async (request, bindings) => {
      if (!app) return Response.json({ error: { code: 'starting', message: 'the service is starting' } }, { status: 503 });
      const started = performance.now();
      const response = await app.fetch(request, bindings);
      if (response.headers.get('content-type')?.startsWith('text/event-stream') && 'outgoing' in bindings) {
        responses.streaming(bindings.outgoing as ServerResponse);
      }
      // Checked first: parsing the URL for a line nobody reads was a measurable part of a proxied call.
      if (logger?.isLevelEnabled('debug')) {
        logger.debug(
          { method: request.method, path: new URL(request.url).pathname, status: response.status, ms: Math.round(performance.now() - started) },
          'request',
        );
      }
      return response;
    },
  }) as Server;
  const responses = trackResponses(server);
  await listen(server, options.port ?? 0, host);
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  // If this process dies hard, the watchdog ends every server process group it was told about.
  const watchdog = options.watchdog === false ? undefined : await startWatchdog();
  // In cluster mode the fleet comes from the registry: this instance starts with none of its own.
  // The flags (options.cluster) take precedence over the config's `supervisor.cluster`.
  const clusterMode = options.cluster ?? config.cluster;
  // Traces when the standard OTEL_* variables ask for them (else the OpenTelemetry SDK is never
  // loaded), unless the embedder brought its own `supervisor.tracing`.
  const tracing = options.supervisor?.tracing ? undefined : await startTracing({ serviceVersion: packageVersion(), logger });
  const supervisor = createSupervisor(clusterMode ? { ...config, servers: [] } : config, {
    ...options.supervisor,
    inspect: options.inspect,
    watchdog,
    ...(tracing ? { tracing: tracing.tracing } : {}),
    ...(serverLogs ? { logSink: serverLogs } : {}),
  });
  const cluster = clusterMode
    ? new ClusterNode(supervisor, {
        ...clusterMode,
        instance: clusterMode.instance ?? `${hostname()}-${process.pid}`,
        apiUrl: clusterMode.advertiseUrl ?? advertised(host, port, url),
        // Registry entries get the config's supervisor-wide health settings, as its own entries would.
        entryOptions: { env, baseDir: dirname(options.configPath), supervisorHealth: persistence.supervisorHealth() },
        onEvent: (event) => logger?.info(event, event.type),
      })
    : undefined;
  let metrics: ReturnType<typeof createMetrics>;
  // The MCP endpoint (/mcp, /mcp/:id) is always on: it is behind the same token, role and Host
  // checks as the rest of the API (operator), and costs nothing until a client asks.
  const catalog = new FleetCatalog(supervisor);
  let gateway: Gateway | undefined;
  try {
    gateway = createGatewayHttp(new GatewayServers({ supervisor, catalog, version: packageVersion() }), {
      maxRequestBodySize: options.limits?.maxCallBodyBytes,
      onerror: (error) => logger?.debug({ err: error }, 'mcp gateway'),
    });
    await catalog.start();
    metrics = createMetrics(supervisor, { cluster, sinks: sinkHealth });
    app = createApp({
      supervisor,
      persistence,
      metrics,
      token,
      ...(config.tokens ? { tokens: config.tokens } : {}),
      audit,
      logger,
      version: packageVersion(),
      host,
      port,
      allowedHosts: options.allowedHosts,
      limits: options.limits,
      cluster,
      ...(serverLogs ? { serverLogs } : {}),
      gateway,
    });
    await cluster?.start();
    if (cluster && clusterMode?.seedServers) {
      // The entries as written (with their `${VAR}`s): each instance expands them in its own environment.
      const written = (JSON.parse(text) as { mcpServers?: Record<string, Record<string, unknown>> }).mcpServers ?? {};
      for (const [id, entry] of Object.entries(written)) {
        const added = await cluster.register(id, entry);
        logger?.info({ server: id, added }, added ? 'cluster: seeded from the config' : 'cluster: already registered, not seeded');
      }
    }
  } catch (error) {
    await gateway?.close();
    catalog.stop();
    await cluster?.stop().catch(() => undefined);
    await supervisor.stop().catch(() => undefined);
    await serverLogs?.closeAll();
    await audit.close();
    await boundedBy(tracing?.shutdown(), TRACES_FLUSH_MS);
    await watchdog?.close();
    server.closeAllConnections();
    server.close();
    throw error;
  }

  let closing: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    const deadline = Date.now() + shutdownTimeoutMs;
    const remaining = (reserveMs = 0): number => Math.max(0, deadline - Date.now() - reserveMs);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // MCP sessions and their streams end first: the clients hear the end, not a hang.
    await gateway?.close();
    catalog.stop();
    try {
      // Hand every server back to the cluster (its lease revoked: the others take over at once).
      await cluster?.stop();
      // Keep a little of the budget for the HTTP side.
      await supervisor.stop(Math.max(1, remaining(1_500)));
    } catch (error) {
      logger?.error({ err: error }, 'supervisor did not stop in time');
    }
    metrics.close();
    await serverLogs?.closeAll();
    // The last spans (the servers' final connects and probes) go out; an unreachable collector
    // costs at most this much of the shutdown.
    await boundedBy(tracing?.shutdown(), Math.min(TRACES_FLUSH_MS, remaining(500)));
    // Normally every group has ended by now and this is a plain close; a group whose teardown
    // overran the budget is ended by the watchdog rather than left running with PPID 1.
    await watchdog?.abandon();
    // Calls that were in flight have settled with an error; let those answers go out.
    await responses.settled(Math.min(1_000, remaining(200)));
    // After the answers: their audit records (made as each request ends) reach the file too.
    await audit.close();
    server.closeAllConnections();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining())))]);
    clearTimeout(timer);
  };

  return {
    url,
    host,
    port,
    supervisor,
    app,
    requiresToken: token !== undefined || (config.tokens?.length ?? 0) > 0,
    close: () => (closing ??= shutdown()),
  };
}

/** Where other instances reach this one: its own URL, or by hostname when it listens on every interface. */
function advertised(host: string, port: number, url: string): string {
  return host === '0.0.0.0' || host === '::' || host === '[::]' ? `http://${hostname()}:${port}` : url;
}

interface ResponseTracker {
  /** Marks a response as an event stream: it only ends when closed, so it is not waited for. */
  streaming(response: ServerResponse): void;
  /**
   * Resolves once every ordinary response has been sent and every event stream has written what
   * the fleet published up to now (its last `stopped` transitions), or after `timeoutMs`.
   */
  settled(timeoutMs: number): Promise<void>;
}

function trackResponses(server: Server): ResponseTracker {
  const pending = new Set<ServerResponse>();
  const streams = new Set<ServerResponse>();
  server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    pending.add(response);
    response.once('close', () => {
      pending.delete(response);
      streams.delete(response);
    });
  });
  const unflushed = (): boolean => [...streams].some((response) => (response.socket?.writableLength ?? 0) > 0);
  return {
    streaming(response) {
      pending.delete(response);
      if (!response.destroyed) streams.add(response);
    },
    async settled(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      // Events reach a stream through two event buses, each delivering on a later turn of the
      // event loop; let them run before looking at what is left to write.
      if (streams.size > 0) for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
      while ((pending.size > 0 || unflushed()) && Date.now() < deadline) await delay(10);
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
