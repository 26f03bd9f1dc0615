// OpenTelemetry traces from the real CLI: with OTEL_EXPORTER_OTLP_ENDPOINT set it exports spans of
// connects, probes and tool calls over OTLP/HTTP to a receiver this test runs, continues the
// trace of a proxied call's `traceparent` and hands its own context to the server in `_meta`;
// on SIGTERM it flushes what is buffered; without the variables it never loads the SDK.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { v2ServerPath } from '../../fixtures/v2-http.js';
import { FAST_HEALTH, killAllClis, startCli, waitUntil } from '../support/cli.js';
import type { Cli } from '../support/cli.js';
import { startOtlpReceiver } from '../support/otlp.js';
import type { OtlpReceiver, ReceivedSpan } from '../support/otlp.js';
import { describePids, waitForNoDescendants } from '../support/processes.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
const TRACESTATE = 'congo=t61rcWkgMzE';
/** The SDK modules that only a CLI with tracing on may load. */
const SDK_MODULES = ['/@opentelemetry/sdk-trace-base/', '/@opentelemetry/exporter-trace-otlp-http/'];

const SERVERS = {
  modern: { command: process.execPath, args: [v2ServerPath, 'stdio', 'modern'] },
  legacy: { command: process.execPath, args: [fixtureServerPath, 'stdio'] },
};

let dir: string;
let receiver: OtlpReceiver;
/** Preloaded into each CLI (NODE_OPTIONS): writes the modules it loaded to <dir>/modules-<pid>.json at exit. */
let recorder: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-tracing-'));
  receiver = await startOtlpReceiver();
  recorder = join(dir, 'record-modules.cjs');
  await writeFile(
    recorder,
    `process.on('exit', () => require('node:fs').writeFileSync(require('node:path').join(${JSON.stringify(dir)}, 'modules-' + process.pid + '.json'), JSON.stringify(Object.keys(require.cache))));\n`,
  );
});

afterAll(async () => {
  killAllClis();
  await receiver?.close();
  const left = await waitForNoDescendants(10_000);
  await rm(dir, { recursive: true, force: true });
  expect(left, describePids(left)).toEqual([]);
});

async function startTracedCli(name: string, servers: Record<string, unknown>, env: Record<string, string>): Promise<Cli> {
  const configPath = join(dir, `${name}.json`);
  await writeFile(configPath, JSON.stringify({ supervisor: { health: FAST_HEALTH }, mcpServers: servers }));
  return startCli(['--config', configPath, '--port', '0'], { NODE_OPTIONS: `--require ${recorder}`, OTEL_SERVICE_NAME: name, ...env });
}

async function waitHealthy(cli: Cli, ids: string[]): Promise<void> {
  await waitUntil(
    async () => {
      const response = await fetch(`${cli.url}/actors`);
      const { actors } = (await response.json()) as { actors: { id: string; state: string }[] };
      return ids.every((id) => actors.some((actor) => actor.id === id && actor.state === 'healthy'));
    },
    20_000,
    () => `${ids.join(', ')} never all healthy; stderr:\n${cli.stderr()}`,
  );
}

