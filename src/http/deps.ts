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
