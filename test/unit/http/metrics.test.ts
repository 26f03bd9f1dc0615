// GET /metrics on a real supervisor of in-process (memory) servers.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { PingRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ServerDefinition } from '../../../src/config/load.js';
import { createApp } from '../../../src/http/app.js';
import type { App } from '../../../src/http/app.js';
import { createMetrics } from '../../../src/observe/metrics.js';
import { CONNECTION_STATES } from '../../../src/core/states.js';
import { resolveSettings } from '../../../src/core/settings.js';
import type { ConnectionSettings } from '../../../src/core/settings.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import type { CreateSupervisorOptions } from '../../../src/fleet/supervisor.js';

// --- fleet -------------------------------------------------------------------------------------

const running = new Set<Supervisor>();

afterEach(async () => {
  await Promise.all([...running].map((supervisor) => supervisor.stop()));
  running.clear();
});

/** An MCP server in this process with `echo` and a tool that always answers `isError`. */
function echoServer(created: McpServer[] = []): () => McpServer {
  return () => {
    const server = new McpServer({ name: 'in-process', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
    server.registerTool('fail', {}, async () => ({ isError: true, content: [{ type: 'text', text: 'no' }] }));
    created.push(server);
    return server;
  };
}

function server(id: string, overrides: Partial<Omit<ServerDefinition, 'settings'>> & { settings?: Partial<ConnectionSettings> } = {}): ServerDefinition {
  const { settings, ...rest } = overrides;
  return {
    id,
    target: { type: 'memory', createServer: echoServer() },
    priority: 0,
    dependsOn: [],
    required: true,
    disabled: false,
    ...rest,
    settings: resolveSettings({ initialBackoffMs: 20, maxBackoffMs: 100 }, settings),
  };
}

function fleet(servers: ServerDefinition[], options?: CreateSupervisorOptions): { supervisor: Supervisor; app: App } {
  const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers }, options);
  running.add(supervisor);
  // Created in the same tick as the supervisor, so the metrics count its startup too.
  const app = createApp({ supervisor });
  return { supervisor, app };
}

// --- Prometheus text ---------------------------------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*"`;
// Prometheus parses values with Go's ParseFloat: NaN and Inf in any case (prom-client writes `Nan`).
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]?[iI][nN][fF]|[nN][aA][nN])';
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,(?:${LABEL}))*)?,?\\})? (${VALUE})(?: -?\\d+)?$`);
const HELP_LINE = new RegExp(`^# HELP (${NAME}) .*$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

/**
 * A line-based check of the text exposition format 0.0.4: every line is a HELP, a TYPE or a
 * sample `name{label="value",...} value`, and every sample belongs to a family declared by TYPE.
 */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const type = TYPE_LINE.exec(line);
      if (type) types.set(type[1]!, type[2]!);
      else if (!HELP_LINE.test(line)) throw new Error(`bad comment line: ${line}`);
      continue;
    }
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`bad sample line: ${line}`);
    const [, name, labelText, value] = match;
    const labels: Record<string, string> = {};
    for (const pair of (labelText ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    const family = name!.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(name!) && !types.has(family)) throw new Error(`sample without TYPE: ${line}`);
    const special = value!.toLowerCase();
    samples.push({ name: name!, labels, value: special === '+inf' || special === 'inf' ? Infinity : special === '-inf' ? -Infinity : Number(value) });
  }
  return { samples, types };
}

