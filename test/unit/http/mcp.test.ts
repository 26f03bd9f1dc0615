// The front door of `/mcp` (token, role, Origin, body size, JSON depth), its audit records and the
// 2025-era session leg, through `app.request()` over an in-process fleet.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { z } from 'zod';
import type { ServerDefinition } from '../../../src/config/load.js';
import { resolveSettings } from '../../../src/core/settings.js';
import { FleetCatalog } from '../../../src/fleet/catalog.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import { createGatewayHttp } from '../../../src/gateway/http.js';
import type { Gateway, GatewayHttpOptions } from '../../../src/gateway/http.js';
import { GatewayServers } from '../../../src/gateway/server.js';
import { createApp } from '../../../src/http/app.js';
import { AuditTrail } from '../../../src/observe/audit.js';
import type { TokenSpec } from '../../../src/observe/tokens.js';
import { waitUntil } from '../../support/wait.js';

const FAST = resolveSettings({ healthyIntervalMs: 200, stableIntervalMs: 400, pingTimeoutMs: 500, initialBackoffMs: 20, maxBackoffMs: 50 });

function echo(): McpServer {
  const server = new McpServer({ name: 'mcp-route-test', version: '1.0.0' });
  server.registerTool('echo', { inputSchema: { message: z.string() }, annotations: { readOnlyHint: true } }, async ({ message }) => ({
    content: [{ type: 'text', text: message }],
  }));
  return server;
}

function definition(id: string): ServerDefinition {
  return { id, target: { type: 'memory', createServer: echo }, priority: 0, dependsOn: [], required: true, disabled: false, settings: FAST };
}

const VIEWER = 'viewer-token-0123456789';
const OPERATOR = 'operator-token-0123456789';
const OTHER_OPERATOR = 'another-operator-token-0123';
const TOKENS: TokenSpec[] = [
  { name: 'vera', role: 'viewer', token: VIEWER },
  { name: 'otto', role: 'operator', token: OPERATOR },
  { name: 'olga', role: 'operator', token: OTHER_OPERATOR },
];
const CALL_LIMIT = 4_096;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fleetApp(options: GatewayHttpOptions = {}) {
  const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [definition('a')] });
  cleanups.push(() => supervisor.stop());
  await waitFor(supervisor.connection('a'), (snapshot) => snapshot.matches({ serving: 'healthy' }), { timeout: 5_000 });
  const catalog = new FleetCatalog(supervisor);
  await catalog.start();
  cleanups.push(() => catalog.stop());
  await waitUntil(() => catalog.tools().length > 0, 5_000, () => 'the catalog never listed a');
  const gateway: Gateway = createGatewayHttp(new GatewayServers({ supervisor, catalog }), options);
  cleanups.push(() => gateway.close());
  const audit = new AuditTrail();
  const app = createApp({ supervisor, tokens: TOKENS, gateway, audit, limits: { maxCallBodyBytes: CALL_LIMIT } });
  return { app, audit, gateway, supervisor };
}

const MCP_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'mcp-route-test', version: '1.0.0' } },
};

function post(body: unknown, token: string | undefined = OPERATOR, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

/** The JSON-RPC messages of a response: one JSON body, or the `data:` lines of an SSE one. */
async function messagesOf(response: Response): Promise<Array<{ id?: number; result?: Record<string, unknown>; error?: { code: number } }>> {
  const text = await response.text();
  if (!response.headers.get('content-type')?.includes('text/event-stream')) return [JSON.parse(text)];
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice('data: '.length)));
}

