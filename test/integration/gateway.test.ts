// The fleet as one MCP endpoint (`/mcp`, `/mcp/<id>`), with real clients and real servers: the
// service runs in-process (startService over src), the servers are child processes and one HTTP
// server; the clients are the SDK v2 client (default: 2025 era; `auto`: 2026-07-28) and the v1 SDK
// client. Faults are real signals.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startV2HttpFixture, v2ServerPath } from '../../fixtures/v2-http.js';
import type { V2HttpFixture } from '../../fixtures/v2-http.js';
import { startService } from '../../src/service/service.js';
import type { RunningService } from '../../src/service/service.js';
import type { FleetEvent } from '../../src/fleet/events.js';
import { FAST_HEALTH } from '../support/cli.js';
import { describePids, isAlive, processState, waitForNoDescendants } from '../support/processes.js';
import { waitUntil } from '../support/wait.js';

const everythingEntry = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const annotatedServer = new URL('../fixtures/annotated-server.mjs', import.meta.url).pathname;

const OPERATOR = 'operator-token-0123456789abcdef';
const IDS = ['v2', 'web', 'everything', 'notes', 'frozen'] as const;

/** What every client is asked to do, whatever its SDK. */
interface TestClient {
  readonly label: string;
  names(): Promise<string[]>;
  call(name: string, args?: Record<string, unknown>, meta?: Record<string, unknown>): Promise<{ isError?: boolean; content: Array<{ type: string; text?: string }> }>;
  /** Every tools list the client was handed after a list_changed notice, in order. */
  readonly changes: string[][];
  close(): Promise<void>;
}

type AnyResult = { isError?: boolean; content: Array<{ type: string; text?: string }> };

async function v2Client(url: string, label: string, modern: boolean, headers: Record<string, string> = {}): Promise<TestClient> {
  const changes: string[][] = [];
  const client = new V2Client(
    { name: `gateway-test-${label}`, version: '1.0.0' },
    {
      ...(modern ? { versionNegotiation: { mode: 'auto' as const } } : {}),
      listChanged: { tools: { debounceMs: 0, onChanged: (_error, tools) => void (tools && changes.push(tools.map((tool) => tool.name))) } },
    },
  );
  await client.connect(new V2HttpTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${OPERATOR}`, ...headers } } }));
  // Served by the modern handler (2026-07-28), or by a 2025-era session.
  expect(client.getNegotiatedProtocolVersion(), label).toBe(modern ? '2026-07-28' : '2025-11-25');
  return {
    label,
    changes,
    names: async () => (await client.listTools()).tools.map((tool) => tool.name),
    call: async (name, args = {}, meta) => (await client.callTool({ name, arguments: args, ...(meta ? { _meta: meta } : {}) })) as AnyResult,
    close: () => client.close(),
  };
}

async function v1Client(url: string, label: string): Promise<TestClient> {
  const changes: string[][] = [];
  const client = new V1Client(
    { name: `gateway-test-${label}`, version: '1.0.0' },
    { listChanged: { tools: { debounceMs: 0, onChanged: (_error, tools) => void (tools && changes.push(tools.map((tool) => tool.name))) } } },
  );
  await client.connect(new V1HttpTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${OPERATOR}` } } }));
  return {
    label,
    changes,
    names: async () => (await client.listTools()).tools.map((tool) => tool.name),
    call: async (name, args = {}, meta) => (await client.callTool({ name, arguments: args, ...(meta ? { _meta: meta } : {}) })) as AnyResult,
    close: () => client.close(),
  };
}

/** `/metrics`, as the service serves it. */
async function metricsText(): Promise<string> {
  return (await fetch(`${service.url}/metrics`, { headers: { Authorization: `Bearer ${OPERATOR}` } })).text();
}

const textOf = (result: AnyResult): string => result.content.map((block) => block.text ?? '').join('');

let dir: string;
let web: V2HttpFixture;
let service: RunningService;
let clients: TestClient[] = [];
const events: FleetEvent[] = [];

