import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ProbeKind } from '../core/session.js';
import { NO_SDK_TIMEOUT } from './sdk-timeouts.js';

/**
 * One strategy per probe kind. The deadline is not here: the machine's `pingTimeout` delay aborts
 * the signal, so probes run in virtual time under test like every other timer.
 */
export const PROBE_STRATEGIES: Record<ProbeKind, (client: Client, signal: AbortSignal) => Promise<unknown>> = {
  ping: (client, signal) => client.ping({ signal, timeout: NO_SDK_TIMEOUT }),
  'tools/list': (client, signal) => client.listTools(undefined, { signal, timeout: NO_SDK_TIMEOUT }),
};
