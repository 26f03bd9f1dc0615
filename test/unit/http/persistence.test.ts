// One truth for the fleet: POST/DELETE /actors and the start of a disabled server write the
// config file first and change the running fleet only once the write succeeded; a failed write
// answers 503 persistence_failed, a file changed under the service 409 config_conflict, and
// nothing changes either way. Disabled servers are listed, stopped, never started until enabled.
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigStore, nodeFileSystem } from '../../../src/config/store.js';
import type { StoreFileSystem } from '../../../src/config/store.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import { createApp } from '../../../src/http/app.js';
import { fixtureServerPath } from '../../../fixtures/http-fixture.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ConnectionError } from '../../../src/core/errors.js';
import { resolveSettings } from '../../../src/core/settings.js';

const FAST = { healthyIntervalMs: 200, stableIntervalMs: 400, pingTimeoutMs: 1_000, initialBackoffMs: 20, maxBackoffMs: 50 };
const stdio = (extra: Record<string, unknown> = {}) => ({ command: process.execPath, args: [fixtureServerPath, 'stdio'], ...extra });

let dir: string;
let path: string;
const running: Supervisor[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-persistence-'));
  path = join(dir, 'mcp.json');
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((supervisor) => supervisor.stop()));
  await chmod(dir, 0o700).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** Writes `mcpServers` to the config file and starts a service-like stack on it: supervisor, store, app. */
async function service(servers: Record<string, unknown>, fs?: Partial<StoreFileSystem>, file = path) {
  await writeFile(file, `${JSON.stringify({ supervisor: { health: FAST }, mcpServers: servers }, null, 2)}\n`);
  return open(file, fs);
}

/** A second service on a file that is already there. */
async function open(file = path, fs?: Partial<StoreFileSystem>) {
  const text = await readFile(file, 'utf8');
  const supervisor = new Supervisor(parseConfigText(text, file, {}));
  running.push(supervisor);
  const persistence = await ConfigStore.open(file, { baseline: text, env: {}, fs });
  return { supervisor, persistence, app: createApp({ supervisor, persistence }) };
}

const serversInFile = async (file = path): Promise<Record<string, Record<string, unknown>>> =>
  (JSON.parse(await readFile(file, 'utf8')) as { mcpServers: Record<string, Record<string, unknown>> }).mcpServers;

function post(body?: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) };
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