function pidOf(id: string): number {
  const pid = service.supervisor.view(id).process?.pid;
  if (typeof pid !== 'number') throw new Error(`${id} has no process`);
  return pid;
}

async function waitForState(id: string, states: readonly string[], timeoutMs: number): Promise<void> {
  await waitUntil(() => states.includes(service.supervisor.state(id)), timeoutMs, () => `${id} stayed ${service.supervisor.state(id)}, not ${states.join('|')}`);
}

/** How many stderr lines of a server so far say this. */
function logCount(id: string, text: string): number {
  return service.supervisor.logs(id, 1_000).filter((line) => line.text.includes(text)).length;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-gateway-'));
  web = await startV2HttpFixture({ era: 'modern' });
  const stdio = (args: string[], env: Record<string, string> = {}) => ({ command: process.execPath, args, env });
  const configPath = join(dir, 'mcp.json');
  await writeFile(
    configPath,
    JSON.stringify({
      supervisor: { health: FAST_HEALTH, tokens: [{ name: 'op', role: 'operator', token: OPERATOR }] },
      mcpServers: {
        v2: stdio([v2ServerPath, 'stdio', 'dual'], { FIXTURE_LOG_CALLS: '1' }),
        web: { type: 'streamable-http', url: web.mcpUrl },
        everything: { ...stdio([everythingEntry, 'stdio']), timeout: 30_000 },
        notes: stdio([annotatedServer]),
        frozen: stdio([v2ServerPath, 'stdio', 'dual']),
      },
    }),
  );
  service = await startService({ configPath, port: 0, watchdog: false });
  service.supervisor.subscribe((event) => void events.push(event));
  for (const id of IDS) await waitForState(id, ['healthy'], 20_000);
  const url = `${service.url}/mcp`;
  clients = [await v2Client(url, 'v2 (2025 era)', false), await v2Client(url, 'v2 auto (2026-07-28)', true), await v1Client(url, 'v1')];
}, 60_000);

