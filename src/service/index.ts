/**
 * The service: the HTTP API and dashboard (`createApp`), Prometheus metrics (`createMetrics`),
 * and the whole service as the CLI runs it (`startService`).
 *
 * @example
 * ```ts
 * import { startService } from 'mcp-supervisor/service';
 * const service = await startService({ configPath: 'mcp.json', port: 7411 });
 * console.log(`open ${service.url}/actors`);
 * process.once('SIGTERM', () => void service.close());
 * ```
 *
 * @packageDocumentation
 */
export { DEFAULT_HOST, DEFAULT_PORT, SHUTDOWN_TIMEOUT_MS, startService } from './service.js';
export type { RunningService, StartServiceOptions } from './service.js';
export { createApp } from '../http/app.js';
export type { App } from '../http/app.js';
export type { AppDeps, EventStreamOptions } from '../http/deps.js';
export type { ConfigPersistence } from '../config/store.js';
export { createMetrics } from '../observe/metrics.js';
export type { CreateMetricsOptions, Metrics, MetricsSource } from '../observe/metrics.js';
export type { EventHistory } from '../observe/event-history.js';
export { createLogger } from '../observe/logger.js';
export type { Logger } from '../observe/logger.js';
export { startWatchdog, Watchdog } from '../runtime/process/watchdog.js';
export type { WatchdogOptions } from '../runtime/process/watchdog.js';
