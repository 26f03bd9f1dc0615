import type { Client, RequestOptions } from '@modelcontextprotocol/client';
import { z } from 'zod';
import type { ProbeKind } from '../core/session.js';
import { NO_SDK_TIMEOUT } from './sdk-timeouts.js';

/**
 * What a ping answer must be: any result object. Given to `request()` explicitly because the SDK's
 * `ping()` finds the method's own result schema by first validating `undefined` against it and
 * turning the failure into a message, on every request: a third of the CPU of an in-process ping
 * (docs/performance.md). Any answer proves the server alive, so a looser check loses nothing, and
 * a server that puts more than `_meta` in its answer is not restarted for being alive.
 */
const PING_RESULT = z.looseObject({});

/** An MCP `ping` that takes any result object as the answer (see `PING_RESULT`). */
export async function ping(client: Client, options: RequestOptions): Promise<unknown> {
  return client.request({ method: 'ping' }, PING_RESULT, options);
}

/**
 * One strategy per probe kind. The deadline is not here: the machine's `pingTimeout` delay aborts
 * the signal, so probes run in virtual time under test like every other timer.
 */
export const PROBE_STRATEGIES: Record<ProbeKind, (client: Client, signal: AbortSignal) => Promise<unknown>> = {
  // Legacy (2025-era) servers.
  ping: (client, signal) => ping(client, { signal, timeout: NO_SDK_TIMEOUT }),
  // Modern (2026-07-28) servers have no ping. The SDK never answers discover from a cache, so the
  // answer comes from the server, whatever `ttlMs`/`cacheScope` it advertises.
  'server/discover': (client, signal) => client.discover({ signal, timeout: NO_SDK_TIMEOUT }),
  // For servers that answer ping with -32601; a cached listing would prove nothing.
  'tools/list': (client, signal) => client.listTools(undefined, { signal, timeout: NO_SDK_TIMEOUT, cacheMode: 'bypass' }),
};
