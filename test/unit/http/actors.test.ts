import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { waitFor } from 'xstate';
import type { ServerDefinition } from '../../../src/config/load.js';
import { createApp } from '../../../src/http/app.js';
import type { ConfigPersistence } from '../../../src/config/store.js';
import { resolveSettings } from '../../../src/core/settings.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import type { InProcessServer } from '../../../src/core/target.js';
import { fixtureServerPath } from '../../../fixtures/http-fixture.js';

const FAST = resolveSettings({ healthyIntervalMs: 200, stableIntervalMs: 400, pingTimeoutMs: 500, initialBackoffMs: 20, maxBackoffMs: 50 });

/** An in-process MCP server with an echo tool, a tool that waits until cancelled, and one that closes the server. */
function echoServer(onWaitStarted?: () => void): InProcessServer {
  const server = new McpServer({ name: 'http-test', version: '1.0.0' });
  server.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
  server.registerTool('wait', {}, async (extra) => {
    onWaitStarted?.();
    await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve(), { once: true }));
    return { content: [{ type: 'text', text: 'cancelled' }] };
  });
  server.registerTool('fail', {}, async () => ({ content: [{ type: 'text', text: 'it broke' }], isError: true }));
  return server;
}

/** A low-level server whose tools/call answers with a JSON-RPC error: a protocol error, not a tool error. */
function protocolErrorServer(): InProcessServer {
  const server = new Server({ name: 'protocol-error', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
  server.setRequestHandler(CallToolRequestSchema, async () => {
    throw new McpError(ErrorCode.InvalidParams, 'arguments rejected by the server');
  });
  return server;
}

function definition(id: string, createServer: () => InProcessServer, extra: Partial<ServerDefinition> = {}): ServerDefinition {
  return { id, target: { type: 'memory', createServer }, priority: 0, dependsOn: [], required: true, disabled: false, settings: FAST, ...extra };
}

const running: Supervisor[] = [];

function fleet(definitions: ServerDefinition[]): Supervisor {
  const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: definitions });
  running.push(supervisor);
  return supervisor;
}

class MemoryPersistence implements ConfigPersistence {
  readonly entries = new Map<string, Record<string, unknown>>();
  async add(id: string, entry: Record<string, unknown>): Promise<void> {
    this.entries.set(id, entry);
  }
  async remove(id: string): Promise<void> {
    this.entries.delete(id);
  }
  supervisorHealth() {
    return { pingTimeoutMs: 750 };
  }
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

function post(body?: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((supervisor) => supervisor.stop()));
});

describe('GET /actors', () => {
  it('lists every actor as an ActorView', async () => {
    const supervisor = fleet([definition('a', echoServer, { priority: 5 }), definition('b', echoServer)]);
    await Promise.all([supervisor.ready('a'), supervisor.ready('b')]);
    const response = await createApp({ supervisor }).request('/actors');
    expect(response.status).toBe(200);
    const { actors } = (await response.json()) as { actors: Array<Record<string, unknown>> };
    expect(actors.map((actor) => [actor.id, actor.state, actor.priority])).toEqual([
      ['a', 'healthy', 5],
      ['b', 'healthy', 0],
    ]);
    expect(actors[0]).toMatchObject({ transport: 'memory', attempts: 0, lastError: null, quality: { score: expect.any(Number) } });
  });

  it('shows one actor with its snapshot and history, without secrets', async () => {
    const supervisor = fleet([
      {
        id: 'secretive',
        target: { type: 'stdio', command: 'mcp-no-such-command', env: { API_KEY: 'sk-planted-secret' } },
        priority: 0,
        dependsOn: [],
        required: true,
        disabled: false,
        settings: FAST,
      },
    ]);
    await waitFor(supervisor.connection('secretive'), (snapshot) => snapshot.matches('failed'), { timeout: 5_000 });
    const response = await createApp({ supervisor }).request('/actors/secretive');
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain('sk-planted-secret');
    const body = JSON.parse(text) as Record<string, unknown> & { snapshot: { value: unknown; context: Record<string, unknown> }; history: unknown[] };
    expect(body.state).toBe('failed');
    expect(body.snapshot.value).toBe('failed');
    expect(body.snapshot.context.target).toEqual({ type: 'stdio', command: 'mcp-no-such-command', args: [], envKeys: ['API_KEY'] });
    // Plumbing stays out: the actor that carries the connection's messages, the jitter state.
    expect(Object.keys(body.snapshot.context)).not.toContain('reportTo');
    expect(Object.keys(body.snapshot.context)).not.toContain('rngState');
    expect(body.history).toEqual([
      // The first start's wait for a slot is not a transition: the first one is to connecting.
      expect.objectContaining({ to: 'connecting' }),
      expect.objectContaining({ from: 'connecting', to: 'failed', reason: expect.stringMatching(/command not found/) }),
    ]);
  });

  it('404 with the error body for an unknown id, and for an unknown route', async () => {
    const app = createApp({ supervisor: fleet([]) });
    const unknown = await app.request('/actors/nope');
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ error: { code: 'not_found', message: 'no server with id "nope"' } });
    const route = await app.request('/nowhere');
    expect(route.status).toBe(404);
    expect(await json(route)).toMatchObject({ error: { code: 'not_found' } });
  });
});

