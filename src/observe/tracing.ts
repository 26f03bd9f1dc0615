import type { Tracing } from '../core/trace-context.js';
import type { Logger } from './logger.js';

/** Tracing set up by {@link startTracing}: the spans' destination, and how to stop it. */
export interface TracingSetup {
  /** Hand it to `createSupervisor` (`tracing`); `startService` does. */
  readonly tracing: Tracing;
  /** Exports the spans still buffered, then stops the exporter; call once, at shutdown. */
  shutdown(): Promise<void>;
}

/** Options of {@link startTracing}. */
export interface StartTracingOptions {
  /** The `service.version` resource attribute; `OTEL_RESOURCE_ATTRIBUTES` may override it. */
  serviceVersion?: string;
  /** Where unsupported settings and failed exports are reported; default none. */
  logger?: Logger;
}

/**
 * Whether the standard OpenTelemetry variables ask for traces: an OTLP endpoint is set
 * (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`), and neither
 * `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none` turns them off.
 */
export function tracingRequested(env: Record<string, string | undefined> = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (listOf(env.OTEL_TRACES_EXPORTER).includes('none')) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/**
 * Starts exporting spans over OTLP/HTTP (JSON) when the process's environment asks for it
 * ({@link tracingRequested}), else resolves undefined without loading the OpenTelemetry SDK at
 * all. Everything else is the SDK's, from the same standard variables: endpoint,
 * headers, timeout, compression (`OTEL_EXPORTER_OTLP_*`), `OTEL_SERVICE_NAME` and
 * `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`(`_ARG`), `OTEL_BSP_*`, span limits. Never
 * rejects: if the SDK cannot start, the error is logged and tracing stays off.
 *
 * @example
 * ```ts
 * const tracing = await startTracing({ logger });
 * const supervisor = createSupervisor(config, { tracing: tracing?.tracing });
 * // … at shutdown, after supervisor.stop():
 * await tracing?.shutdown();
 * ```
 */
export async function startTracing(options: StartTracingOptions = {}): Promise<TracingSetup | undefined> {
  // The process's own: the SDK reads its settings there too, so one source decides everything.
  const env = process.env;
  if (!tracingRequested(env)) return undefined;
  warnAboutUnsupported(env, options.logger);
  try {
    // Loaded here and only here: with tracing off, no SDK module is ever read.
    const { startSdk } = await import('./tracing-sdk.js');
    return startSdk({ serviceVersion: options.serviceVersion, logger: options.logger });
  } catch (error) {
    // Traces are an aid: a service that cannot export them still supervises.
    options.logger?.error({ err: error }, 'tracing: could not start; running without traces');
    return undefined;
  }
}

function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '');
}

/** Settings this build does not follow are said once at start, not silently ignored. */
function warnAboutUnsupported(env: Record<string, string | undefined>, logger: Logger | undefined): void {
  const exporters = listOf(env.OTEL_TRACES_EXPORTER).filter((exporter) => exporter !== 'otlp');
  if (exporters.length > 0) logger?.warn({ exporters }, 'tracing: only the otlp exporter is supported; exporting over OTLP/HTTP');
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  if (protocol && protocol !== 'http/json') {
    logger?.warn({ protocol }, 'tracing: spans are sent as OTLP/HTTP JSON (http/json); the endpoint must accept it (an OpenTelemetry Collector does, on its HTTP port)');
  }
}
