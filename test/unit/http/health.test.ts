// GET /health on a real supervisor of in-process (memory) servers.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import type { ServerDefinition } from '../../../src/config/load.js';
import { createApp } from '../../../src/http/app.js';
import type { App } from '../../../src/http/app.js';
import type { Health } from '../../../src/http/routes/health.js';
import { resolveSettings } from '../../../src/core/settings.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';

const running = new Set<Supervisor>();

afterEach(async () => {
  await Promise.all([...running].map((supervisor) => supervisor.stop()));
  running.clear();
});

function server(id: string, required = true): ServerDefinition {
  return {
    id,
    target: { type: 'memory', createServer: () => new McpServer({ name: 'in-process', version: '1.0.0' }) },
    priority: 0,
    dependsOn: [],
    required,
    disabled: false,
    settings: resolveSettings({ initialBackoffMs: 20, maxBackoffMs: 100 }),
  };
}

async function fleet(servers: ServerDefinition[], token?: string): Promise<{ supervisor: Supervisor; app: App }> {
  const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers });
  running.add(supervisor);
  const app = createApp({ supervisor, token });
  await Promise.all(servers.map((definition) => supervisor.ready(definition.id)));
  return { supervisor, app };
}

async function stop(supervisor: Supervisor, id: string): Promise<void> {
  supervisor.command(id, 'stop');
  await waitFor(supervisor.connection(id), (snapshot) => snapshot.matches('stopped'), { timeout: 5_000 });
}

async function health(app: App, headers?: Record<string, string>): Promise<{ status: number; body: Health }> {
  const response = await app.request('/health', { headers });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: response.status, body: (await response.json()) as Health };
}

describe('GET /health', () => {
  it('is 200 with every server listed when all are healthy', async () => {
    const { app } = await fleet([server('files'), server('search', false)]);
    const { status, body } = await health(app);
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(Object.keys(body.servers).sort()).toEqual(['files', 'search']);
    expect(body.servers.files).toEqual({
      state: 'healthy',
      required: true,
      errorCount: expect.any(Number),
      lastError: null,
      lastProbeAt: null,
    });
    expect(body.servers.search).toMatchObject({ state: 'healthy', required: false });
  });

  it('is 503 when a required server is stopped, and 200 again once it is back', async () => {
    const { supervisor, app } = await fleet([server('files'), server('search')]);
    await stop(supervisor, 'files');
    const down = await health(app);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('unavailable');
    expect(down.body.servers.files).toMatchObject({ state: 'stopped', required: true });
    expect(down.body.servers.search).toMatchObject({ state: 'healthy' });

    supervisor.command('files', 'start');
    await supervisor.ready('files');
    expect((await health(app)).status).toBe(200);
  });

  it('is 503 when a required server has failed, with its error kind but not its message', async () => {
    const broken: ServerDefinition = {
      ...server('broken'),
      // Gives up after the first attempt: `failed`. The message stands for one carrying a secret.
      target: { type: 'memory', createServer: () => Promise.reject(new Error('cannot start: password=hunter2')) },
      settings: resolveSettings({ maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 10 }),
    };
    const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [server('files'), broken] });
    running.add(supervisor);
    const app = createApp({ supervisor });
    await supervisor.ready('files');
    await waitFor(supervisor.connection('broken'), (snapshot) => snapshot.matches('failed'), { timeout: 10_000 });
    const { status, body } = await health(app);
    expect(status).toBe(503);
    expect(body.servers.broken).toMatchObject({ state: 'failed', required: true, lastError: { kind: expect.any(String), at: expect.any(Number) } });
    expect(body.servers.broken!.lastError).not.toHaveProperty('message');
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(body.servers.broken!.errorCount).toBeGreaterThan(0);
  });

  it('shows error messages only with the configured token', async () => {
    const broken: ServerDefinition = {
      ...server('broken'),
      target: { type: 'memory', createServer: () => Promise.reject(new Error('cannot start: password=hunter2')) },
      settings: resolveSettings({ maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 10 }),
    };
    const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [broken] });
    running.add(supervisor);
    const app = createApp({ supervisor, token: 'correct-horse' });
    await waitFor(supervisor.connection('broken'), (snapshot) => snapshot.matches('failed'), { timeout: 10_000 });
    for (const headers of [undefined, { authorization: 'Bearer wrong' }, { authorization: 'Basic Y29ycmVjdC1ob3JzZQ==' }]) {
      const { status, body } = await health(app, headers);
      expect(status).toBe(503);
      expect(body.servers.broken!.lastError).not.toHaveProperty('message');
      expect(JSON.stringify(body)).not.toContain('hunter2');
    }
    const { body } = await health(app, { authorization: 'Bearer correct-horse' });
    expect(body.servers.broken!.lastError).toMatchObject({ message: expect.stringContaining('hunter2') });
  });

  it('leaves servers with required: false out of the verdict', async () => {
    const { supervisor, app } = await fleet([server('files'), server('optional', false)]);
    await stop(supervisor, 'optional');
    const { status, body } = await health(app);
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.servers.optional).toMatchObject({ state: 'stopped', required: false });
  });

  it('records probes', async () => {
    const { supervisor, app } = await fleet([server('files')]);
    const probe = await supervisor.probe('files');
    const { body } = await health(app);
    expect(body.servers.files!.lastProbeAt).toBe(probe.at);
  });

  it('needs no token when one is configured, while every other route does', async () => {
    const { app } = await fleet([server('files')], 'sekrit-token');
    const open = await health(app);
    expect(open.status).toBe(200);
    expect(JSON.stringify(open.body)).not.toContain('sekrit-token');
    for (const path of ['/actors', '/metrics', '/events', '/openapi.json']) {
      expect((await app.request(path)).status, path).toBe(401);
    }
    const authorized = await app.request('/actors', { headers: { authorization: 'Bearer sekrit-token' } });
    expect(authorized.status).toBe(200);
  });

  it('is described in the OpenAPI document', async () => {
    const { app } = await fleet([server('files')]);
    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(Object.keys(doc.paths['/health']!.get!.responses).sort()).toEqual(['200', '503']);
    expect(doc.paths['/metrics']!.get!.responses['200']).toMatchObject({ content: { 'text/plain': {} } });
    expect(doc.paths['/events']!.get!.responses['200']).toMatchObject({ content: { 'text/event-stream': {} } });
  });
});
