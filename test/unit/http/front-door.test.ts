// The API's front door (docs/security.md), each defence tried with the hostile request it stops:
// DNS-rebound and cross-site requests, other media types, oversized and overdeep bodies, too many
// streams, too many servers, unknown tools.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { ServerDefinition } from '../../../src/config/load.js';
import { resolveSettings } from '../../../src/core/settings.js';
import type { InProcessServer } from '../../../src/core/target.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import { createApp } from '../../../src/http/app.js';
import type { AppDeps } from '../../../src/http/deps.js';
import { jsonDepthExceeds } from '../../../src/http/guards.js';
import { waitUntil } from '../../support/wait.js';

const PORT = 7411;
const LOCAL = `127.0.0.1:${PORT}`;

// --- fleet ---------------------------------------------------------------------------------------

/** Every tool call that reached a server, as `server:tool`. */
const calls: string[] = [];

function toolServer(id: string): () => InProcessServer {
  return () => {
    const server = new McpServer({ name: 'front-door', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: { message: z.string().optional(), nested: z.unknown().optional() } }, async ({ message }) => {
      calls.push(`${id}:echo`);
      return { content: [{ type: 'text', text: message ?? '' }] };
    });
    server.registerTool('fail', {}, async () => {
      calls.push(`${id}:fail`);
      return { content: [{ type: 'text', text: 'Tool fail not found in the warehouse' }], isError: true };
    });
    return server;
  };
}

/** A low-level server that answers a call for any tool but `echo` with JSON-RPC -32602, as some servers do. */
function strictServer(): InProcessServer {
  const server = new Server({ name: 'strict', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    if (request.params.name === 'bad-args') throw new McpError(ErrorCode.InvalidParams, 'arguments rejected by the server');
    throw new McpError(ErrorCode.InvalidParams, `Tool ${request.params.name} not found`);
  });
  return server;
}

const FAST = resolveSettings({ healthyIntervalMs: 200, stableIntervalMs: 400, pingTimeoutMs: 500, initialBackoffMs: 20, maxBackoffMs: 50 });

function definition(id: string, createServer: () => InProcessServer = toolServer(id)): ServerDefinition {
  return { id, target: { type: 'memory', createServer }, priority: 0, dependsOn: [], required: true, disabled: false, settings: FAST };
}

const running: Supervisor[] = [];
const streams: AbortController[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const stream of streams.splice(0)) stream.abort();
  await Promise.all(running.splice(0).map((supervisor) => supervisor.stop()));
  calls.length = 0;
});

/** An app bound (as far as it knows) to 127.0.0.1:7411, over a fleet of ready servers. */
async function setup(ids: string[] = ['a'], deps: Partial<AppDeps> = {}, definitions = ids.map((id) => definition(id))) {
  const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: definitions });
  running.push(supervisor);
  await Promise.all(definitions.map((server) => supervisor.ready(server.id)));
  // No persistence: POST /actors and DELETE change only the running fleet.
  const app = createApp({ supervisor, host: '127.0.0.1', port: PORT, ...deps });
  return { supervisor, app };
}

type Init = { method?: string; headers?: Record<string, string>; body?: RequestInit['body']; signal?: AbortSignal };

