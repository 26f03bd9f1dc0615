import { ConnectionError, ConnectionLostError, NotConnectedError } from '../core/errors.js';
import type { CallOutcome } from './events.js';

/** How a failed tool call ended, by its error: what metrics, events and spans call it. */
export function callOutcomeOf(error: unknown): CallOutcome {
  if (error instanceof NotConnectedError) return 'not_connected';
  if (error instanceof ConnectionLostError) return 'connection_lost';
  if (error instanceof ConnectionError) {
    if (error.kind === 'timeout') return 'timeout';
    if (error.kind === 'transient' || error.kind === 'method-not-found') return 'protocol_error';
  }
  return 'transport_error';
}
