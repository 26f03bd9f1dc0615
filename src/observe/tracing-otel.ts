import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, TextMapPropagator, Tracer } from '@opentelemetry/api';
import { SPAN_ATTRIBUTES } from '../core/trace-context.js';
import type { SpanAttributes, TraceContext, TracedSpan, Tracing } from '../core/trace-context.js';

/**
 * A {@link Tracing} around any OpenTelemetry tracer, e.g. your app's own
 * (`trace.getTracer('mcp-supervisor')`), with the propagator that reads and writes trace
 * contexts (W3C Trace Context: `W3CTraceContextPropagator` of `@opentelemetry/core`, or the
 * global `propagation` API). Spans are `CLIENT` spans.
 */
export function createTracing(tracer: Tracer, propagator: TextMapPropagator): Tracing {
  return {
    startSpan(name: string, attributes: SpanAttributes, parent?: TraceContext): TracedSpan {
      const context = parent ? propagator.extract(ROOT_CONTEXT, parent, defaultTextMapGetter) : ROOT_CONTEXT;
      const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: defined(attributes) }, context);
      return new OtelSpan(span, context, propagator, parent);
    },
  };
}

class OtelSpan implements TracedSpan {
  constructor(
    private readonly span: Span,
    private readonly parentContext: Context,
    private readonly propagator: TextMapPropagator,
    private readonly parent: TraceContext | undefined,
  ) {}

  traceContext(): TraceContext | undefined {
    const carrier: Record<string, string> = {};
    this.propagator.inject(trace.setSpan(this.parentContext, this.span), carrier, defaultTextMapSetter);
    const { traceparent, tracestate } = carrier;
    if (traceparent === undefined) return this.parent;
    return tracestate ? { traceparent, tracestate } : { traceparent };
  }

  setAttribute(key: string, value: string | number | boolean): void {
    this.span.setAttribute(key, value);
  }

  end(outcome: string, error?: unknown): void {
    this.span.setAttribute(SPAN_ATTRIBUTES.outcome, outcome);
    if (outcome !== 'ok') {
      this.span.setAttribute(SPAN_ATTRIBUTES.errorType, outcome);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : outcome });
    }
    if (error !== undefined) this.span.recordException(error instanceof Error ? error : String(error));
    this.span.end();
  }
}

/** The attributes with a value: the SDK warns about undefined ones. */
function defined(attributes: SpanAttributes): Attributes {
  const result: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) result[key] = value;
  return result;
}