function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = find(samples, name, labels);
  if (found.length > 1) throw new Error(`${found.length} series match ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

async function scrape(app: App): Promise<Sample[]> {
  const response = await app.request('/metrics');
  expect(response.status).toBe(200);
  return parsePrometheus(await response.text()).samples;
}

/**
 * Counters follow the event stream, which is delivered asynchronously (setImmediate); scrapes
 * again, yielding to the event loop in between, until `predicate` holds or the deadline passes.
 */
async function scrapeUntil(app: App, predicate: (samples: Sample[]) => boolean, what: string, timeoutMs = 5_000): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const samples = await scrape(app);
    if (predicate(samples)) return samples;
    if (Date.now() > deadline) throw new Error(`metrics never showed ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A server's `mcp_connection_state` series as `state=value`: one, for the state it is in. */
function stateOf(samples: Sample[], server: string): string[] {
  return find(samples, 'mcp_connection_state', { server }).map((sample) => `${sample.labels.state}=${sample.value}`);
}

/** `mcp_connections` by state. */
function countsOf(samples: Sample[]): Record<string, number | undefined> {
  return Object.fromEntries(CONNECTION_STATES.map((state) => [state, valueOf(samples, 'mcp_connections', { state })]));
}

const only = (state: string): string[] => [`${state}=1`];
const counts = (present: Record<string, number>): Record<string, number> => Object.fromEntries(CONNECTION_STATES.map((state) => [state, present[state] ?? 0]));

// --- tests -------------------------------------------------------------------------------------

describe('GET /metrics', () => {
  it('is Prometheus text with every mcp family and the Node process metrics', async () => {
    const { supervisor, app } = fleet([server('files')]);
    await supervisor.ready('files');
    const response = await app.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const { samples, types } = parsePrometheus(text);

    expect(types.get('mcp_connection_state')).toBe('gauge');
    expect(types.get('mcp_connections')).toBe('gauge');
    expect(types.get('mcp_transitions_total')).toBe('counter');
    expect(types.get('mcp_probe_duration_seconds')).toBe('histogram');
    expect(types.get('mcp_reconnect_attempts_total')).toBe('counter');
    expect(types.get('mcp_reconnect_slots_in_use')).toBe('gauge');
    expect(types.get('mcp_tool_calls_total')).toBe('counter');
    expect(types.get('mcp_panic_active')).toBe('gauge');
    expect(types.get('mcp_quarantined')).toBe('gauge');
    expect(types.get('mcp_zombies_total')).toBe('counter');
    expect(text).toMatch(/^# HELP mcp_reconnect_attempts_total .*except a server's very first one/m);

    expect(find(samples, 'process_cpu_user_seconds_total')).toHaveLength(1);
    expect(stateOf(samples, 'files')).toEqual(only('healthy'));
    expect(valueOf(samples, 'mcp_reconnect_slots_in_use')).toBe(0);
    expect(valueOf(samples, 'mcp_panic_active')).toBe(0);
    // Present only while quarantined.
    expect(find(samples, 'mcp_quarantined')).toEqual([]);
    expect(countsOf(samples)).toEqual(counts({ healthy: 1 }));
  });

  it('says in mcp_connection_info whether each server is required', async () => {
    const { supervisor, app } = fleet([server('files'), server('optional', { required: false })]);
    await Promise.all([supervisor.ready('files'), supervisor.ready('optional')]);
    const samples = await scrape(app);
    expect(find(samples, 'mcp_connection_info', { server: 'files' }).map((sample) => sample.labels)).toEqual([
      { server: 'files', transport: 'memory', era: 'legacy', required: 'true' },
    ]);
    expect(find(samples, 'mcp_connection_info', { server: 'optional' }).map((sample) => [sample.labels.required, sample.value])).toEqual([['false', 1]]);
  });

  it('counts each server\'s zombies, from its first one, and drops the count with the server', async () => {
    // Its first process stops answering pings (transport open, no answer): a zombie; later ones answer.
    let instances = 0;
    const hangsFirst = (): McpServer => {
      const mcp = echoServer()();
      instances += 1;
      if (instances === 1) mcp.server.setRequestHandler(PingRequestSchema, () => new Promise<never>(() => {}));
      return mcp;
    };
    const fast = { pingTimeoutMs: 100, healthyIntervalMs: 50, stableIntervalMs: 50, degradedIntervalMs: 50, zombieAfter: 2 };
    const { supervisor, app } = fleet([server('hangs', { target: { type: 'memory', createServer: hangsFirst }, settings: fast }), server('files')]);
    await supervisor.ready('files');
    // Before any zombie there is no series (the family is declared).
    expect(find(await scrape(app), 'mcp_zombies_total')).toEqual([]);
    let samples = await scrapeUntil(app, (s) => valueOf(s, 'mcp_zombies_total', { server: 'hangs' }) === 1, 'the zombie', 10_000);
    expect(find(samples, 'mcp_zombies_total').map((sample) => sample.labels.server)).toEqual(['hangs']);
    await supervisor.ready('hangs');
    samples = await scrape(app);
    expect(stateOf(samples, 'hangs')).toEqual(only('healthy'));
    expect(valueOf(samples, 'mcp_zombies_total', { server: 'hangs' })).toBe(1);
    expect(valueOf(samples, 'mcp_transitions_total', { from: 'degraded', to: 'zombie' })).toBe(1);

    await supervisor.remove('hangs');
    await scrapeUntil(app, (s) => find(s, 'mcp_zombies_total').length === 0, 'no zombie count of the removed server');
  });

  it('counts transitions and reconnect attempts (not the first connect) across stop and start', async () => {
    const { supervisor, app } = fleet([server('files')]);
    await supervisor.ready('files');
    let samples = await scrapeUntil(app, (s) => valueOf(s, 'mcp_transitions_total', { from: 'connecting', to: 'healthy' }) === 1, 'the first connect');
    // The first start's wait for a slot is not a transition: the first one is none → connecting.
    expect(valueOf(samples, 'mcp_transitions_total', { from: 'none', to: 'connecting' })).toBe(1);
    expect(valueOf(samples, 'mcp_transitions_total', { from: 'none', to: 'reconnecting' }) ?? 0).toBe(0);
    expect(valueOf(samples, 'mcp_reconnect_attempts_total', { server: 'files' }) ?? 0).toBe(0);

    supervisor.command('files', 'stop');
    samples = await scrapeUntil(app, (s) => valueOf(s, 'mcp_transitions_total', { from: 'healthy', to: 'stopped' }) === 1, 'healthy → stopped');
    expect(stateOf(samples, 'files')).toEqual(only('stopped'));

    supervisor.command('files', 'start');
    await supervisor.ready('files');
    samples = await scrapeUntil(app, (s) => valueOf(s, 'mcp_transitions_total', { from: 'connecting', to: 'healthy' }) === 2, 'the second connect');
    expect(valueOf(samples, 'mcp_reconnect_attempts_total', { server: 'files' })).toBe(1);
    expect(stateOf(samples, 'files')).toEqual(only('healthy'));
  });

  it('counts tool calls by outcome and times probes', async () => {
    const { supervisor, app } = fleet([server('files')]);
    await supervisor.ready('files');
    await supervisor.callTool('files', 'echo', { message: 'hi' });
    await supervisor.callTool('files', 'echo', { message: 'again' });
    await supervisor.callTool('files', 'fail');
    const probe = await supervisor.probe('files');
    expect(probe.latencyMs).toBeTypeOf('number');

    const samples = await scrapeUntil(
      app,
      (s) => valueOf(s, 'mcp_tool_calls_total', { server: 'files', outcome: 'tool_error' }) === 1 && (valueOf(s, 'mcp_probe_duration_seconds_count') ?? 0) >= 1,
      'the calls and the probe',
    );
    expect(valueOf(samples, 'mcp_tool_calls_total', { server: 'files', outcome: 'ok' })).toBe(2);
    expect(valueOf(samples, 'mcp_tool_call_duration_seconds_count', { server: 'files' })).toBe(3);
    const probes = valueOf(samples, 'mcp_probe_duration_seconds_count')!;
    expect(valueOf(samples, 'mcp_probe_duration_seconds_bucket', { le: '+Inf' })).toBe(probes);
    expect(valueOf(samples, 'mcp_probe_duration_seconds_sum')).toBeGreaterThanOrEqual(0);
    const answered = find(samples, 'mcp_probes_total').filter((s) => s.labels.outcome === 'fast' || s.labels.outcome === 'slow');
    expect(answered.reduce((sum, s) => sum + s.value, 0)).toBe(probes);
  });

  it('shows a held reconnect slot while a server is stuck connecting', async () => {
    const { supervisor, app } = fleet([
      server('files'),
      // Its handshake never completes: the connection holds its slot until the connect timeout.
      server('stuck', { target: { type: 'memory', createServer: () => new Promise<never>(() => {}) }, settings: { connectTimeoutMs: 60_000 } }),
    ]);
    await supervisor.ready('files');
    const samples = await scrapeUntil(app, (s) => valueOf(s, 'mcp_connection_state', { server: 'stuck', state: 'connecting' }) === 1, 'stuck connecting');
    expect(valueOf(samples, 'mcp_reconnect_slots_in_use')).toBe(1);
    expect(stateOf(samples, 'files')).toEqual(only('healthy'));
  });

  it('reports panic while most of the fleet is lost', async () => {
    const created: McpServer[] = [];
    const lostFor = { initialBackoffMs: 60_000, maxBackoffMs: 60_000 };
    const { supervisor, app } = fleet([
      server('a', { target: { type: 'memory', createServer: echoServer(created) }, settings: lostFor }),
      server('b', { target: { type: 'memory', createServer: echoServer(created) }, settings: lostFor }),
    ]);
    await Promise.all([supervisor.ready('a'), supervisor.ready('b')]);
    expect(valueOf(await scrape(app), 'mcp_panic_active')).toBe(0);
    await Promise.all(created.map((mcp) => mcp.close()));
    const samples = await scrapeUntil(app, (s) => valueOf(s, 'mcp_panic_active') === 1, 'panic');
    expect(stateOf(samples, 'a')).not.toEqual(only('healthy'));
    expect(countsOf(samples).healthy).toBe(0);
  });

  it('shows a quarantined server while its quarantine lasts, and only then', async () => {
    const created: McpServer[] = [];
    const { supervisor, app } = fleet([server('crashy', { target: { type: 'memory', createServer: echoServer(created) } }), server('files')], {
      // The first death quarantines.
      flap: { flapLimit: 0, quarantineBaseMs: 60_000 },
    });
    await Promise.all([supervisor.ready('crashy'), supervisor.ready('files')]);
    expect(find(await scrape(app), 'mcp_quarantined')).toEqual([]);
    await created[0]!.close();
    const samples = await scrapeUntil(app, (s) => find(s, 'mcp_quarantined').length > 0, 'the quarantine');
    expect(find(samples, 'mcp_quarantined').map((sample) => [sample.labels.server, sample.value])).toEqual([['crashy', 1]]);
    expect(stateOf(samples, 'crashy')).toEqual(only('reconnecting'));
    expect(countsOf(samples)).toEqual(counts({ healthy: 1, reconnecting: 1 }));
  });

  it("drops a removed server's series", async () => {
    const { supervisor, app } = fleet([server('files'), server('extra')]);
    await Promise.all([supervisor.ready('files'), supervisor.ready('extra')]);
    await supervisor.callTool('extra', 'echo', { message: 'hi' });
    let samples = await scrapeUntil(app, (s) => valueOf(s, 'mcp_tool_calls_total', { server: 'extra', outcome: 'ok' }) === 1, 'the call to extra');
    expect(stateOf(samples, 'extra')).toEqual(only('healthy'));

    await supervisor.remove('extra');
    // Gauges are read at scrape time: gone at once.
    samples = await scrape(app);
    expect(find(samples, 'mcp_connection_state', { server: 'extra' })).toEqual([]);
    expect(find(samples, 'mcp_quarantined', { server: 'extra' })).toEqual([]);
    expect(stateOf(samples, 'files')).toEqual(only('healthy'));
    // Counters once the removal event has been delivered.
    samples = await scrapeUntil(app, (s) => s.every((sample) => sample.labels.server !== 'extra'), 'no series of extra');
    expect(find(samples, 'mcp_reconnect_attempts_total', { server: 'extra' })).toEqual([]);
    expect(find(samples, 'mcp_transitions_total').length).toBeGreaterThan(0);
  });

  it('keeps each registry separate: two sources on one supervisor do not collide', async () => {
    const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [server('files')] });
    running.add(supervisor);
    const first = createMetrics(supervisor);
    const second = createMetrics(supervisor, { defaultMetrics: false });
    expect(first.registry).not.toBe(second.registry);
    await supervisor.ready('files');
    const [a, b] = await Promise.all([first.render(), second.render()]);
    expect(parsePrometheus(a).types.has('process_cpu_user_seconds_total')).toBe(true);
    expect(parsePrometheus(b).types.has('process_cpu_user_seconds_total')).toBe(false);
    expect(a).toMatch(/mcp_connection_state\{server="files",state="healthy"\} 1/);
    expect(b).toMatch(/mcp_connection_state\{server="files",state="healthy"\} 1/);
    first.close();
    second.close();
  });
});