/** Calls the fixture's `echo_meta` tool through the API; resolves with the `_meta` the server saw. */
async function callEchoMeta(cli: Cli, id: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const response = await fetch(`${cli.url}/actors/${id}/tools/echo_meta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: '{}',
  });
  const body = (await response.json()) as { content: { type: string; text: string }[] };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return (JSON.parse(body.content[0]!.text) as { meta: Record<string, unknown> | null }).meta ?? {};
}

const spansOf = (service: string, predicate: (span: ReceivedSpan) => boolean): ReceivedSpan[] =>
  receiver.spans.filter((span) => span.resource['service.name'] === service && predicate(span));

async function oneSpan(service: string, what: string, predicate: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan> {
  return waitUntil(
    () => spansOf(service, predicate)[0],
    10_000,
    () => `no ${what} span from ${service}; received: ${JSON.stringify(receiver.spans.map((span) => [span.resource['service.name'], span.name, span.attributes['mcp_supervisor.server.id']]))}; rejected: ${receiver.rejected.join('; ')}`,
  );
}

async function loadedModules(cli: Cli): Promise<string[]> {
  return JSON.parse(await readFile(join(dir, `modules-${cli.child.pid}.json`), 'utf8')) as string[];
}

async function stop(cli: Cli): Promise<void> {
  cli.child.kill('SIGTERM');
  const { code } = await cli.exited;
  expect(code, cli.stderr()).toBe(0);
}

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  const service = 'e2e-traced';
  let cli: Cli;

  beforeAll(async () => {
    cli = await startTracedCli(service, SERVERS, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' });
    await waitHealthy(cli, ['modern', 'legacy']);
  });

  afterAll(async () => {
    if (cli && cli.child.exitCode === null && cli.child.signalCode === null) await stop(cli);
  });

  it('exports a connect span and probe spans per server, with era, server id, transport and outcome', async () => {
    for (const [id, era, probe] of [
      ['modern', 'modern', 'server/discover'],
      ['legacy', 'legacy', 'ping'],
    ] as const) {
      const connect = await oneSpan(service, `connect of ${id}`, (span) => span.name === 'mcp.connect' && span.attributes['mcp_supervisor.server.id'] === id);
      expect(connect).toMatchObject({
        kind: 3, // CLIENT
        scope: 'mcp-supervisor',
        attributes: { 'mcp_supervisor.era': era, 'mcp_supervisor.transport': 'stdio', 'network.transport': 'pipe', 'mcp_supervisor.outcome': 'ok' },
      });
      expect(connect.resource).toMatchObject({ 'service.name': service, 'telemetry.sdk.language': 'nodejs' });
      const probed = await oneSpan(service, `probe of ${id}`, (span) => span.name === 'mcp.probe' && span.attributes['mcp_supervisor.server.id'] === id);
      expect(probed.attributes).toMatchObject({ 'mcp.method.name': probe, 'mcp_supervisor.era': era, 'mcp_supervisor.outcome': 'ok' });
    }
  });

  it("continues the trace of a call's traceparent, and hands the server its own span's context in _meta (both eras)", async () => {
    for (const id of ['modern', 'legacy']) {
      const meta = await callEchoMeta(cli, id, { traceparent: TRACEPARENT, tracestate: TRACESTATE });
      const call = await oneSpan(service, `tools/call of ${id}`, (span) => span.name === 'tools/call echo_meta' && span.attributes['mcp_supervisor.server.id'] === id);
      expect(call).toMatchObject({
        traceId: TRACE_ID,
        parentSpanId: CALLER_SPAN,
        attributes: { 'gen_ai.tool.name': 'echo_meta', 'mcp.method.name': 'tools/call', 'mcp_supervisor.era': id, 'mcp_supervisor.outcome': 'ok' },
      });
      expect(meta).toMatchObject({ traceparent: `00-${TRACE_ID}-${call.spanId}-01`, tracestate: TRACESTATE });
    }
  });

  it('a call without a traceparent, or with a malformed one, starts a trace of its own that the server continues', async () => {
    const plain = await callEchoMeta(cli, 'modern');
    const malformed = await callEchoMeta(cli, 'legacy', { traceparent: 'not-a-traceparent', tracestate: TRACESTATE });
    for (const [id, meta] of [
      ['modern', plain],
      ['legacy', malformed],
    ] as const) {
      const [, traceId, spanId] = String(meta.traceparent).split('-');
      expect(traceId).not.toBe(TRACE_ID);
      expect(meta).not.toHaveProperty('tracestate');
      const call = await oneSpan(service, `root call of ${id}`, (span) => span.name === 'tools/call echo_meta' && span.spanId === spanId);
      expect(call).toMatchObject({ traceId, parentSpanId: undefined, attributes: { 'mcp_supervisor.server.id': id } });
    }
  });

  it('records a failed call as an error: a timeout, with its exception', async () => {
    const response = await fetch(`${cli.url}/actors/modern/tools/hang?timeoutMs=200`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(504);
    const span = await oneSpan(service, 'failed call', (candidate) => candidate.name === 'tools/call hang');
    expect(span).toMatchObject({ status: { code: 2 }, attributes: { 'mcp_supervisor.outcome': 'timeout', 'error.type': 'timeout' } });
    expect(span.events.map((event) => event.name)).toContain('exception');
  });

  it('has loaded the SDK (the check of the untraced CLI below can fail)', async () => {
    await stop(cli);
    const modules = await loadedModules(cli);
    for (const module of SDK_MODULES) expect(modules.some((path) => path.includes(module)), module).toBe(true);
  });
});

it('on SIGTERM, spans still buffered are exported before the CLI exits', async () => {
  const service = 'e2e-flush';
  // The batch timer never fires in this test: only the shutdown's flush can deliver.
  const cli = await startTracedCli(service, { legacy: SERVERS.legacy }, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000' });
  await waitHealthy(cli, ['legacy']);
  await callEchoMeta(cli, 'legacy', { traceparent: TRACEPARENT });
  expect(spansOf(service, () => true)).toEqual([]);
  await stop(cli);
  expect(spansOf(service, (span) => span.name === 'tools/call echo_meta')).toHaveLength(1);
  expect(spansOf(service, (span) => span.name === 'mcp.connect')).toHaveLength(1);
});

it('without the OTEL variables: no SDK loaded, no spans, and a caller traceparent reaches the server unchanged', async () => {
  const service = 'e2e-untraced';
  const cli = await startTracedCli(service, { modern: SERVERS.modern }, { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' });
  await waitHealthy(cli, ['modern']);
  expect(await callEchoMeta(cli, 'modern', { traceparent: TRACEPARENT, tracestate: TRACESTATE })).toMatchObject({ traceparent: TRACEPARENT, tracestate: TRACESTATE });
  expect(await callEchoMeta(cli, 'modern')).not.toHaveProperty('traceparent');
  await stop(cli);
  const modules = await loadedModules(cli);
  expect(modules.filter((path) => SDK_MODULES.some((module) => path.includes(module)))).toEqual([]);
  expect(spansOf(service, () => true)).toEqual([]);
});
