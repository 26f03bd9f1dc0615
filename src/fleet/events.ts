import type { SupervisorEmitted } from '../machines/supervisor.machine.js';

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
  /** How long the call took (ms), whatever the outcome. */
  latencyMs: number;
  /** Epoch ms. */
  at: number;
}

/** Everything the fleet reports: the supervisor actor's events plus the calls made through it. */
export type FleetEvent = SupervisorEmitted | CallCompleted;