/** A request as a browser or curl would send it to 127.0.0.1:7411, with `init.headers` on top. */
function request(app: Awaited<ReturnType<typeof setup>>['app'], path: string, init: Init = {}): Promise<Response> {
  const headers = { host: LOCAL, ...init.headers };
  const withBody = init.body !== undefined && init.body !== null;
  return Promise.resolve(
    app.request(`http://${LOCAL}${path}`, {
      method: init.method ?? 'GET',
      headers,
      body: init.body,
      signal: init.signal,
      ...(withBody && init.body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit),
  );
}

const jsonPost = (body: unknown, headers: Record<string, string> = {}): Init => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return body.error;
}

async function expectError(response: Response | Promise<Response>, status: number, code: string): Promise<void> {
  const answer = await response;
  const text = await answer.text();
  expect(answer.status, text).toBe(status);
  expect((JSON.parse(text) as { error: { code: string } }).error.code, text).toBe(code);
}

const NEW_SERVER = { id: 'pwned', command: 'touch', args: ['/tmp/pwned'] };

function nested(depth: number): string {
  return `{"message":"deep","nested":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
}

// --- Host --------------------------------------------------------------------------------------

describe('Host: local means local', () => {
  it('403 forbidden_host for a DNS-rebound name, with or without a valid token, and nothing is registered', async () => {
    const { app, supervisor } = await setup(['a'], { token: 'correct-horse' });
    const rebound = { host: `rebind.evil.example:${PORT}` };
    await expectError(request(app, '/actors', jsonPost(NEW_SERVER, rebound)), 403, 'forbidden_host');
    await expectError(request(app, '/actors', jsonPost(NEW_SERVER, { ...rebound, authorization: 'Bearer correct-horse' })), 403, 'forbidden_host');
    expect(supervisor.ids()).toEqual(['a']);
    // Every route, reads included: the pages, /health and the docs too.
    for (const path of ['/actors', '/health', '/', '/docs', '/openapi.json', '/metrics', '/events', '/nowhere']) {
      await expectError(request(app, path, { headers: rebound }), 403, 'forbidden_host');
    }
  });

  it('answers to its own address, localhost, 127.0.0.1 and [::1] with its port, and to allow-listed names', async () => {
    const { app } = await setup([], { allowedHosts: ['proxy.example', 'pinned.example:8443'] });
    for (const host of [LOCAL, `localhost:${PORT}`, `LocalHost:${PORT}`, `[::1]:${PORT}`, 'proxy.example', 'proxy.example:9', 'PROXY.example:80', 'pinned.example:8443']) {
      expect((await request(app, '/actors', { headers: { host } })).status, host).toBe(200);
    }
    for (const host of [
      'localhost', // no port: port 80, not ours
      'localhost:8080',
      '127.0.0.1:7412',
      'pinned.example',
      'pinned.example:8444',
      'sub.proxy.example',
      'localhost.',
      '127.0.0.2:7411',
      'user@localhost:7411',
      'localhost:7411/x',
      'localhost:99999',
      '',
      '[::1',
    ]) {
      await expectError(request(app, '/actors', { headers: { host } }), 403, 'forbidden_host');
    }
  });

  it('takes the bound address as a name of its own, IPv6 in brackets', async () => {
    const { app } = await setup([], { host: '::1', port: 9000 });
    expect((await request(app, '/actors', { headers: { host: '[::1]:9000' } })).status).toBe(200);
    const { app: wide } = await setup([], { host: '0.0.0.0', port: 9000 });
    expect((await request(wide, '/actors', { headers: { host: '0.0.0.0:9000' } })).status).toBe(200);
    await expectError(request(wide, '/actors', { headers: { host: '192.168.1.10:9000' } }), 403, 'forbidden_host');
  });

  it('with no port known (app.request in tests) any port of a local name will do', async () => {
    const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [] });
    running.push(supervisor);
    const app = createApp({ supervisor });
    expect((await app.request('/actors')).status).toBe(200);
    expect((await app.request('http://localhost:1234/actors')).status).toBe(200);
    await expectError(app.request('http://evil.example/actors'), 403, 'forbidden_host');
  });
});

// --- Origin ------------------------------------------------------------------------------------

describe('Origin and Sec-Fetch-Site: no cross-site changes', () => {
  it('403 forbidden_origin for a cross-site tool call, and the tool never runs', async () => {
    const { app } = await setup();
    await expectError(request(app, '/actors/a/tools/echo', jsonPost({ message: 'x' }, { origin: 'http://evil.example' })), 403, 'forbidden_origin');
    // The plain-form attack: text/plain from another origin.
    await expectError(
      request(app, '/actors/a/tools/echo', { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'text/plain' }, body: '{"message":"x"}' }),
      403,
      'forbidden_origin',
    );
    // A bodiless no-cors POST: no content type at all, only the origin gives it away.
    await expectError(request(app, '/actors/a/tools/echo', { method: 'POST', headers: { origin: 'http://evil.example' } }), 403, 'forbidden_origin');
    expect(calls).toEqual([]);
  });

  it('refuses every state-changing method from a foreign origin, and origins that only look local', async () => {
    const { app, supervisor } = await setup();
    for (const origin of ['http://evil.example', 'null', `http://localhost:3000`, `http://127.0.0.1:${PORT + 1}`, `ftp://127.0.0.1:${PORT}`, 'http://localhost']) {
      await expectError(request(app, '/actors', jsonPost(NEW_SERVER, { origin })), 403, 'forbidden_origin');
      await expectError(request(app, '/actors/a', { method: 'DELETE', headers: { origin } }), 403, 'forbidden_origin');
      await expectError(request(app, '/actors/a/stop', { method: 'POST', headers: { origin } }), 403, 'forbidden_origin');
      await expectError(request(app, '/actors/a', { method: 'PUT', headers: { origin } }), 403, 'forbidden_origin');
      await expectError(request(app, '/actors/a', { method: 'PATCH', headers: { origin } }), 403, 'forbidden_origin');
    }
    expect(supervisor.ids()).toEqual(['a']);
    expect(supervisor.state('a')).toBe('healthy');
  });

  it('403 for Sec-Fetch-Site: cross-site on a state-changing request, even without an Origin', async () => {
    const { app, supervisor } = await setup();
    await expectError(request(app, '/actors/a/stop', { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'forbidden_origin');
    expect(supervisor.state('a')).toBe('healthy');
    // Reads may come from anywhere (without CORS headers the page cannot read the answer).
    expect((await request(app, '/actors', { headers: { 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' } })).status).toBe(200);
  });

  it('lets its own pages (same origin) and plain clients (no Origin) change things', async () => {
    const { app } = await setup();
    const own = { origin: `http://${LOCAL}`, 'sec-fetch-site': 'same-origin' };
    expect((await request(app, '/actors/a/tools/echo', jsonPost({ message: 'mine' }, own))).status).toBe(200);
    expect((await request(app, '/actors/a/tools/echo', jsonPost({ message: 'mine' }, { origin: `http://localhost:${PORT}` }))).status).toBe(200);
    expect((await request(app, '/actors/a/tools/echo', jsonPost({ message: 'curl' }))).status).toBe(200);
    expect(calls).toEqual(['a:echo', 'a:echo', 'a:echo']);
  });

  it('sends no CORS headers, not even to a preflight', async () => {
    const { app } = await setup();
    const responses = [
      await request(app, '/actors', { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } }),
      await request(app, '/actors', { headers: { origin: 'http://evil.example' } }),
      await request(app, '/actors/a/tools/echo', jsonPost({}, { origin: 'http://evil.example' })),
    ];
    for (const response of responses) {
      const cors = [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));
      expect(cors).toEqual([]);
    }
  });
});

// --- media type --------------------------------------------------------------------------------

describe('JSON bodies are application/json', () => {
  it('415 unsupported_media_type for a tool call that is not JSON, and the tool never runs', async () => {
    const { app } = await setup();
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
      await expectError(request(app, '/actors/a/tools/echo', { method: 'POST', headers: { 'content-type': type }, body: '{"message":"x"}' }), 415, 'unsupported_media_type');
    }
    // A body without any type.
    const untyped = new Request(`http://${LOCAL}/actors/a/tools/echo`, { method: 'POST', headers: { host: LOCAL }, body: new Blob(['{"message":"x"}']) });
    expect(untyped.headers.get('content-type')).toBeNull();
    await expectError(app.request(untyped), 415, 'unsupported_media_type');
    expect(calls).toEqual([]);
  });

  it('415 for POST /actors that is not JSON; nothing registered', async () => {
    const { app, supervisor } = await setup();
    await expectError(request(app, '/actors', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(NEW_SERVER) }), 415, 'unsupported_media_type');
    expect(supervisor.ids()).toEqual(['a']);
  });

  it('takes application/json with parameters, and bodiless tool calls and commands without a type', async () => {
    const { app } = await setup();
    expect((await request(app, '/actors/a/tools/echo', { method: 'POST', headers: { 'content-type': 'Application/JSON; charset=utf-8' }, body: '{"message":"x"}' })).status).toBe(200);
    expect((await request(app, '/actors/a/tools/echo', { method: 'POST' })).status).toBe(200);
    expect((await request(app, '/actors/a/probe', { method: 'POST' })).status).toBe(200);
    expect((await request(app, '/actors/a/reconnect', { method: 'POST' })).status).toBe(202);
  });
});

// --- limits ------------------------------------------------------------------------------------

/** A body sent in chunks with no Content-Length, as a chunked upload arrives. */
function streamed(totalBytes: number, chunkBytes = 64 * 1024): { body: ReadableStream<Uint8Array>; sent: () => number } {
  let sent = 0;
  const chunk = new Uint8Array(chunkBytes).fill(0x20);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= totalBytes) return controller.close();
      const size = Math.min(chunkBytes, totalBytes - sent);
      sent += size;
      controller.enqueue(size === chunkBytes ? chunk : chunk.subarray(0, size));
    },
  });
  return { body, sent: () => sent };
}

