/**
 * A W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and optional
 * `tracestate` of a caller, as HTTP headers carry them and as MCP carries them in a request's
 * `params._meta` (the reserved unprefixed keys `traceparent` and `tracestate`, SEP-414).
 */
export interface TraceContext {
  /** `00-<trace id, 32 hex>-<parent span id, 16 hex>-<flags, 2 hex>`. */
  traceparent: string;
  /** Vendor entries (`key=value,…`), passed on as received. */
  tracestate?: string;
}

/** Attribute values a span takes; `undefined` ones are left out. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** One span in flight, as the fleet sees it: whatever records it is the {@link Tracing}'s business. */
export interface TracedSpan {
  /**
   * This span's own trace context: what the server is handed, so its spans are this span's
   * children. A tracer that records nothing (a no-op) may have none: then the caller's, if any.
   */
  traceContext(): TraceContext | undefined;
  /** Sets one more attribute (e.g. the era, once the handshake has told it). */
  setAttribute(key: string, value: string | number | boolean): void;
  /**
   * Ends the span with an outcome (`ok`, `tool_error`, `timeout`, …; the `mcp_supervisor.outcome`
   * attribute). With an error, the span's status is ERROR and the error is recorded on it.
   */
  end(outcome: string, error?: unknown): void;
}

/**
 * Where the spans of connects, probes and tool calls go. Absent (the default), nothing is traced
 * and nothing is spent on it. `startTracing` (mcp-supervisor/service) makes one from the standard
 * `OTEL_*` environment variables; `createTracing` wraps any OpenTelemetry tracer.
 */
export interface Tracing {
  /** Starts a client span; `parent` is a caller's context the span continues (else it starts a trace). */
  startSpan(name: string, attributes: SpanAttributes, parent?: TraceContext): TracedSpan;
}

/**
 * Span attribute names. Those of the OpenTelemetry semantic conventions for MCP and GenAI are
 * used where they fit; the rest are ours, under `mcp_supervisor.`.
 */
export const SPAN_ATTRIBUTES = {
  serverId: 'mcp_supervisor.server.id',
  transport: 'mcp_supervisor.transport',
  era: 'mcp_supervisor.era',
  eraPreference: 'mcp_supervisor.era.preference',
  attempt: 'mcp_supervisor.attempt',
  outcome: 'mcp_supervisor.outcome',
  method: 'mcp.method.name',
  toolName: 'gen_ai.tool.name',
  operation: 'gen_ai.operation.name',
  networkTransport: 'network.transport',
  errorType: 'error.type',
} as const;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
/** Longest `tracestate` passed on; W3C lets a platform cut it at 512 characters. */
const MAX_TRACESTATE = 512;
/** `tracestate` is printable ASCII (keys, `=`, values, `,`, spaces). */
const TRACESTATE = /^[\x20-\x7e]*$/;

/**
 * The caller's trace context if its `traceparent` is well formed (W3C rules: version not `ff`,
 * version 00 exactly four fields, trace and parent ids not all zeros), else undefined; a
 * `tracestate` that is too long or not printable is dropped, the `traceparent` kept. Nothing
 * malformed is passed on to a server.
 */
export function validTraceContext(traceparent: string | null | undefined, tracestate?: string | null): TraceContext | undefined {
  if (!traceparent || traceparent.length > 512) return undefined;
  const match = TRACEPARENT.exec(traceparent);
  if (!match) return undefined;
  const [, version, traceId, spanId, , rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  if (!tracestate || tracestate.length > MAX_TRACESTATE || !TRACESTATE.test(tracestate)) return { traceparent };
  return { traceparent, tracestate };
}
