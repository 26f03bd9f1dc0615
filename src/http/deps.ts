import type { Logger } from '../logger.js';
import type { ConnectionSettings } from '../settings.js';
import type { Supervisor } from '../supervisor.js';
import type { EventHistory } from './event-history.js';

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

/** How `/events` streams; every field has a default. */
export interface EventStreamOptions {
  /** The numbered, retained stream to serve; default one created per app on `supervisor`. */
  history?: EventHistory;
  /** Events retained for `Last-Event-ID` resumes when the history is created here; default 1000. */
  historyCapacity?: number;
  /** Events waiting for one slow client before it is dropped; default 1000. */
  clientBufferSize?: number;
  /** Interval of `: keep-alive` comments; 0 turns them off; default 15 000. */
  keepAliveMs?: number;
}

/** Everything the HTTP app needs; tests pass their own. */
export interface AppDeps {
  supervisor: Supervisor;
  persistence?: ConfigPersistence;
  /** `/metrics` source; default `createMetrics(supervisor)` per app. */
  metrics?: MetricsSource;
  eventStream?: EventStreamOptions;
  /** When set, every route but `/health` requires `Authorization: Bearer <token>`. */
  token?: string;
  logger?: Logger;
  version?: string;
}
