// The OpenTelemetry SDK, loaded only by `startTracing` (./tracing.ts) through `import()` when the
// environment asks for traces: every static import of an SDK package belongs here, nowhere else.
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from './logger.js';
import { createTracing } from './tracing-otel.js';
import type { Tracing } from '../core/trace-context.js';

/** The instrumentation scope of every span. */
const SCOPE = 'mcp-supervisor';
/** `ExportResultCode.SUCCESS` of @opentelemetry/core. */
const SUCCESS = 0;

/**
 * A tracer provider exporting in batches over OTLP/HTTP. The SDK reads its settings from the
 * standard variables: the exporter (`OTEL_EXPORTER_OTLP_*`), the batch processor (`OTEL_BSP_*`),
 * the sampler and span limits (`OTEL_TRACES_SAMPLER`, …), the resource (`OTEL_SERVICE_NAME`,
 * `OTEL_RESOURCE_ATTRIBUTES`, over our `service.name` "mcp-supervisor").
 */
export function startSdk(options: { serviceVersion?: string; logger?: Logger }): { tracing: Tracing; shutdown(): Promise<void> } {
  const resource = defaultResource()
    .merge(detectResources({ detectors: [hostDetector, processDetector] }))
    .merge(resourceFromAttributes({ 'service.name': SCOPE, ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}) }))
    .merge(detectResources({ detectors: [envDetector] }));
  const exporter = reportingFailures(new OTLPTraceExporter(), options.logger);
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracing = createTracing(provider.getTracer(SCOPE, options.serviceVersion), new W3CTraceContextPropagator());
  options.logger?.info('tracing: exporting spans over OTLP/HTTP');
  return { tracing, shutdown: () => provider.shutdown() };
}

/**
 * The exporter, with failed exports logged: the first failure after a success (or at start) as a
 * warning, the recovery as info, nothing in between, so an unreachable collector is seen without
 * flooding the log. The SDK itself reports only through its diagnostic logger, which we leave
 * alone (it is global).
 */
function reportingFailures(exporter: SpanExporter, logger: Logger | undefined): SpanExporter {
  if (!logger) return exporter;
  let failing = false;
  return {
    export(spans: ReadableSpan[], done) {
      exporter.export(spans, (result) => {
        if (result.code !== SUCCESS && !failing) logger.warn({ err: result.error, spans: spans.length }, 'tracing: exporting spans failed; they are dropped');
        if (result.code === SUCCESS && failing) logger.info('tracing: exporting spans works again');
        failing = result.code !== SUCCESS;
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}
