import type { SupervisorEmitted } from '../machines/supervisor.machine.js';
import type { LimitedResource } from '../core/policy/resource-limits.js';
import type { MemoryTrend } from '../core/policy/memory-trend.js';

/** How a tool call through the supervisor ended; feeds metrics and the event stream. */
export type CallOutcome = 'ok' | 'tool_error' | 'protocol_error' | 'timeout' | 'not_connected' | 'connection_lost' | 'transport_error';

/** One tool call made through the supervisor finished (any outcome). */
export interface CallCompleted {
  /** Always `'call.completed'`. */
  type: 'call.completed';
  /** The server's id. */
  id: string;
  /** The tool's name. */
  tool: string;
  /** How the call ended; `tool_error` is a result with `isError`. */
  outcome: CallOutcome;
  /**
   * How long the call took (ms), whatever the outcome. For a call made through `rideCall` (the
   * REST route, `/mcp`), the whole ride: waits for the server to come back and a re-send included.
   */
  latencyMs: number;
  /** Which front the call came through (`rest`: `POST /actors/:id/tools/:name`, `mcp`: `/mcp` or `serve-stdio`); absent for calls made through the library. */
  via?: 'rest' | 'mcp';
  /** `true` when the call was lost in flight and sent a second time (read-only/idempotent tools only); the outcome is the second sending's. */
  retried?: boolean;
  /** Epoch ms. */
  at: number;
}

/**
 * A server's process group stayed over a resource limit for `forSeconds`: the supervisor restarts
 * it through the reconnect path (the `state.changed` to `reconnecting` follows, with `message` as
 * its reason).
 */
export interface ResourceExceededEvent {
  /** Always `'resource.exceeded'`. */
  type: 'resource.exceeded';
  /** The server's id. */
  id: string;
  /** The process group's leader. */
  pid: number;
  /** Which limit. */
  resource: LimitedResource;
  /** The last measured value (bytes, or CPU seconds per wall second). */
  measured: number;
  /** The configured limit, in the same unit. */
  limit: number;
  /** The configured duration (seconds). */
  forSeconds: number;
  /** `memory 612 MiB over limit 512 MiB for 30 s`: also the connection's `lastError.message`. */
  message: string;
  /** Epoch ms. */
  at: number;
}

/** A server's resident memory started growing steadily (a leak trend), before any limit is hit. */
export interface LeakSuspected extends MemoryTrend {
  /** Always `'leak.suspected'`. */
  type: 'leak.suspected';
  /** The server's id. */
  id: string;
  /** The process group's leader. */
  pid: number;
  /** Epoch ms. */
  at: number;
}

/** Everything the fleet reports: the supervisor actor's events plus the calls made through it. */
export type FleetEvent = SupervisorEmitted | CallCompleted | ResourceExceededEvent | LeakSuspected;
