/**
 * How a failure should steer a connection. The machine decides on the kind alone, so every
 * transport maps its own exceptions onto these few facts once, in `src/runtime/classify.ts`.
 *
 * - `permanent`: retrying cannot help (command not found, 401/403, invalid URL) → `failed`.
 * - `closed`: hard evidence the transport is gone (child exited, connection refused/reset) →
 *   `reconnecting` at once, without waiting for a probe.
 * - `session-expired`: a Streamable HTTP server forgot our session (404 / 400 "no valid
 *   session") → re-initialize with a fresh client, skipping backoff.
 * - `timeout`: no answer in time; the server may be frozen → a probe that times out is a missed probe
 *   (a tool call that times out is only recorded: tools may legitimately run long).
 * - `method-not-found`: the server answered `-32601`; it is alive, just lacks the method.
 * - `transient`: anything else worth retrying with backoff.
 * - `resource`: the server's process group stayed over a configured resource limit (memory, CPU)
 *   for `forSeconds`; the supervisor condemned the session. Treated like `transient`: torn down
 *   and reconnected with the usual backoff.
 */
export type ErrorKind =
  | 'permanent'
  | 'closed'
  | 'session-expired'
  | 'timeout'
  | 'method-not-found'
  | 'transient'
  | 'resource';

/**
 * A failure with its {@link ErrorKind}: what every transport's exceptions are mapped onto, what
 * the connection machine decides on, and what tool calls reject with for timeouts and protocol
 * errors.
 */
export class ConnectionError extends Error {
  /** Always `'ConnectionError'`. */
  override readonly name = 'ConnectionError';
  /** How this failure steers the connection (see {@link ErrorKind}). */
  readonly kind: ErrorKind;
  /** The server's process died sooner than its `minUptimeMs`: a crash loop in the making. */
  readonly earlyExit: boolean;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown; earlyExit?: boolean }) {
    super(message, options);
    this.kind = kind;
    this.earlyExit = options?.earlyExit ?? false;
  }
}

/**
 * Rejects tool calls that were in flight when their connection left `healthy`/`degraded`,
 * so callers get a typed answer instead of waiting on a socket nobody reads any more.
 */
export class ConnectionLostError extends Error {
  /** Always `'ConnectionLostError'`. */
  override readonly name = 'ConnectionLostError';
  /** The id of the server whose connection was lost. */
  readonly serverId: string;
  /** The connection state when the call was rejected (e.g. `reconnecting`). */
  readonly state: string;

  constructor(serverId: string, state: string, cause?: unknown) {
    super(
      cause === undefined
        ? `connection "${serverId}" left service (now ${state}); the call was not completed`
        : `connection "${serverId}" was lost during the call (${errorMessageOf(cause)}); the call was not completed`,
      { cause },
    );
    this.serverId = serverId;
    this.state = state;
  }
}

/** Raised when a call is attempted while the connection is not `healthy` or `degraded`. */
export class NotConnectedError extends Error {
  /** Always `'NotConnectedError'`. */
  override readonly name = 'NotConnectedError';
  /** The id of the server that was called. */
  readonly serverId: string;
  /** The connection state it was in instead (e.g. `connecting`, `stopped`). */
  readonly state: string;

  constructor(serverId: string, state: string) {
    super(`connection "${serverId}" is not connected (state ${state})`);
    this.serverId = serverId;
    this.state = state;
  }
}

/** The kind of a `ConnectionError`; anything else is `transient` (worth retrying with backoff). */
export function errorKindOf(error: unknown): ErrorKind {
  return error instanceof ConnectionError ? error.kind : 'transient';
}

export function errorMessageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
}
