// Spans of connects, probes and tool calls, recorded by the real OpenTelemetry SDK (in memory)
// around real servers of both eras over stdio and Streamable HTTP; and the caller's trace
// context reaching the server in `params._meta` (and as headers over HTTP), traced or not.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { RawConfig } from '../../src/config/schema.js';
import { createSupervisor } from '../../src/fleet/supervisor.js';
import type { Supervisor } from '../../src/fleet/supervisor.js';
import { createTracing } from '../../src/observe/tracing-otel.js';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { startV2HttpFixture, v2ServerPath } from '../../fixtures/v2-http.js';
import type { V2HttpFixture } from '../../fixtures/v2-http.js';
import { until } from '../support/wait.js';

const HEALTH = { healthyIntervalMs: 60_000, stableIntervalMs: 60_000, pingTimeoutMs: 2_000, connectTimeoutMs: 10_000, initialBackoffMs: 50, maxBackoffMs: 200 };
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
const TRACESTATE = 'vendor=opaque';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracing = createTracing(provider.getTracer('test'), new W3CTraceContextPropagator());

let http: V2HttpFixture;
const supervisors = new Set<Supervisor>();

beforeAll(async () => {
  http = await startV2HttpFixture({ era: 'modern' });
});

afterEach(async () => {
  await Promise.all([...supervisors].map((supervisor) => supervisor.stop()));
  supervisors.clear();
  exporter.reset();
});

afterAll(async () => {
  await http?.stop();
  await provider.shutdown();
});

function start(servers: RawConfig['mcpServers'], traced = true): Supervisor {
  const supervisor = createSupervisor({ supervisor: { health: HEALTH }, mcpServers: servers }, traced ? { tracing } : {});
  supervisors.add(supervisor);
  return supervisor;
}

const spans = (name: string, id: string): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((span) => span.name === name && span.attributes['mcp_supervisor.server.id'] === id);

/** The `_meta` (and HTTP trace headers) the echo_meta tool saw. */
function seen(result: CallToolResult): { meta: Record<string, unknown> | null; headers: Record<string, string | null> | null } {
  const [content] = result.content;
  if (content?.type !== 'text') throw new Error('echo_meta answered no text');
  return JSON.parse(content.text) as never;
}

const SERVERS = {
  modern: { command: process.execPath, args: [v2ServerPath, 'stdio', 'modern'] },
  legacy: { command: process.execPath, args: [fixtureServerPath, 'stdio'] },
} as const;

