import { waitFor } from 'xstate';
import { createConnection } from '../../src/fleet/connection.js';
import type { CreateConnectionOptions, ManagedConnection, StateChanged } from '../../src/fleet/connection.js';
import type { ConnectionState } from '../../src/core/states.js';
import { connectionStateOf } from '../../src/machines/connection.machine.js';
import type { ConnectionSettings } from '../../src/core/settings.js';

/** Probe timings scaled down so faults show within a second or two on loopback. */
const FAST_SETTINGS: Partial<ConnectionSettings> = {
  connectTimeoutMs: 5_000,
  pingTimeoutMs: 400,
  healthyIntervalMs: 150,
  stableIntervalMs: 300,
  degradedIntervalMs: 100,
  degradedLatencyMs: 150,
  zombieAfter: 2,
  recoverAfter: 2,
  initialBackoffMs: 50,
  multiplier: 2,
  maxBackoffMs: 300,
  resetAfterMs: 30_000,
};

export interface Watched {
  connection: ManagedConnection;
  /** Every top-level state in order, starting with the first. */
  states: ConnectionState[];
  changes: StateChanged[];
}

const open = new Set<ManagedConnection>();

export function watchConnection(options: Omit<CreateConnectionOptions, 'onTransition'>): Watched {
  const watched: Watched = { connection: undefined as unknown as ManagedConnection, states: [], changes: [] };
  watched.connection = createConnection({
    ...options,
    settings: { ...FAST_SETTINGS, ...options.settings },
    seed: options.seed ?? 42,
    onTransition: (change) => {
      watched.states.push(change.to);
      watched.changes.push(change);
    },
  });
  open.add(watched.connection);
  return watched;
}

export async function waitForState(connection: ManagedConnection, state: ConnectionState, timeoutMs = 10_000): Promise<void> {
  try {
    await waitFor(connection.actor, (snapshot) => connectionStateOf(snapshot) === state, { timeout: timeoutMs });
  } catch (error) {
    throw new Error(`"${connection.id}" did not reach ${state} within ${timeoutMs} ms (now ${connection.state}, last error: ${connection.snapshot.context.lastError?.message ?? 'none'})`, { cause: error });
  }
}

/** Waits until `state` has been entered more than `after` times. */
export async function waitForEntry(watched: Watched, state: ConnectionState, after: number, timeoutMs = 10_000): Promise<void> {
  const entries = (): number => watched.states.filter((seen) => seen === state).length;
  try {
    await waitFor(watched.connection.actor, () => entries() > after, { timeout: timeoutMs });
  } catch (error) {
    throw new Error(`"${watched.connection.id}" did not enter ${state} again within ${timeoutMs} ms; states: ${watched.states.join(' → ')}`, { cause: error });
  }
}

export async function disposeAll(): Promise<void> {
  await Promise.all([...open].map((connection) => connection.dispose().catch(() => connection.actor.stop())));
  open.clear();
}
