// Tracing is off unless the standard OTEL_* variables ask for it, and then the OpenTelemetry SDK
// is not even loaded; trace contexts from callers are checked before anything is passed on.
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validTraceContext } from '../../../src/core/trace-context.js';
import { callerTraceContext } from '../../../src/http/tools.js';
import { startTracing, tracingRequested } from '../../../src/observe/tracing.js';
import { startOtlpReceiver } from '../../support/otlp.js';
import type { OtlpReceiver } from '../../support/otlp.js';

/** The SDK packages only `startTracing` may load (through ./tracing-sdk.ts). */
const SDK_PACKAGES = ['@opentelemetry/sdk-trace-base', '@opentelemetry/sdk-trace/', '@opentelemetry/exporter-trace-otlp-http', '@opentelemetry/resources'];
const loadedSdk = (): string[] => {
  const cache = createRequire(import.meta.url).cache;
  return SDK_PACKAGES.filter((name) => Object.keys(cache).some((path) => path.includes(`/node_modules/${name}`)));
};

describe('startTracing', () => {
  let receiver: OtlpReceiver | undefined;
  afterEach(async () => {
    vi.unstubAllEnvs();
    await receiver?.close();
  });

  // First in this file (each test file runs in a fresh worker process): nothing loaded the SDK yet.
  it('with no OTLP endpoint in the environment, resolves undefined and never loads the SDK', async () => {
    expect(loadedSdk()).toEqual([]);
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', undefined);
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', undefined);
    expect(await startTracing()).toBeUndefined();
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', 'http://127.0.0.1:9');
    vi.stubEnv('OTEL_SDK_DISABLED', 'true');
    expect(await startTracing()).toBeUndefined();
    vi.stubEnv('OTEL_SDK_DISABLED', undefined);
    vi.stubEnv('OTEL_TRACES_EXPORTER', 'none');
    expect(await startTracing()).toBeUndefined();
    expect(loadedSdk()).toEqual([]);
  });

  it('with an endpoint, loads the SDK, and its shutdown exports what is buffered (the check above can fail)', async () => {
    receiver = await startOtlpReceiver();
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', receiver.url);
    // Nothing goes out on the timer: only the shutdown's flush can deliver the span.
    vi.stubEnv('OTEL_BSP_SCHEDULE_DELAY', '600000');
    vi.stubEnv('OTEL_SERVICE_NAME', 'unit-test');
    const setup = await startTracing({ serviceVersion: '9.9.9' });
    if (!setup) throw new Error('tracing did not start');
    expect(loadedSdk()).toEqual(SDK_PACKAGES);
    const span = setup.tracing.startSpan('test', { key: 'value', absent: undefined }, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    const own = span.traceContext()?.traceparent;
    expect(own).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$/);
    span.end('timeout', new Error('no answer'));
    expect(receiver.spans).toEqual([]);
    await setup.shutdown();
    expect(receiver.spans).toHaveLength(1);
    const [received] = receiver.spans;
    expect(received).toMatchObject({
      name: 'test',
      kind: 3, // CLIENT
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
      spanId: own?.split('-')[2],
      attributes: { key: 'value', 'mcp_supervisor.outcome': 'timeout', 'error.type': 'timeout' },
      status: { code: 2, message: 'no answer' },
      resource: { 'service.name': 'unit-test', 'service.version': '9.9.9' },
      scope: 'mcp-supervisor',
    });
    expect(received?.attributes).not.toHaveProperty('absent');
    expect(received?.events[0]).toMatchObject({ name: 'exception', attributes: { 'exception.message': 'no answer' } });
  });
});

describe('tracingRequested', () => {
  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'TRUE' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'false' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'otlp, none' }, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, false],
  ])('%j → %s', (env, expected) => {
    expect(tracingRequested(env)).toBe(expected);
  });
});

describe('validTraceContext', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('passes a well-formed context on as given', () => {
    expect(validTraceContext(traceparent)).toEqual({ traceparent });
    expect(validTraceContext(traceparent, 'a=1,b=2')).toEqual({ traceparent, tracestate: 'a=1,b=2' });
    // A later version may add fields; the first four are what counts.
    expect(validTraceContext('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra')).toEqual({ traceparent: '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra' });
  });

  it.each([
    ['', 'empty'],
    ['garbage', 'not the format'],
    ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', 'upper-case hex'],
    ['ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'version ff'],
    ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'zero trace id'],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', 'zero parent id'],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', 'version 00 with a fifth field'],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7', 'no flags'],
  ])('drops %j (%s)', (value) => {
    expect(validTraceContext(value, 'a=1')).toBeUndefined();
  });

  it('keeps the traceparent but drops a tracestate that is too long or not printable', () => {
    expect(validTraceContext(traceparent, 'a='.padEnd(513, 'x'))).toEqual({ traceparent });
    expect(validTraceContext(traceparent, 'a=1\u0000')).toEqual({ traceparent });
    expect(validTraceContext(traceparent, '')).toEqual({ traceparent });
  });

  it('reads the headers of a proxied call', () => {
    expect(callerTraceContext(new Headers({ traceparent, tracestate: 'a=1' }))).toEqual({ traceparent, tracestate: 'a=1' });
    expect(callerTraceContext(new Headers({ tracestate: 'a=1' }))).toBeUndefined();
    expect(callerTraceContext(new Headers({ traceparent: 'nonsense' }))).toBeUndefined();
  });
});