describe('spans', () => {
  it('a connect, a probe and a tool call per server, with era, server, transport and outcome', async () => {
    const supervisor = start({ ...SERVERS, remote: { type: 'streamable-http', url: http.mcpUrl } });
    await Promise.all(['modern', 'legacy', 'remote'].map((id) => supervisor.ready(id)));

    for (const [id, era, transport, probe] of [
      ['modern', 'modern', 'stdio', 'server/discover'],
      ['legacy', 'legacy', 'stdio', 'ping'],
      ['remote', 'modern', 'streamable-http', 'server/discover'],
    ] as const) {
      const [connect] = spans('mcp.connect', id);
      expect(connect?.attributes).toMatchObject({
        'mcp_supervisor.era': era,
        'mcp_supervisor.era.preference': 'auto',
        'mcp_supervisor.transport': transport,
        'network.transport': transport === 'stdio' ? 'pipe' : 'tcp',
        'mcp_supervisor.outcome': 'ok',
        'mcp_supervisor.attempt': 0,
      });
      expect(connect?.kind).toBe(2); // CLIENT

      await supervisor.probe(id);
      await until(() => spans('mcp.probe', id).length > 0, `a probe span of ${id}`);
      expect(spans('mcp.probe', id)[0]?.attributes).toMatchObject({ 'mcp.method.name': probe, 'mcp_supervisor.era': era, 'mcp_supervisor.outcome': 'ok' });

      await supervisor.callTool(id, 'echo', { message: 'hi' });
      const [call] = spans('tools/call echo', id);
      expect(call?.attributes).toMatchObject({
        'mcp_supervisor.era': era,
        'mcp_supervisor.transport': transport,
        'mcp.method.name': 'tools/call',
        'gen_ai.tool.name': 'echo',
        'gen_ai.operation.name': 'execute_tool',
        'mcp_supervisor.outcome': 'ok',
      });
      expect(call?.parentSpanContext).toBeUndefined();
    }
  });

  it("a call's span continues the caller's trace, and the server gets the span's context in _meta (both eras)", async () => {
    const supervisor = start({ ...SERVERS, remote: { type: 'streamable-http', url: http.mcpUrl } });
    for (const id of ['modern', 'legacy', 'remote']) {
      await supervisor.ready(id);
      const result = await supervisor.callTool(id, 'echo_meta', {}, { traceContext: { traceparent: TRACEPARENT, tracestate: TRACESTATE } });
      const [span] = spans('tools/call echo_meta', id);
      if (!span) throw new Error(`no call span for ${id}`);
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.parentSpanContext?.spanId).toBe(CALLER_SPAN);
      const ours = `00-${TRACE_ID}-${span.spanContext().spanId}-01`;
      const { meta, headers } = seen(result);
      expect(meta).toMatchObject({ traceparent: ours, tracestate: TRACESTATE });
      // Over Streamable HTTP the same context travels as headers too.
      if (id === 'remote') expect(headers).toEqual({ traceparent: ours, tracestate: TRACESTATE });
    }
  });

  it('without tracing, the caller context is passed to the server as given; without one, no _meta trace keys', async () => {
    const supervisor = start({ modern: SERVERS.modern, remote: { type: 'streamable-http', url: http.mcpUrl } }, false);
    for (const id of ['modern', 'remote']) {
      await supervisor.ready(id);
      const passed = seen(await supervisor.callTool(id, 'echo_meta', {}, { traceContext: { traceparent: TRACEPARENT } }));
      expect(passed.meta).toMatchObject({ traceparent: TRACEPARENT });
      expect(passed.meta).not.toHaveProperty('tracestate');
      if (id === 'remote') expect(passed.headers).toEqual({ traceparent: TRACEPARENT, tracestate: null });
      const none = seen(await supervisor.callTool(id, 'echo_meta', {}));
      expect(none.meta ?? {}).not.toHaveProperty('traceparent');
      if (id === 'remote') expect(none.headers).toEqual({ traceparent: null, tracestate: null });
    }
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('errors are recorded: a failed connect, a timed-out call, a tool error, a call to a server that is not connected', async () => {
    const supervisor = start({
      ...SERVERS,
      missing: { command: '/nonexistent/mcp-server-for-tracing-test', args: [] },
    });
    await supervisor.ready('modern');
    await until(() => supervisor.state('missing') === 'failed', 'the missing server to fail');
    const [connect] = spans('mcp.connect', 'missing');
    expect(connect?.attributes).toMatchObject({ 'mcp_supervisor.outcome': 'permanent', 'error.type': 'permanent' });
    expect(connect?.status.code).toBe(2); // ERROR
    expect(connect?.events.map((event) => event.name)).toContain('exception');

    await expect(supervisor.callTool('modern', 'hang', {}, { timeoutMs: 200 })).rejects.toThrow();
    const [hang] = spans('tools/call hang', 'modern');
    expect(hang?.attributes).toMatchObject({ 'mcp_supervisor.outcome': 'timeout', 'error.type': 'timeout' });
    expect(hang?.status.code).toBe(2);
    expect(hang?.events.find((event) => event.name === 'exception')?.attributes?.['exception.type']).toBe('ConnectionError');

    // The v2 SDK answers an unknown tool with a JSON-RPC error, the v1 SDK with an `isError` result.
    await expect(supervisor.callTool('modern', 'no_such_tool', {})).rejects.toThrow(/not found/);
    expect(spans('tools/call no_such_tool', 'modern')[0]?.attributes).toMatchObject({ 'mcp_supervisor.outcome': 'protocol_error' });
    await supervisor.ready('legacy');
    const result = await supervisor.callTool('legacy', 'no_such_tool', {});
    expect(result.isError).toBe(true);
    const [toolError] = spans('tools/call no_such_tool', 'legacy');
    expect(toolError?.attributes).toMatchObject({ 'mcp_supervisor.outcome': 'tool_error', 'error.type': 'tool_error' });
    expect(toolError?.status.code).toBe(2);

    await expect(supervisor.callTool('missing', 'echo', {})).rejects.toThrow(/not connected|failed/);
    expect(spans('tools/call echo', 'missing')[0]?.attributes).toMatchObject({ 'mcp_supervisor.outcome': 'not_connected' });

    // A frozen server: the probe's deadline aborts it.
    const pid = supervisor.connection('modern').getSnapshot().context.session?.pid;
    if (pid === undefined) throw new Error('no pid');
    process.kill(pid, 'SIGSTOP');
    try {
      await supervisor.probe('modern');
      await until(() => spans('mcp.probe', 'modern').some((span) => span.status.code === 2), 'a failed probe span');
      const failed = spans('mcp.probe', 'modern').find((span) => span.status.code === 2);
      expect(failed?.attributes).toMatchObject({ 'mcp_supervisor.outcome': 'timeout', 'error.type': 'timeout' });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });
});
