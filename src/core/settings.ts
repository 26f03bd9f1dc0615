/**
 * Every threshold and interval a connection actor uses. They live in the actor's context (one set
 * per connection) so a per-server override needs no second machine, and so timers are `delays`
 * computed from context and run in virtual time under test.
 */
export interface HealthSettings {
  /** Deadline for spawn/connect plus the MCP handshake. gRPC's minimum connect timeout. */
  connectTimeoutMs: number;
  /** How long one probe may take before it counts as missed (mcpproxy-go, k8s probe timeout). */
  pingTimeoutMs: number;
  /** Probe interval right after becoming healthy. */
  healthyIntervalMs: number;
  /** Ceiling the healthy interval stretches toward while probes keep succeeding. */
  stableIntervalMs: number;
  /** Probe interval while degraded: re-check soon after a miss (gRPC keepalive). */
  degradedIntervalMs: number;
  /**
   * How a fleet's probes are spread (a ratio in [0, 1); 0 turns spreading off). Above 0: a new
   * session's first probe comes at a point drawn over the whole interval; after a fast answer the
   * next probe is due `interval × (1 − probeJitter × u)` after this one was due (a chain, so a
   * probe run late on a busy event loop moves none after it; u uniform in [0, 1)); after a slow
   * answer, a miss or a call that stood in for the probe, that cut interval from now. No wait is ever
   * longer than its interval, so no detection bound gets longer. At 0 every interval is counted from
   * the last answer, uncut, and connections that became healthy together probe together.
   */
  probeJitter: number;
  /** A probe slower than this is "slow" and degrades the connection. */
  degradedLatencyMs: number;
  /** Missed probes in a row that make a connection a zombie (Envoy unhealthy threshold). */
  zombieAfter: number;
  /** Good probes in a row that bring a degraded connection back (Envoy healthy threshold). */
  recoverAfter: number;
}

/**
 * How reconnect attempts are spaced: exponential backoff with full jitter, capped (gRPC's
 * connection backoff).
 */
export interface BackoffSettings {
  /** Ceiling of the first retry's delay (ms); each attempt waits a random time below its ceiling. */
  initialBackoffMs: number;
  /** Growth of the ceiling per failed attempt (gRPC's 1.6 by default). */
  multiplier: number;
  /** The ceiling never grows beyond this (ms). */
  maxBackoffMs: number;
  /** Healthy time after which the attempt counter starts from zero again (PM2, Pekko). */
  resetAfterMs: number;
  /** Failed attempts before giving up; `Infinity` retries transient errors forever like gRPC. */
  maxAttempts: number;
}

/** Every setting of one connection: health checks and backoff (`DEFAULT_SETTINGS` has the defaults). */
export type ConnectionSettings = HealthSettings & BackoffSettings;

/** The defaults of docs/design.md §2; see docs/connection.md for where each number comes from. */
export const DEFAULT_SETTINGS: Readonly<ConnectionSettings> = Object.freeze({
  connectTimeoutMs: 20_000,
  pingTimeoutMs: 5_000,
  healthyIntervalMs: 15_000,
  stableIntervalMs: 60_000,
  degradedIntervalMs: 5_000,
  probeJitter: 0.1,
  degradedLatencyMs: 1_000,
  zombieAfter: 2,
  recoverAfter: 2,
  initialBackoffMs: 1_000,
  multiplier: 1.6,
  maxBackoffMs: 120_000,
  resetAfterMs: 30_000,
  maxAttempts: Number.POSITIVE_INFINITY,
});

/** Later layers win: defaults, then the supervisor-wide section, then the server's own. */
export function resolveSettings(
  ...layers: ReadonlyArray<Partial<ConnectionSettings> | undefined>
): ConnectionSettings {
  const resolved: ConnectionSettings = { ...DEFAULT_SETTINGS };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer) as Array<[keyof ConnectionSettings, number | undefined]>) {
      if (value !== undefined) resolved[key] = value;
    }
  }
  return resolved;
}
