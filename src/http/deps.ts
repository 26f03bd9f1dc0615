import type { Logger } from '../observe/logger.js';
import type { ConfigPersistence } from '../config/store.js';
import type { MetricsSource } from '../observe/metrics.js';
import type { Supervisor } from '../fleet/supervisor.js';
import type { EventHistory } from '../observe/event-history.js';



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
  /** The fleet the API shows and commands. */
  supervisor: Supervisor;
  /** Where `POST /actors` and `DELETE /actors/:id` write their changes; without it they change only the running fleet. */
  persistence?: ConfigPersistence;
  /** `/metrics` source; default `createMetrics(supervisor)` per app. */
  metrics?: MetricsSource;
  /** How `/events` streams (history, buffers, keep-alive). */
  eventStream?: EventStreamOptions;
  /** When set, every route but `/health` requires `Authorization: Bearer <token>`. */
  token?: string;
  /** Where failed requests are logged (500s as errors, other 5xx at debug); default none. */
  logger?: Logger;
  /** The version `/openapi.json` reports; default `0.0.0`. */
  version?: string;
}