describe('body limits', () => {
  it('413 payload_too_large for a 50 MB POST /actors announced by Content-Length, without reading it', async () => {
    const { app, supervisor } = await setup();
    const { body, sent } = streamed(50 * 1024 * 1024);
    const response = await request(app, '/actors', { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) }, body });
    await expectError(response, 413, 'payload_too_large');
    expect(sent()).toBeLessThan(1024 * 1024);
    expect(supervisor.ids()).toEqual(['a']);
  });

  it('413 for a streamed body (no Content-Length) once it passes 1 MiB, reading no more than that', async () => {
    const { app } = await setup();
    const { body, sent } = streamed(50 * 1024 * 1024);
    await expectError(request(app, '/actors', { method: 'POST', headers: { 'content-type': 'application/json' }, body }), 413, 'payload_too_large');
    expect(sent()).toBeLessThan(2 * 1024 * 1024);
  });

  it('tool calls take up to 4 MiB by default, configurable; 413 beyond', async () => {
    const { app } = await setup();
    const message = 'x'.repeat(3 * 1024 * 1024);
    expect((await request(app, '/actors/a/tools/echo', jsonPost({ message }))).status).toBe(200);
    await expectError(request(app, '/actors/a/tools/echo', jsonPost({ message: 'x'.repeat(4 * 1024 * 1024) })), 413, 'payload_too_large');
    const { body } = streamed(5 * 1024 * 1024);
    await expectError(request(app, '/actors/a/tools/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body }), 413, 'payload_too_large');
    // Management routes stay at 1 MiB.
    await expectError(request(app, '/actors', jsonPost({ id: 'big', command: 'x'.repeat(1024 * 1024) })), 413, 'payload_too_large');

    const { app: small } = await setup(['b'], { limits: { maxCallBodyBytes: 1_000 } });
    await expectError(request(small, '/actors/b/tools/echo', jsonPost({ message: 'y'.repeat(1_000) })), 413, 'payload_too_large');
    expect((await request(small, '/actors/b/tools/echo', jsonPost({ message: 'y'.repeat(900) }))).status).toBe(200);
  });
});