afterAll(async () => {
  for (const id of IDS) {
    const pid = service?.supervisor.has(id) ? service.supervisor.view(id).process?.pid : undefined;
    if (typeof pid === 'number' && processState(pid) === 'T') process.kill(pid, 'SIGCONT');
  }
  // Shut down with every client still connected (legacy GET streams, a modern listen stream): the
  // gateway closes them, nothing holds the shutdown.
  const closing = Date.now();
  await service?.close();
  expect(Date.now() - closing).toBeLessThan(8_000);
  await Promise.allSettled(clients.map((client) => client.close()));
  await web?.stop();
  await rm(dir, { recursive: true, force: true });
  const leftovers = await waitForNoDescendants(10_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
}, 30_000);

const EXPECTED = ['v2__echo', 'web__echo', 'everything__echo', 'notes__slow_read', 'frozen__echo'];

describe('/mcp with real clients', () => {
  it('every client lists the namespaced tools of every server', async () => {
    for (const client of clients) {
      const names = await waitUntil(
        async () => {
          const listed = await client.names();
          return EXPECTED.every((name) => listed.includes(name)) ? listed : undefined;
        },
        15_000,
        () => `${client.label} never listed ${EXPECTED.join(', ')}`,
      );
      expect(names, client.label).toEqual([...names].sort());
      expect(names.every((name) => /^[A-Za-z0-9_-]{1,64}$/.test(name)), client.label).toBe(true);
    }
  });

  it('every client calls through to every server', async () => {
    for (const client of clients) {
      expect(textOf(await client.call('v2__echo', { message: `hi ${client.label}` }))).toBe(`hi ${client.label}`);
      expect(textOf(await client.call('web__add', { a: 2, b: 3 }))).toBe('5');
      expect(textOf(await client.call('everything__echo', { message: 'x' }))).toBe('Echo: x');
      expect(textOf(await client.call('notes__echo', { message: 'y' }))).toBe('y');
    }
  });

  it("serves the servers' prompts and resources, and reads them through", async () => {
    for (const modern of [false, true]) {
      const client = new V2Client({ name: 'gateway-test-prompts', version: '1.0.0' }, modern ? { versionNegotiation: { mode: 'auto' } } : {});
      await client.connect(new V2HttpTransport(new URL(`${service.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${OPERATOR}` } } }));
      try {
        const { prompts } = await client.listPrompts();
        const simple = prompts.find((prompt) => prompt.name.startsWith('everything__') && !(prompt.arguments ?? []).some((argument) => argument.required));
        expect(simple, JSON.stringify(prompts.map((prompt) => prompt.name))).toBeDefined();
        expect(simple?._meta?.['io.github.mcp-supervisor/server']).toBe('everything');
        expect((await client.getPrompt({ name: simple!.name })).messages.length).toBeGreaterThan(0);
        const { resources } = await client.listResources();
        const resource = resources.find((item) => item._meta?.['io.github.mcp-supervisor/server'] === 'everything');
        expect(resource, JSON.stringify(resources.slice(0, 5))).toBeDefined();
        const read = await client.readResource({ uri: resource!.uri });
        expect(read.contents[0]?.uri).toBe(resource!.uri);
        await expect(client.readResource({ uri: 'nowhere://nothing' })).rejects.toThrow();
      } finally {
        await client.close();
      }
    }
  });

  it('carries the caller trace context from _meta to the server', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const result = await clients[0]!.call('v2__echo_meta', {}, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    const { meta } = JSON.parse(textOf(result)) as { meta: { traceparent?: string } | null };
    expect(meta?.traceparent).toContain(traceId);
  });

  it("takes the HTTP request's traceparent header when _meta carries none", async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const client = await v2Client(`${service.url}/mcp`, 'traced', false, { traceparent: `00-${traceId}-b7ad6b7169203331-01` });
    try {
      const { meta } = JSON.parse(textOf(await client.call('v2__echo_meta'))) as { meta: { traceparent?: string } | null };
      expect(meta?.traceparent).toContain(traceId);
    } finally {
      await client.close();
    }
  });

  it('counts the calls that came through /mcp in mcp_gateway_calls_total', async () => {
    const text = await metricsText();
    expect(text).toMatch(/^mcp_gateway_calls_total\{server="v2",outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^mcp_gateway_calls_total\{server="everything",outcome="ok"\} [1-9]/m);
  });

  it('an unknown tool is a JSON-RPC invalid-params error', async () => {
    await expect(clients[0]!.call('nowhere__echo', {})).rejects.toMatchObject({ code: -32602 });
  });

  it('/mcp/<id> serves one server under its own names; an unknown id is 404', async () => {
    const client = await v2Client(`${service.url}/mcp/notes`, 'scoped', false);
    try {
      expect(await client.names()).toEqual(['add_tool', 'echo', 'slow_read', 'slow_write']);
      expect(textOf(await client.call('echo', { message: 'scoped' }))).toBe('scoped');
    } finally {
      await client.close();
    }
    const response = await fetch(`${service.url}/mcp/nobody`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${OPERATOR}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    expect(response.status).toBe(404);
  });

  it("a server's own tools/list_changed reaches every client", async () => {
    const marks = clients.map((client) => client.changes.length);
    expect(textOf(await clients[0]!.call('notes__add_tool', { name: 'late_tool' }))).toBe('added late_tool');
    for (const [index, client] of clients.entries()) {
      await waitUntil(
        () => client.changes.slice(marks[index]).some((names) => names.includes('notes__late_tool')),
        10_000,
        () => `${client.label} was not told of notes__late_tool: ${JSON.stringify(client.changes.slice(marks[index]))}`,
      );
    }
  });

  it('SIGKILL: the next call succeeds after the restart, with no client action', async () => {
    const before = pidOf('v2');
    process.kill(before, 'SIGKILL');
    await waitForState('v2', ['reconnecting', 'connecting'], 10_000);
    for (const client of clients) expect(textOf(await client.call('v2__echo', { message: 'after kill' })), client.label).toBe('after kill');
    expect(pidOf('v2')).not.toBe(before);
  });

  it('a read-only call in flight during a kill is sent again once and succeeds', async () => {
    const before = pidOf('notes');
    const started = logCount('notes', 'call slow_read');
    const pending = clients[1]!.call('notes__slow_read', { ms: 1_500 });
    await waitUntil(() => logCount('notes', 'call slow_read') > started, 10_000, () => 'slow_read never reached the server');
    process.kill(before, 'SIGKILL');
    const result = await pending;
    expect(result.isError ?? false, textOf(result)).toBe(false);
    expect(textOf(result)).toMatch(/^read \d+$/);
    expect(textOf(result)).not.toBe(`read ${before}`);
    expect(await metricsText()).toMatch(/^mcp_gateway_calls_total\{server="notes",outcome="retried_ok"\} 1$/m);
  });

  it('a non-idempotent call in flight during a kill fails at once with a clear tool error', async () => {
    await waitForState('notes', ['healthy'], 20_000);
    const before = pidOf('notes');
    const started = logCount('notes', 'call slow_write');
    const pending = clients[2]!.call('notes__slow_write', { ms: 20_000 });
    await waitUntil(() => logCount('notes', 'call slow_write') > started, 10_000, () => 'slow_write never reached the server');
    const killed = Date.now();
    process.kill(before, 'SIGKILL');
    const result = await pending;
    expect(Date.now() - killed).toBeLessThan(5_000);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('"notes"');
    expect(textOf(result)).toMatch(/lost/);
    expect(await metricsText()).toMatch(/^mcp_gateway_calls_total\{server="notes",outcome="connection_lost"\} 1$/m);
  });

  it('SIGSTOP: once zombie the tools leave every list and calls fail fast with the reason; after the replacement they return', async () => {
    await waitForState('frozen', ['healthy'], 20_000);
    const marks = clients.map((client) => client.changes.length);
    const eventMark = events.length;
    const pid = pidOf('frozen');
    process.kill(pid, 'SIGSTOP');
    try {
      await waitUntil(
        () => events.slice(eventMark).some((event) => event.type === 'state.changed' && event.id === 'frozen' && event.to === 'zombie'),
        15_000,
        () => `frozen never became a zombie (state ${service.supervisor.state('frozen')})`,
      );
      // The zombie's teardown of a stopped process (stdin, 500 ms, SIGTERM, 2 s, SIGKILL) keeps it a
      // zombie for seconds: a call now is refused at once, with the reason.
      const asked = Date.now();
      const refused = await clients[0]!.call('frozen__echo', { message: 'frozen?' });
      expect(Date.now() - asked).toBeLessThan(1_000);
      expect(refused.isError, textOf(refused)).toBe(true);
      expect(textOf(refused)).toContain('"frozen"');
      expect(textOf(refused)).toContain('zombie');
      for (const [index, client] of clients.entries()) {
        await waitUntil(
          () => client.changes.slice(marks[index]).some((names) => !names.includes('frozen__echo') && names.includes('v2__echo')),
          10_000,
          () => `${client.label} was never told that frozen's tools left: ${JSON.stringify(client.changes.slice(marks[index]))}`,
        );
      }
    } finally {
      if (isAlive(pid)) process.kill(pid, 'SIGCONT');
    }
    await waitForState('frozen', ['healthy'], 20_000);
    for (const [index, client] of clients.entries()) {
      await waitUntil(
        () => {
          const seen = client.changes.slice(marks[index]);
          const gone = seen.findIndex((names) => !names.includes('frozen__echo'));
          return gone >= 0 && seen.slice(gone + 1).some((names) => names.includes('frozen__echo'));
        },
        10_000,
        () => `${client.label} was never told that frozen's tools came back: ${JSON.stringify(client.changes.slice(marks[index]))}`,
      );
      expect(textOf(await client.call('frozen__echo', { message: 'back' })), client.label).toBe('back');
    }
    expect(pidOf('frozen')).not.toBe(pid);
  });
});
