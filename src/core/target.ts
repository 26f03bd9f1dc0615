import type { Transport } from '@modelcontextprotocol/client';
import type { EraPreference } from './session.js';

/** An MCP server in this process, as the SDK's `McpServer` and `Server` both are. */
export interface InProcessServer {
  /** Starts serving over `transport` (one end of an `InMemoryTransport` pair). */
  connect(transport: Transport): Promise<void>;
  /** Stops serving; called when the session closes. */
  close(): Promise<void>;
}

/** A server process to start: what `child_process.spawn` needs, no shell involved. */
export interface ProcessParams {
  /** The executable, looked up on `PATH`; never run through a shell. */
  command: string;
  /** Its arguments; default none. */
  args?: string[];
  /** Set on top of a minimal inherited environment. */
  env?: Record<string, string>;
  /** Working directory; default the supervisor's. */
  cwd?: string;
}

/** `on-failure` (default) starts a new process after a crash, with the connection's backoff. */
export type RestartPolicy = 'on-failure' | 'never';

/** How a server process the supervisor starts is kept. */
export interface ProcessPolicy {
  /** `never`: a process that exits leaves the connection `failed` with its exit status. */
  restart?: RestartPolicy;
  /** A process that dies sooner than this after starting counts toward flap quarantine (PM2's min_uptime). */
  minUptimeMs?: number;
  /** Resource limits of the process group; a group over one for `forSeconds` is restarted. */
  limits?: ResourceLimits;
}

/** PM2's `max_memory_restart`, for memory and CPU: what a server's process group may use. */
export interface ResourceLimits {
  /** Resident memory of the whole process group (bytes). */
  maxMemoryBytes?: number;
  /** CPU time per wall-clock second of the whole group (1 = one core busy). */
  maxCpuRatio?: number;
  /** How long a limit must be exceeded before the restart (seconds); default 30. */
  forSeconds?: number;
}

/** PM2's default `min_uptime`. */
export const DEFAULT_MIN_UPTIME_MS = 1_000;

/** Which protocol era a connection negotiates. */
export interface EraPolicy {
  /**
   * `auto` (default): probe with `server/discover`, fall back to the 2025-era handshake;
   * `modern`: 2026-07-28 only (a legacy server fails for good); `legacy`: the 2025-era handshake
   * only, no probe.
   */
  era?: EraPreference;
}

/** Where one MCP server is and how to reach it; the transport part of a config entry. */
export type ServerTarget =
  | ({ type: 'stdio' } & ProcessParams & ProcessPolicy & EraPolicy)
  | ({ type: 'sse' | 'streamable-http'; url: string; headers?: Record<string, string>; launch?: ProcessParams } & ProcessPolicy & EraPolicy)
  /**
   * A server in this process over the SDK's `InMemoryTransport`, for embedding, tests and
   * benchmarks of large fleets. `createServer` runs once per attempt: a fresh server per session.
   */
  | { type: 'memory'; createServer: () => InProcessServer | Promise<InProcessServer> };
