import type { Logger } from '../observe/logger.js';
import type { TokenSpec } from '../observe/tokens.js';
import type { AuditTrail } from '../observe/audit.js';
import type { ConfigPersistence } from '../config/store.js';
import type { MetricsSource } from '../observe/metrics.js';
import type { Supervisor } from '../fleet/supervisor.js';
import type { ClusterStatus } from '../fleet/cluster.js';
import type { ActorView } from '../fleet/views.js';
import type { FleetEvent } from '../fleet/events.js';
import type { EventHistory } from '../observe/event-history.js';
import type { ServerLogFiles } from '../observe/server-logs.js';
import type { Gateway } from '../gateway/http.js';



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

/**
 * What one request may cost; every field has a default. Beyond a limit the request is refused
 * before any work is done (docs/security.md).
 */
export interface HttpLimits {
  /** Largest body of every route but tool calls (bytes), else 413; default 1 MiB. */
  maxBodyBytes?: number;
  /** Largest body of a tool call, `POST /actors/:id/tools/:name` and `POST /mcp` (bytes), else 413; default 4 MiB. */
  maxCallBodyBytes?: number;
  /** Deepest nesting of arrays and objects in a JSON body, else 400; default 64. */
  maxJsonDepth?: number;
  /** Event streams open at once (`/events` and `/actors/:id/logs?follow=1` together), else 503; default 64. */
  maxEventClients?: number;
  /** Servers in the fleet beyond which `POST /actors` answers 409 `limit_reached`; default 1000. */
  maxServers?: number;
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
  /** When set, every route but `/health` requires `Authorization: Bearer <token>`: an `admin` token named "default". */
  token?: string;
  /**
   * API tokens with roles (docs/operations.md): with any, every route but `/health` and the pages
   * requires one, and a token's role decides what it may do (403 `forbidden_role` beyond it).
   */
  tokens?: readonly TokenSpec[];
  /** The audit trail state-changing requests are recorded in (and `GET /audit` reads); default an in-memory one per app. */
  audit?: AuditTrail;
  /** Where failed requests are logged (500s as errors, other 5xx at debug); default none. */
  logger?: Logger;
  /** The version `/openapi.json` reports; default `0.0.0`. */
  version?: string;
  /**
   * The interface the server is bound to. Requests whose `Host` is not this address,
   * `localhost`, `127.0.0.1`, `[::1]` or an {@link AppDeps.allowedHosts} entry get 403
   * `forbidden_host`, and so do state-changing requests from another `Origin`.
   */
  host?: string;
  /** The port the server listens on: `Host` and `Origin` must carry it (any port while unset, as in `app.request()` tests). */
  port?: number;
  /** Further names the API answers to (e.g. behind a reverse proxy): `name` (any port) or `name:port`. */
  allowedHosts?: readonly string[];
  /** Body size, JSON depth, event-stream and fleet-size limits. */
  limits?: HttpLimits;
  /** In cluster mode, this instance (a `ClusterNode`): `/health` shows its name and registry status. */
  cluster?: ClusterInfo;
  /** Server output in files (the same one given to `createSupervisor` as `logSink`): `GET /actors/:id/logs` reads them too, not only the in-memory ring. */
  serverLogs?: ServerLogFiles;
  /** The MCP endpoint (`/mcp`, `/mcp/:id`): the fleet as one MCP server; without it those paths are 404. */
  gateway?: Gateway;
}

/** What the API needs of a cluster instance (a `ClusterNode`). */
export interface ClusterInfo {
  /** The instance's name. */
  readonly instance: string;
  /** Where it stands with the registry. */
  readonly status: ClusterStatus;
  /** Every server of the cluster, in id order (`GET /actors` lists them all). */
  fleetIds(): readonly string[];
  /** A server's state, wherever it is supervised. */
  fleetStateOf(id: string): string | undefined;
  /** Views of these ids with their `owner`, in this order. */
  fleetViewsOf(ids: readonly string[]): ActorView[];
  /** The API URL of another instance that supervises `id`: requests for it are forwarded there. */
  ownerUrlOf(id: string): string | undefined;
  /** `POST /actors` in cluster mode: writes the entry to the registry if the id is free (false if not). */
  register(id: string, entry: Record<string, unknown>): Promise<boolean>;
  /** `DELETE /actors/:id` in cluster mode: deletes it from the registry (false if it was not there). */
  deregister(id: string): Promise<boolean>;
  /** Whether the registry holds this id. */
  isRegistered(id: string): boolean;
  /** State changes of servers other instances supervise: `/events` here streams them too. */
  subscribeRemote(listener: (event: FleetEvent) => void): () => void;
}