describe('/mcp front door', () => {
  it('the whole app, /mcp and tokens included, routes by RegExpRouter', async () => {
    const { app } = await fleetApp();
    // SmartRouter settles on the first router that takes every route, at the first request. A
    // route RegExpRouter cannot take (a parameter beside static siblings, like the old
    // /actors/{id}/{command}) would put every request on the slower TrieRouter.
    expect((await app.request('/health', { headers: { Authorization: `Bearer ${OPERATOR}` } })).status).toBeLessThan(500);
    expect(app.router.name).toBe('SmartRouter + RegExpRouter');
  });

  it('needs an operator token for every method; refuses a foreign Origin; limits body size and depth', async () => {
    const { app } = await fleetApp();
    expect((await app.request('/mcp', post(INITIALIZE, ''))).status).toBe(401);
    expect((await app.request('/mcp', { method: 'GET' })).status).toBe(401);
    const viewerPost = await app.request('/mcp', post(INITIALIZE, VIEWER));
    expect(viewerPost.status).toBe(403);
    expect(((await viewerPost.json()) as { error: { code: string } }).error.code).toBe('forbidden_role');
    // A GET opens a session's stream, which carries tool results: operator's too.
    expect((await app.request('/mcp', { method: 'GET', headers: { Authorization: `Bearer ${VIEWER}`, Accept: 'text/event-stream' } })).status).toBe(403);
    const foreign = await app.request('/mcp', post(INITIALIZE, OPERATOR, { Origin: 'http://evil.example' }));
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('forbidden_origin');
    const big = { ...INITIALIZE, params: { ...INITIALIZE.params, padding: 'x'.repeat(CALL_LIMIT) } };
    expect((await app.request('/mcp', post(big))).status).toBe(413);
    const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
    expect((await app.request('/mcp', post(deep))).status).toBe(400);
    expect((await app.request('/mcp', post('{not json'))).status).toBe(400);
    expect((await app.request('/mcp/nobody', post(INITIALIZE))).status).toBe(404);
  });

  it('serves a 2025-era session (initialize, list, call, GET stream, DELETE) and audits the tool and its server', async () => {
    const { app, audit, gateway } = await fleetApp();
    const opened = await app.request('/mcp', post(INITIALIZE));
    expect(opened.status).toBe(200);
    const session = opened.headers.get('mcp-session-id');
    expect(session).toBeTruthy();
    expect((await messagesOf(opened))[0]?.result?.capabilities).toMatchObject({ tools: { listChanged: true } });
    const inSession = { 'mcp-session-id': session!, 'mcp-protocol-version': '2025-06-18' };
    expect((await app.request('/mcp', post({ jsonrpc: '2.0', method: 'notifications/initialized' }, OPERATOR, inSession))).status).toBe(202);

    const listed = await messagesOf(await app.request('/mcp', post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, OPERATOR, inSession)));
    const tools = (listed[0]?.result?.tools ?? []) as Array<{ name: string; _meta?: Record<string, unknown> }>;
    expect(tools.map((tool) => tool.name)).toEqual(['a__echo']);
    expect(tools[0]?._meta?.['io.github.mcp-supervisor/server']).toBe('a');

    const called = await messagesOf(
      await app.request('/mcp', post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'a__echo', arguments: { message: 'via /mcp' } } }, OPERATOR, inSession)),
    );
    expect(called[0]?.result?.content).toEqual([{ type: 'text', text: 'via /mcp' }]);
    const unknown = await messagesOf(
      await app.request('/mcp', post({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'b__echo', arguments: {} } }, OPERATOR, inSession)),
    );
    expect(unknown[0]?.error?.code).toBe(-32602);

    const records = await audit.query({ action: 'mcp.request' });
    expect(records.find((record) => record.rpcMethod === 'tools/call' && record.tool === 'echo')).toMatchObject({ target: 'a', token: 'otto', outcome: 'ok' });
    expect(records.find((record) => record.rpcMethod === 'initialize')).toMatchObject({ target: null, method: 'POST', path: '/mcp' });

    const stream = await app.request('/mcp', { method: 'GET', headers: { Authorization: `Bearer ${OPERATOR}`, Accept: 'text/event-stream', ...inSession } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    await stream.body?.cancel();
    // Not audited: the session's POSTs are.
    expect((await audit.query({ action: 'mcp.request' })).some((record) => record.method === 'GET')).toBe(false);

    expect(gateway.sessionCount()).toBe(1);
    const closed = await app.request('/mcp', { method: 'DELETE', headers: { Authorization: `Bearer ${OPERATOR}`, ...inSession } });
    expect(closed.status).toBe(200);
    await waitUntil(() => gateway.sessionCount() === 0, 2_000, () => 'the session outlived its DELETE');
    expect((await app.request('/mcp', post({ jsonrpc: '2.0', id: 5, method: 'tools/list' }, OPERATOR, inSession))).status).toBe(404);
    // A session belongs to the path it was opened on.
    const scoped = await app.request('/mcp/a', post(INITIALIZE));
    const scopedSession = scoped.headers.get('mcp-session-id')!;
    expect((await app.request('/mcp', post({ jsonrpc: '2.0', id: 6, method: 'tools/list' }, OPERATOR, { ...inSession, 'mcp-session-id': scopedSession }))).status).toBe(404);
  });

  it("a 2025-era session belongs to the token that opened it: another operator's requests with its id are 404", async () => {
    const { app } = await fleetApp();
    const opened = await app.request('/mcp', post(INITIALIZE));
    const session = opened.headers.get('mcp-session-id')!;
    const inSession = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
    expect((await app.request('/mcp', post({ jsonrpc: '2.0', method: 'notifications/initialized' }, OPERATOR, inSession))).status).toBe(202);
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    expect((await app.request('/mcp', post(list, OTHER_OPERATOR, inSession))).status).toBe(404);
    const stream = await app.request('/mcp', { method: 'GET', headers: { Authorization: `Bearer ${OTHER_OPERATOR}`, Accept: 'text/event-stream', ...inSession } });
    expect(stream.status).toBe(404);
    expect((await app.request('/mcp', { method: 'DELETE', headers: { Authorization: `Bearer ${OTHER_OPERATOR}`, ...inSession } })).status).toBe(404);
    // The owner's session is untouched.
    expect((await app.request('/mcp', post(list, OPERATOR, inSession))).status).toBe(200);
  });

  it("a removed server's sessions end with it", async () => {
    const { app, gateway, supervisor } = await fleetApp();
    const opened = await app.request('/mcp/a', post(INITIALIZE, OPERATOR));
    const session = opened.headers.get('mcp-session-id')!;
    const inSession = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
    expect((await app.request('/mcp/a', post({ jsonrpc: '2.0', method: 'notifications/initialized' }, OPERATOR, inSession))).status).toBe(202);
    await supervisor.remove('a');
    // The route answers 404 for the id now; the gateway itself has closed the session too.
    const direct = (): Promise<Response> =>
      gateway.fetch(new Request('http://127.0.0.1/mcp/a', { ...post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, OPERATOR, inSession) }), {
        scope: 'a',
        parsedBody: { jsonrpc: '2.0', id: 2, method: 'tools/list' },
        owner: 'otto',
      });
    await waitUntil(async () => (await direct()).status === 404, 5_000, () => 'the session of a removed server still answered');
  });

  it('refuses a batch that carries tool calls (the audit names one tool per request)', async () => {
    const { app } = await fleetApp();
    const batch = [{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a__echo', arguments: {} } }];
    const refused = await app.request('/mcp', post(batch));
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: { code: -32600 } });
  });

  it('closes a legacy session left idle; answers other methods without failing', async () => {
    const { app, gateway } = await fleetApp({ sessionIdleMs: 500 });
    expect((await app.request('/mcp', post(INITIALIZE))).status).toBe(200);
    expect(gateway.sessionCount()).toBe(1);
    await waitUntil(() => gateway.sessionCount() === 0, 5_000, () => 'the idle session was never closed');
    for (const method of ['HEAD', 'OPTIONS', 'PUT']) {
      const response = await app.request('/mcp', { method, headers: { Authorization: `Bearer ${OPERATOR}` } });
      expect(response.status, method).toBeGreaterThanOrEqual(400);
      expect(response.status, method).toBeLessThan(500);
    }
    await gateway.close();
    expect((await app.request('/mcp', post(INITIALIZE))).status).toBe(503);
  });

  it('caps the legacy sessions open at once (503 beyond)', async () => {
    const { app } = await fleetApp({ maxSessions: 1 });
    expect((await app.request('/mcp', post(INITIALIZE))).status).toBe(200);
    const refused = await app.request('/mcp', post(INITIALIZE));
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain('at most 1 MCP sessions');
  });
});