describe('disabled servers', () => {
  it('from the file: listed as stopped with disabled: true, readable, never started; start persists the change, then starts it', async () => {
    const { supervisor, app } = await service({ on: stdio(), off: stdio({ disabled: true, autoApprove: ['echo'] }) });
    expect(supervisor.ids()).toEqual(['on']);
    expect(supervisor.disabledIds()).toEqual(['off']);
    // No actor at all: nothing that could spawn it.
    expect(() => supervisor.connection('off')).toThrow(/no server with id "off"/);

    const { actors } = (await (await app.request('/actors')).json()) as { actors: Array<Record<string, unknown>> };
    // In id order.
    expect(actors.map((actor) => actor.id)).toEqual(['off', 'on']);
    expect(actors[0]).toMatchObject({ id: 'off', state: 'stopped', disabled: true, transport: 'stdio', attempts: 0, lastError: null });
    expect(actors[1]).not.toHaveProperty('disabled');
    expect(supervisor.views().find((view) => view.id === 'off')).toMatchObject({ state: 'stopped', disabled: true });

    const detail = await app.request('/actors/off');
    expect(detail.status).toBe(200);
    expect(await json(detail)).toMatchObject({ id: 'off', state: 'stopped', disabled: true, snapshot: { value: 'stopped' }, history: [] });
    // Commands other than start leave it as it is; a call or probe answers as for any stopped server.
    expect(await json(await app.request('/actors/off/stop', post()))).toEqual({ id: 'off', command: 'stop', state: 'stopped' });
    expect(await json(await app.request('/actors/off/probe', post()))).toMatchObject({ error: { code: 'not_connected', state: 'stopped' } });
    expect((await app.request('/actors/off/tools/echo', post({}))).status).toBe(503);
    expect((await serversInFile()).off).toMatchObject({ disabled: true });

    const started = await app.request('/actors/off/start', post());
    expect(started.status).toBe(202);
    expect((await serversInFile()).off).toEqual({ ...stdio(), autoApprove: ['echo'] });
    expect(supervisor.disabledIds()).toEqual([]);
    await supervisor.ready('off', 10_000);
    expect(supervisor.view('off')).not.toHaveProperty('disabled');
  });

  it('from POST /actors: persisted as given, listed as stopped, never started until start', async () => {
    const { supervisor, app } = await service({});
    const created = await app.request('/actors', post({ id: 'later', ...stdio({ disabled: true }) }));
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({ id: 'later', state: 'stopped', disabled: true });
    expect((await serversInFile()).later).toEqual(stdio({ disabled: true }));
    expect(supervisor.ids()).toEqual([]);
    expect(supervisor.disabledIds()).toEqual(['later']);

    expect((await app.request('/actors/later/start', post())).status).toBe(202);
    await supervisor.ready('later', 10_000);
    expect((await serversInFile()).later).toEqual(stdio());

    const removed = await app.request('/actors/later', { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect(await serversInFile()).toEqual({});
  });
});

describe('durable before acknowledged', () => {
  const erofs = (): Partial<StoreFileSystem> => ({
    rename: async () => {
      throw Object.assign(new Error('EROFS: read-only file system, rename'), { code: 'EROFS' });
    },
  });

  it('a write failure injected through the store: 503 persistence_failed with path and errno, and nothing changed', async () => {
    let failing = false;
    const { supervisor, app } = await service({ kept: stdio(), off: stdio({ disabled: true }) }, {
      rename: (from, to) => (failing ? (erofs().rename as StoreFileSystem['rename'])(from, to) : nodeFileSystem.rename(from, to)),
    });
    await supervisor.ready('kept', 10_000);
    const before = await readFile(path, 'utf8');
    failing = true;

    const created = await app.request('/actors', post({ id: 'new', ...stdio({ env: { API_KEY: 'sk-planted-secret' } }) }));
    expect(created.status).toBe(503);
    const body = await json(created);
    expect(body).toEqual({
      error: { code: 'persistence_failed', message: `cannot write config file ${path}: EROFS: read-only file system, rename`, path, errno: 'EROFS' },
    });
    expect(JSON.stringify(body)).not.toContain('sk-planted-secret');
    expect(supervisor.has('new')).toBe(false);

    const removed = await app.request('/actors/kept', { method: 'DELETE' });
    expect(removed.status).toBe(503);
    expect(await json(removed)).toMatchObject({ error: { code: 'persistence_failed', errno: 'EROFS' } });
    expect(supervisor.state('kept')).toBe('healthy');

    const started = await app.request('/actors/off/start', post());
    expect(started.status).toBe(503);
    expect(supervisor.isDisabled('off')).toBe(true);

    expect(await readFile(path, 'utf8')).toBe(before);
    expect(await readdir(dir)).toEqual(['mcp.json']);
    // The failure does not jam later writes.
    failing = false;
    expect((await app.request('/actors', post({ id: 'new', ...stdio({ disabled: true }) }))).status).toBe(201);
  });

  it('a read-only config file (no write bit, honoured even for root): 503 EACCES, nothing changed', async () => {
    const { supervisor, app } = await service({ kept: stdio({ disabled: true }) });
    await chmod(path, 0o444);
    const before = await readFile(path, 'utf8');
    const created = await app.request('/actors', post({ id: 'new', ...stdio({ disabled: true }) }));
    expect(created.status).toBe(503);
    expect(await json(created)).toMatchObject({ error: { code: 'persistence_failed', path, errno: 'EACCES' } });
    expect((await app.request('/actors/kept', { method: 'DELETE' })).status).toBe(503);
    expect(supervisor.views().map((view) => view.id)).toEqual(['kept']);
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  // Root writes through a directory's permission bits, so this one needs an ordinary user.
  it.skipIf(process.getuid?.() === 0)('a read-only directory: 503 EACCES, nothing changed', async () => {
    const { supervisor, app } = await service({});
    await chmod(dir, 0o500);
    const created = await app.request('/actors', post({ id: 'new', ...stdio({ disabled: true }) }));
    expect(created.status).toBe(503);
    expect(await json(created)).toMatchObject({ error: { code: 'persistence_failed', path, errno: 'EACCES' } });
    expect(supervisor.has('new')).toBe(false);
  });

  it('a file changed on disk since it was loaded: 409 config_conflict, nothing written, nothing changed', async () => {
    const { supervisor, app } = await service({ kept: stdio({ disabled: true }) });
    const edited = `${JSON.stringify({ mcpServers: { kept: stdio({ disabled: true }), byHand: stdio() } }, null, 2)}\n`;
    await writeFile(path, edited);
    const created = await app.request('/actors', post({ id: 'new', ...stdio({ disabled: true }) }));
    expect(created.status).toBe(409);
    const body = await json(created);
    expect(body).toMatchObject({ error: { code: 'config_conflict', path } });
    expect((body.error as { message: string }).message).toMatch(/changed on disk since this service last read or wrote it.*restart the service/);
    expect((await app.request('/actors/kept', { method: 'DELETE' })).status).toBe(409);
    expect((await app.request('/actors/kept/start', post())).status).toBe(409);
    expect(supervisor.views().map((view) => [view.id, view.disabled])).toEqual([['kept', true]]);
    expect(await readFile(path, 'utf8')).toBe(edited);
  });

  it('two services on one file, 50 registrations at once: every acknowledged one is in the file, every refused one got 409', async () => {
    const first = await service({});
    const second = await open();
    const ids = Array.from({ length: 50 }, (_, index) => `server-${index}`);
    const responses = await Promise.all(ids.map((id, index) => (index % 2 === 0 ? first : second).app.request('/actors', post({ id, ...stdio({ disabled: true }) }))));
    const acknowledged = ids.filter((_, index) => responses[index]?.status === 201);
    const refused = responses.filter((response) => response.status !== 201);
    for (const response of refused) {
      expect(response.status).toBe(409);
      expect(await json(response)).toMatchObject({ error: { code: 'config_conflict' } });
    }
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(acknowledged.length + refused.length).toBe(50);
    expect(Object.keys(await serversInFile()).sort()).toEqual([...acknowledged].sort());
    // Each service holds exactly what it acknowledged.
    const held = [...first.supervisor.disabledIds(), ...second.supervisor.disabledIds()];
    expect(held.sort()).toEqual([...acknowledged].sort());
  });
});

describe('ids', () => {
  const tricky = ['__proto__', 'constructor', 'toString'];

  it('__proto__, constructor and toString from the file are listed, read and deleted through app.request(), then registered again (disabled)', async () => {
    await writeFile(path, `{"supervisor": ${JSON.stringify({ health: FAST })}, "mcpServers": {"__proto__": ${JSON.stringify(stdio())}, "constructor": ${JSON.stringify(stdio())}, "toString": ${JSON.stringify(stdio())}}}\n`);
    const { supervisor, app } = await open();
    await Promise.all(tricky.map((id) => supervisor.ready(id, 10_000)));
    const { actors } = (await (await app.request('/actors')).json()) as { actors: Array<{ id: string; state: string }> };
    expect(actors.map((actor) => [actor.id, actor.state])).toEqual(tricky.map((id) => [id, 'healthy']));
    const health = (await (await app.request('/health')).json()) as { servers: Record<string, unknown> };
    expect(Object.keys(health.servers)).toEqual(tricky);

    for (const id of tricky) {
      const read = await app.request(`/actors/${id}`);
      expect(read.status, id).toBe(200);
      expect(await json(read)).toMatchObject({ id, state: 'healthy' });
      const removed = await app.request(`/actors/${id}`, { method: 'DELETE' });
      expect(removed.status, id).toBe(200);
      expect((await app.request(`/actors/${id}`)).status, id).toBe(404);
    }
    expect(await serversInFile()).toEqual({});

    for (const id of tricky) {
      const created = await app.request('/actors', post({ id, ...stdio({ disabled: true }) }));
      expect(created.status, id).toBe(201);
      expect(await json(created)).toMatchObject({ id, state: 'stopped', disabled: true });
      expect((await app.request(`/actors/${id}`)).status, id).toBe(200);
    }
    expect(Object.keys(await serversInFile())).toEqual(tricky);
    for (const id of tricky) expect((await app.request(`/actors/${id}`, { method: 'DELETE' })).status, id).toBe(200);
    expect(await serversInFile()).toEqual({});
  });

  // src/machines/supervisor.machine.ts tests `id in context.servers`, which is true for every
  // name on Object.prototype, so its server.add drops these ids (reported to the lead: it needs
  // Object.hasOwn there). Until then the route takes the server back out of the file. Remove
  // `.fails` when the machine is fixed.
  it('__proto__, constructor and toString are registered (started) and deleted through POST/DELETE /actors', async () => {
    const { supervisor, app } = await service({});
    for (const id of tricky) {
      const created = await app.request('/actors', post({ id, ...stdio() }));
      expect(created.status, id).toBe(201);
      await supervisor.ready(id, 10_000);
      expect(await json(await app.request(`/actors/${id}`))).toMatchObject({ id, state: 'healthy' });
      expect((await app.request(`/actors/${id}`, { method: 'DELETE' })).status, id).toBe(200);
    }
  });

  it('a refused registration is taken back out of the file', async () => {
    const { supervisor, app } = await service({});
    const response = await app.request('/actors', post({ id: 'constructor', ...stdio() }));
    // Once the machine takes these ids there is nothing to take back.
    if (response.status === 201) return;
    expect(response.status).toBe(500);
    expect(supervisor.has('constructor')).toBe(false);
    expect(await serversInFile()).toEqual({});
  });

  it('"." and ".." are refused as POST ids and as route parameters, like any id outside the charset', async () => {
    const { app } = await service({});
    for (const id of ['.', '..', 'a b', 'x'.repeat(129)]) {
      const response = await app.request('/actors', post({ id, ...stdio({ disabled: true }) }));
      expect(response.status, id).toBe(400);
      expect(await json(response)).toMatchObject({ error: { code: 'invalid_config', issues: [{ path: 'id' }] } });
    }
    expect(await serversInFile()).toEqual({});
    // URLs resolve "." and ".." (even %2E%2E) away before any route sees them: such an id could
    // never be read or deleted, which is why registration refuses it. Other bad ids reach the route.
    expect((await app.request(`/actors/${'x'.repeat(129)}`)).status).toBe(400);
    expect(await json(await app.request('/actors/a%20b/stop', post()))).toMatchObject({ error: { code: 'invalid_request' } });
  });
});

describe("a server's timeout", () => {
  it('is the deadline of calls through supervisor.callTool that set none; an explicit one wins', async () => {
    const server = (): McpServer => {
      const mcp = new McpServer({ name: 'slow', version: '1.0.0' });
      mcp.registerTool('wait', {}, async (extra) => {
        await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve(), { once: true }));
        return { content: [] };
      });
      return mcp;
    };
    const definition = (id: string, callTimeoutMs: number) => ({
      id,
      target: { type: 'memory' as const, createServer: server },
      priority: 0,
      dependsOn: [],
      required: true,
      disabled: false,
      settings: resolveSettings(FAST),
      callTimeoutMs,
    });
    const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [definition('short', 100), definition('long', 600_000)] });
    running.push(supervisor);
    await Promise.all([supervisor.ready('short'), supervisor.ready('long')]);
    // Without the server's timeout this call would wait out the SDK's 60 s default (past the test's deadline).
    const started = performance.now();
    const error = await supervisor.callTool('short', 'wait').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).kind).toBe('timeout');
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    // An explicit deadline wins over the server's ten minutes.
    const explicit = await supervisor.callTool('long', 'wait', {}, { timeoutMs: 50 }).catch((caught: unknown) => caught);
    expect((explicit as ConnectionError).kind).toBe('timeout');
  });
});