describe('POST /actors and DELETE /actors/:id', () => {
  it('registers a server, persists it with the supervisor-wide settings applied, and removes it', async () => {
    const supervisor = fleet([definition('a', echoServer)]);
    const persistence = new MemoryPersistence();
    const app = createApp({ supervisor, persistence });
    const entry = { command: 'mcp-no-such-command', args: ['--flag'], priority: 3 };
    const created = await app.request('/actors', post({ id: 'added', ...entry }));
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({ id: 'added', priority: 3 });
    expect(persistence.entries.get('added')).toEqual(entry);
    expect(supervisor.connection('added').getSnapshot().context.settings.pingTimeoutMs).toBe(750);

    const removed = await app.request('/actors/added', { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect(await json(removed)).toEqual({ removed: 'added' });
    expect(persistence.entries.has('added')).toBe(false);
    expect(supervisor.ids()).toEqual(['a']);
    expect((await app.request('/actors/added', { method: 'DELETE' })).status).toBe(404);
  });

  it('409 for a duplicate id, 400 for a malformed body or an invalid entry, listing every problem', async () => {
    const supervisor = fleet([definition('a', echoServer)]);
    const app = createApp({ supervisor, persistence: new MemoryPersistence() });
    const duplicate = await app.request('/actors', post({ id: 'a', command: 'x' }));
    expect(duplicate.status).toBe(409);
    expect(await json(duplicate)).toMatchObject({ error: { code: 'conflict' } });

    const malformed = await app.request('/actors', post('{"id": '));
    expect(malformed.status).toBe(400);
    expect(await json(malformed)).toMatchObject({ error: { code: 'invalid_request' } });

    const noId = await app.request('/actors', post({ command: 'x' }));
    expect(noId.status).toBe(400);

    const invalid = await app.request('/actors', post({ id: 'bad id!', command: 'x', args: [1], dependsOn: ['ghost'] }));
    expect(invalid.status).toBe(400);
    const body = (await invalid.json()) as { error: { code: string; issues: Array<{ path: string }> } };
    expect(body.error.code).toBe('invalid_config');
    expect(body.error.issues.map((issue) => issue.path).sort()).toEqual(['args.0', 'id']);
    expect(supervisor.ids()).toEqual(['a']);
  });
});

describe('commands', () => {
  it('stop, start and reconnect answer 202 and move the actor; probe answers with the result', async () => {
    const supervisor = fleet([definition('a', echoServer)]);
    const app = createApp({ supervisor });
    await supervisor.ready('a');

    const probe = await app.request('/actors/a/probe', post());
    expect(probe.status).toBe(200);
    expect(await json(probe)).toMatchObject({ id: 'a', kind: 'ping', outcome: 'fast', latencyMs: expect.any(Number), state: 'healthy' });

    const stop = await app.request('/actors/a/stop', post());
    expect(stop.status).toBe(202);
    expect(await json(stop)).toEqual({ id: 'a', command: 'stop', state: 'stopped' });
    const probeStopped = await app.request('/actors/a/probe', post());
    expect(probeStopped.status).toBe(503);
    expect(await json(probeStopped)).toMatchObject({ error: { code: 'not_connected', state: 'stopped' } });

    expect((await app.request('/actors/a/start', post())).status).toBe(202);
    await supervisor.ready('a');
    expect((await app.request('/actors/a/reconnect', post())).status).toBe(202);
    await supervisor.ready('a');
    expect(supervisor.statsOf('a').history.map((record) => record.to)).toContain('stopped');
    // Starting, stopping and reconnecting on an operator's word are not errors.
    expect(supervisor.statsOf('a').errorCount).toBe(0);

    const dance = await app.request('/actors/a/dance', post());
    expect(dance.status).toBe(404);
    expect(await json(dance)).toEqual({ error: { code: 'not_found', message: 'no route POST /actors/a/dance' } });
    expect((await app.request('/actors/ghost/stop', post())).status).toBe(404);
  });
});

describe('tools', () => {
  it('lists the tools and serves them from the cache afterwards', async () => {
    const supervisor = fleet([definition('a', echoServer)]);
    const app = createApp({ supervisor });
    await supervisor.ready('a');
    const first = (await (await app.request('/actors/a/tools')).json()) as { tools: Array<{ name: string }>; cachedAt: number };
    expect(first.tools.map((tool) => tool.name).sort()).toEqual(['echo', 'fail', 'wait']);
    const second = (await (await app.request('/actors/a/tools')).json()) as { cachedAt: number };
    expect(second.cachedAt).toBe(first.cachedAt);
  });

  it('calls a tool with the body as arguments; isError results pass through with 200', async () => {
    const supervisor = fleet([definition('a', echoServer)]);
    const app = createApp({ supervisor });
    await supervisor.ready('a');
    const ok = await app.request('/actors/a/tools/echo', post({ message: 'through the proxy' }));
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({ content: [{ type: 'text', text: 'through the proxy' }] });
    const toolError = await app.request('/actors/a/tools/fail', post());
    expect(toolError.status).toBe(200);
    expect(await json(toolError)).toMatchObject({ isError: true });
  });

  it('400 for a body that is not a JSON object, or a bad timeout', async () => {
    const supervisor = fleet([definition('a', echoServer)]);
    const app = createApp({ supervisor });
    await supervisor.ready('a');
    expect((await app.request('/actors/a/tools/echo', post('{not json'))).status).toBe(400);
    expect((await app.request('/actors/a/tools/echo', post([1, 2]))).status).toBe(400);
    expect((await app.request('/actors/a/tools/echo?timeoutMs=0', post({}))).status).toBe(400);
    expect((await app.request('/actors/a/tools/echo?timeoutMs=99999999', post({}))).status).toBe(400);
  });

  it('a tool call validates its query and path as every route does: one 400 naming the field', async () => {
    const supervisor = fleet([definition('a', echoServer)]);
    const app = createApp({ supervisor });
    await supervisor.ready('a');
    const badTimeout = await app.request('/actors/a/tools/echo?timeoutMs=0', post({}));
    expect(await json(badTimeout)).toEqual({
      error: { code: 'invalid_request', message: 'timeoutMs: Too small: expected number to be >=1', issues: [{ path: 'timeoutMs', message: 'Too small: expected number to be >=1' }] },
    });
    // A repeated parameter is an array, as zod-openapi's validator reads it: not a number.
    const repeated = await json(await app.request('/actors/a/tools/echo?waitForReady=1&waitForReady=2', post({})));
    expect(repeated).toMatchObject({ error: { code: 'invalid_request', issues: [{ path: 'waitForReady' }] } });
    // The query is checked before the path, as before.
    const both = await json(await app.request('/actors/bad%20id/tools/echo?timeoutMs=x', post({})));
    expect(both).toMatchObject({ error: { code: 'invalid_request', issues: [{ path: 'timeoutMs' }] } });
    const badId = await json(await app.request('/actors/bad%20id/tools/echo', post({})));
    expect(badId).toMatchObject({ error: { code: 'invalid_request', issues: [{ path: 'id' }] } });
  });

  it('503 with the state when not connected; waitForReady waits for healthy', async () => {
    const supervisor = fleet([definition('a', echoServer)]);
    const app = createApp({ supervisor });
    await supervisor.ready('a');
    supervisor.command('a', 'stop');
    const stopped = await app.request('/actors/a/tools/echo', post({ message: 'x' }));
    expect(stopped.status).toBe(503);
    expect(await json(stopped)).toMatchObject({ error: { code: 'not_connected', state: 'stopped' } });

    supervisor.command('a', 'start');
    const ready = await app.request('/actors/a/tools/echo?waitForReady=5000', post({ message: 'waited' }));
    expect(ready.status).toBe(200);
    expect(await json(ready)).toEqual({ content: [{ type: 'text', text: 'waited' }] });
  });

  it('504 when the call outlives timeoutMs', async () => {
    const supervisor = fleet([definition('a', echoServer)]);
    const app = createApp({ supervisor });
    await supervisor.ready('a');
    const response = await app.request('/actors/a/tools/wait?timeoutMs=100', post());
    expect(response.status).toBe(504);
    expect(await json(response)).toMatchObject({ error: { code: 'timeout' } });
  });

  it('502 when the server answers with a protocol error', async () => {
    const supervisor = fleet([definition('p', protocolErrorServer)]);
    const app = createApp({ supervisor });
    await supervisor.ready('p');
    const response = await app.request('/actors/p/tools/anything', post({}));
    expect(response.status).toBe(502);
    expect(await json(response)).toMatchObject({ error: { code: 'upstream_error', message: expect.stringMatching(/arguments rejected/) } });
    // The server answered, so the connection stays in service.
    expect(supervisor.state('p')).toBe('healthy');
  });

  it('503 connection_lost for a call in flight when the connection is lost', async () => {
    const servers: InProcessServer[] = [];
    let callArrived!: () => void;
    const arrived = new Promise<void>((resolve) => {
      callArrived = resolve;
    });
    const supervisor = fleet([
      definition('a', () => {
        const server = echoServer(callArrived);
        servers.push(server);
        return server;
      }),
    ]);
    const app = createApp({ supervisor });
    await supervisor.ready('a');
    const pending = app.request('/actors/a/tools/wait', post());
    await arrived;
    await servers[0]?.close();
    const response = await pending;
    expect(response.status).toBe(503);
    expect(await json(response)).toMatchObject({ error: { code: 'connection_lost' } });
  });

  it('feeds calls into the event stream', async () => {
    const supervisor = fleet([definition('a', echoServer)]);
    const outcomes: string[] = [];
    supervisor.subscribe((event) => {
      if (event.type === 'call.completed') outcomes.push(`${event.tool}:${event.outcome}`);
    });
    const app = createApp({ supervisor });
    await supervisor.ready('a');
    await app.request('/actors/a/tools/echo', post({ message: 'x' }));
    await app.request('/actors/a/tools/fail', post());
    await app.request('/actors/a/tools/wait?timeoutMs=50', post());
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcomes).toEqual(['echo:ok', 'fail:tool_error', 'wait:timeout']);
  });
});

describe('logs', () => {
  it('returns the last lines a stdio server wrote to stderr', async () => {
    const supervisor = fleet([
      { id: 's', target: { type: 'stdio', command: process.execPath, args: [fixtureServerPath, 'stdio'], env: { FIXTURE_FORK_GRANDCHILD: '1' } }, priority: 0, dependsOn: [], required: true, disabled: false, settings: FAST },
    ]);
    await supervisor.ready('s');
    await waitFor(supervisor.connection('s'), () => supervisor.logs('s').some((line) => line.text.startsWith('grandchild')), { timeout: 5_000 }).catch(() => undefined);
    const response = await createApp({ supervisor }).request('/actors/s/logs?lines=5');
    expect(response.status).toBe(200);
    const { lines } = (await response.json()) as { lines: Array<{ at: number; stream: string; text: string }> };
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(lines[0]).toMatchObject({ stream: 'stderr', at: expect.any(Number), text: expect.any(String) });
    expect((await createApp({ supervisor }).request('/actors/s/logs?lines=0')).status).toBe(400);
  });
});

describe('auth', () => {
  it('every route but /health answers 401 without the bearer token', async () => {
    const supervisor = fleet([definition('a', echoServer)]);
    const app = createApp({ supervisor, token: 'correct-horse' });
    for (const path of ['/actors', '/actors/a', '/openapi.json', '/nowhere']) {
      const response = await app.request(path);
      expect(response.status, path).toBe(401);
      expect(await json(response)).toMatchObject({ error: { code: 'unauthorized' } });
    }
    expect((await app.request('/actors', { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await app.request('/actors', { headers: { Authorization: 'Bearer correct-horse-and-more' } })).status).toBe(401);
    expect((await app.request('/actors', { headers: { Authorization: 'Bearer correct-horse' } })).status).toBe(200);
  });
});

describe('OpenAPI', () => {
  it('describes every /actors route, and /docs serves a browsable page', async () => {
    const app = createApp({ supervisor: fleet([]) });
    const document = (await (await app.request('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/actors',
        '/actors/{id}',
        '/actors/{id}/probe',
        '/actors/{id}/reconnect',
        '/actors/{id}/stop',
        '/actors/{id}/start',
        '/actors/{id}/tools',
        '/actors/{id}/tools/{name}',
        '/actors/{id}/logs',
      ]),
    );
    expect(Object.keys(document.paths['/actors'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(document.paths).filter((path) => path.includes('{command}'))).toEqual([]);
    const docs = await app.request('/docs');
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('/docs/assets/swagger-ui-bundle.js');
  });
});
