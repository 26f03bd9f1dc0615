import type { Logger } from '../logger.js';
import type { ConnectionSettings } from '../settings.js';
import type { Supervisor } from '../supervisor.js';

/** Where servers registered or removed through the API are written (the config file). */
export interface ConfigPersistence {
  add(id: string, entry: Record<string, unknown>): Promise<void>;
  remove(id: string): Promise<void>;
  /** The config's supervisor-wide health settings, applied to servers added at run time. */
  supervisorHealth(): Partial<ConnectionSettings> | undefined;
}

/** A Prometheus text exposition of the fleet. */
export interface MetricsSource {
  contentType: string;
  render(): Promise<string>;
}

/** Everything the HTTP app needs; tests pass their own. */
export interface AppDeps {
  supervisor: Supervisor;
  persistence?: ConfigPersistence;
  metrics?: MetricsSource;
  /** When set, every route but `/health` requires `Authorization: Bearer <token>`. */
  token?: string;
  logger?: Logger;
  version?: string;
}
