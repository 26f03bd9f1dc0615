import { TRACEPARENT_META_KEY, TRACESTATE_META_KEY } from '@modelcontextprotocol/client';
import { ConnectionError } from '../core/errors.js';
import type { McpSession, ProbeKind, TransportKind } from '../core/session.js';
import type { ServerTarget } from '../core/target.js';
import { SPAN_ATTRIBUTES as A } from '../core/trace-context.js';
import type { SpanAttributes, TracedSpan, Tracing } from '../core/trace-context.js';

/** The semantic conventions' `network.transport`: a child's pipes, or a TCP connection. */
export function networkTransportOf(transport: TransportKind): string | undefined {
  if (transport === 'stdio') return 'pipe';
  return transport === 'memory' ? undefined : 'tcp';
}

/** The outcome of a failed connect or probe: its `ConnectionError` kind (`timeout`, `closed`, …). */
function errorOutcome(error: unknown): string {
  return error instanceof ConnectionError ? error.kind : 'error';
}

/** Starts the span of one connection attempt (spawn or dial, then the MCP handshake); none without tracing. */
export function startConnectSpan(tracing: Tracing | undefined, id: string, target: ServerTarget, attempt: number): TracedSpan | undefined {
  if (!tracing) return undefined;
  const attributes: SpanAttributes = {
    [A.serverId]: id,
    [A.transport]: target.type,
    [A.networkTransport]: networkTransportOf(target.type),
    [A.eraPreference]: target.type === 'memory' ? 'legacy' : (target.era ?? 'auto'),
    [A.attempt]: attempt,
  };
  return tracing.startSpan('mcp.connect', attributes);
}

/** Starts the span of one health probe (`ping`, `server/discover` or `tools/list`); none without tracing. */
export function startProbeSpan(tracing: Tracing | undefined, id: string | undefined, session: McpSession, kind: ProbeKind): TracedSpan | undefined {
  if (!tracing) return undefined;
  const attributes: SpanAttributes = {
    [A.serverId]: id,
    [A.transport]: session.transport,
    [A.networkTransport]: networkTransportOf(session.transport),
    [A.era]: session.era,
    [A.method]: kind,
  };
  return tracing.startSpan('mcp.probe', attributes);
}

/** What a connect span learns from the handshake: the era the session negotiated. */
export function recordEra(session: McpSession, span: TracedSpan): void {
  span.setAttribute(A.era, session.era);
}

/**
 * Ends `span` when `work` settles: `ok` (after `onOk` has added what the result tells), or the
 * error's kind with the error recorded. Without a span, `work` itself.
 */
export async function endWith<T>(span: TracedSpan | undefined, work: Promise<T>, onOk?: (result: T, span: TracedSpan) => void): Promise<T> {
  if (!span) return work;
  try {
    const result = await work;
    onOk?.(result, span);
    span.end('ok');
    return result;
  } catch (error) {
    span.end(errorOutcome(error), error);
    throw error;
  }
}

/**
 * The `traceparent` (and `tracestate`) of a request's `params._meta` as HTTP headers, for a
 * transport that sends each request on its own (Streamable HTTP); undefined when there is none.
 */
export function traceHeadersOf(meta: Record<string, unknown> | undefined): Record<string, string> | undefined {
  const traceparent = meta?.[TRACEPARENT_META_KEY];
  if (typeof traceparent !== 'string') return undefined;
  const tracestate = meta?.[TRACESTATE_META_KEY];
  return typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent };
}