describe('JSON depth', () => {
  it('400 invalid_request (not 500) for JSON nested 100 000 deep, on POST /actors and on tool calls', async () => {
    const { app, supervisor } = await setup();
    const deep = `{"id":"deep","command":"x","args":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    await expectError(request(app, '/actors', jsonPost(deep)), 400, 'invalid_request');
    await expectError(request(app, '/actors/a/tools/echo', jsonPost(nested(100_000))), 400, 'invalid_request');
    expect(supervisor.ids()).toEqual(['a']);
    expect(calls).toEqual([]);
  });

  it('takes 64 levels, refuses 65; brackets inside strings do not count', async () => {
    const { app } = await setup();
    expect((await request(app, '/actors/a/tools/echo', jsonPost(nested(64)))).status).toBe(200);
    await expectError(request(app, '/actors/a/tools/echo', jsonPost(nested(65))), 400, 'invalid_request');
    const bracketsInString = JSON.stringify({ message: `[{"\\"${'['.repeat(1_000)}` });
    expect((await request(app, '/actors/a/tools/echo', jsonPost(bracketsInString))).status).toBe(200);
  });

  it('measures without recursion: a million levels cost a linear scan', () => {
    const text = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    expect(jsonDepthExceeds(text, 64)).toBe(true);
    expect(jsonDepthExceeds(text, 1_000_000)).toBe(false);
    expect(jsonDepthExceeds('{"a":"\\"[[[["}', 1)).toBe(false);
    expect(jsonDepthExceeds('[[]]', 1)).toBe(true);
  });
});

describe('event streams', () => {
  async function open(app: Awaited<ReturnType<typeof setup>>['app'], path = '/events'): Promise<Response> {
    const abort = new AbortController();
    streams.push(abort);
    return request(app, path, { signal: abort.signal });
  }

  it('503 too_many_clients beyond maxEventClients (/events and logs?follow=1 together), a slot again once one closes', async () => {
    const { app } = await setup(['a'], { limits: { maxEventClients: 2 }, eventStream: { keepAliveMs: 0 } });
    const first = await open(app);
    expect(first.status).toBe(200);
    const second = await open(app, '/actors/a/logs?follow=1');
    expect(second.status).toBe(200);
    await expectError(open(app), 503, 'too_many_clients');
    await expectError(open(app, '/actors/a/logs?follow=1'), 503, 'too_many_clients');
    // Plain reads are not streams.
    expect((await request(app, '/actors/a/logs')).status).toBe(200);

    await first.body!.cancel();
    // The slot is given back when the stream's end has run through; poll for it, bounded.
    const again = await waitUntil(
      async () => {
        const response = await open(app);
        if (response.status === 200) return response;
        await response.body?.cancel();
        return undefined;
      },
      5_000,
      () => 'no stream slot came free after a client left',
    );
    expect(again.status).toBe(200);
  });
});

describe('fleet size', () => {
  it('409 limit_reached for POST /actors beyond maxServers, also when the registrations race', async () => {
    const { app } = await setup(['a'], { limits: { maxServers: 3 } });
    const register = (id: string) => request(app, '/actors', jsonPost({ id, command: process.execPath, args: ['-e', 'setInterval(()=>{},1000)'], disabled: true }));
    const answers = await Promise.all(['b', 'c', 'd', 'e', 'f'].map(register));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([201, 201, 409, 409, 409]);
    for (const answer of answers.filter((each) => each.status === 409)) expect((await errorOf(answer)).code).toBe('limit_reached');
    const registered = answers.filter((answer) => answer.status === 201).length;
    expect(registered).toBe(2);
    // Removing one makes room again.
    const kept = ['b', 'c', 'd', 'e', 'f'][statusesInOrder(answers).indexOf(201)]!;
    expect((await request(app, `/actors/${kept}`, { method: 'DELETE' })).status).toBe(200);
    expect((await register('g')).status).toBe(201);
  });
});

function statusesInOrder(answers: Response[]): number[] {
  return answers.map((answer) => answer.status);
}

// --- unknown tools -----------------------------------------------------------------------------

describe('unknown tools', () => {
  it('404 unknown_tool without calling when the cached tool list lacks the name', async () => {
    const { app, supervisor } = await setup();
    const outcomes: string[] = [];
    supervisor.subscribe((event) => {
      if (event.type === 'call.completed') outcomes.push(`${event.tool}:${event.outcome}`);
    });
    expect((await request(app, '/actors/a/tools')).status).toBe(200);
    await expectError(request(app, '/actors/a/tools/nope', jsonPost({})), 404, 'unknown_tool');
    expect(calls).toEqual([]);
    expect(outcomes).toEqual([]);
  });

  it('404 unknown_tool when the server answers that it has no such tool (McpServer: an isError result)', async () => {
    const { app } = await setup();
    // No listing yet: the server is asked, and says "Tool nope not found".
    const response = await request(app, '/actors/a/tools/nope', jsonPost({}));
    await expectError(response, 404, 'unknown_tool');
  });

  it('404 unknown_tool when a low-level server throws -32602 "Tool … not found"; other protocol errors stay 502', async () => {
    const { app } = await setup(['s'], {}, [definition('s', strictServer)]);
    await expectError(request(app, '/actors/s/tools/nope', jsonPost({})), 404, 'unknown_tool');
    await expectError(request(app, '/actors/s/tools/bad-args', jsonPost({})), 502, 'upstream_error');
  });

  it('isError results of real tools pass through with 200, even when they mention "not found"', async () => {
    const { app } = await setup();
    const response = await request(app, '/actors/a/tools/fail', jsonPost({}));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ isError: true });
  });

  it('reads a stale tool list again before saying a tool is unknown', async () => {
    const servers: McpServer[] = [];
    const { app } = await setup(['a'], {}, [
      definition('a', () => {
        const server = toolServer('a')() as McpServer;
        servers.push(server);
        return server;
      }),
    ]);
    expect((await request(app, '/actors/a/tools')).status).toBe(200);
    servers[0]!.registerTool('late', {}, async () => ({ content: [{ type: 'text', text: 'late but here' }] }));
    await expectError(request(app, '/actors/a/tools/late', jsonPost({})), 404, 'unknown_tool'); // the list is fresh
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 60_000);
    const response = await request(app, '/actors/a/tools/late', jsonPost({}));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ content: [{ type: 'text', text: 'late but here' }] });
  });
});

// --- docs --------------------------------------------------------------------------------------

describe('/docs', () => {
  it('serves Swagger UI from the app itself, without a token, under a strict CSP; /openapi.json keeps the token', async () => {
    const { app } = await setup([], { token: 'correct-horse' });
    const page = await request(app, '/docs');
    expect(page.status).toBe(200);
    const html = await page.text();
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-eval|https?:|\*/);
    expect(csp).toContain("frame-ancestors 'none'");
    // Nothing from elsewhere: every script and stylesheet is ours.
    const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(references.length).toBeGreaterThan(2);
    for (const reference of references) expect(reference).toMatch(/^\/docs\/assets\//);

    for (const [file, type] of [
      ['swagger-ui-bundle.js', 'text/javascript'],
      ['swagger-ui.css', 'text/css'],
      ['docs.js', 'text/javascript'],
      ['docs.css', 'text/css'],
    ] as const) {
      const asset = await request(app, `/docs/assets/${file}`);
      expect(asset.status, file).toBe(200);
      expect(asset.headers.get('content-type')).toContain(type);
      const etag = asset.headers.get('etag')!;
      await asset.arrayBuffer();
      expect((await request(app, `/docs/assets/${file}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    }
    expect(Buffer.byteLength(await (await request(app, '/docs/assets/swagger-ui-bundle.js')).text())).toBeGreaterThan(500_000);
    for (const path of ['/docs/assets/package.json', '/docs/assets/..%2Fpackage.json', '/docs/assets/index.html', '/docs/assets/constructor']) {
      expect((await request(app, path)).status, path).toBe(404);
    }
    await expectError(request(app, '/openapi.json'), 401, 'unauthorized');
    expect((await request(app, '/openapi.json', { headers: { authorization: 'Bearer correct-horse' } })).status).toBe(200);
    // Only reads are open.
    await expectError(request(app, '/docs', { method: 'POST' }), 401, 'unauthorized');
  });
});
