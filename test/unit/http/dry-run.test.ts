// POST /actors?dryRun=1 (the dashboard's create form validates with it as the user types): the
// same checks as a registration, the same answers for a bad entry, and nothing else: no process,
// no write to the config file, no change to the fleet, no event.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { HEALTH_KEYS } from '../../../src/config/schema.js';
import { ConfigStore } from '../../../src/config/store.js';
import type { FleetEvent } from '../../../src/fleet/events.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import { createApp } from '../../../src/http/app.js';
import type { ClusterInfo } from '../../../src/http/deps.js';
import { fixtureServerPath } from '../../../fixtures/http-fixture.js';
import { descendantPids } from '../../support/processes.js';
import { waitUntil } from '../../support/wait.js';

const FAST = { healthyIntervalMs: 200, stableIntervalMs: 400, pingTimeoutMs: 1_000, initialBackoffMs: 20, maxBackoffMs: 50 };
const stdio = (extra: Record<string, unknown> = {}) => ({ command: process.execPath, args: [fixtureServerPath, 'stdio'], ...extra });

let dir: string;
let path: string;
const running: Supervisor[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-dry-run-'));
  path = join(dir, 'mcp.json');
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((supervisor) => supervisor.stop()));
  await rm(dir, { recursive: true, force: true });
});

/** A service-like stack (supervisor, config store, app) on a config file with these servers. */
async function service(servers: Record<string, unknown>) {
  const text = `${JSON.stringify({ supervisor: { health: FAST }, mcpServers: servers }, null, 2)}\n`;
  await writeFile(path, text);
  const supervisor = new Supervisor(parseConfigText(text, path, {}));
  running.push(supervisor);
  const events: FleetEvent[] = [];
  supervisor.subscribe((event) => void events.push(event));
  const persistence = await ConfigStore.open(path, { baseline: text, env: {} });
  return { supervisor, events, app: createApp({ supervisor, persistence }) };
}

function post(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

async function answer(response: Response): Promise<{ status: number; body: unknown }> {
  return { status: response.status, body: await response.json() };
}

describe('POST /actors?dryRun=1', () => {
  it('answers 200 { valid: true } for an entry a registration accepts, and spawns, writes and registers nothing', async () => {
    const { supervisor, events, app } = await service({ a: stdio() });
    await supervisor.ready('a');
    const before = await readFile(path, 'utf8');
    const pidsBefore = descendantPids();
    const body = { id: 'added', ...stdio({ env: { API_KEY: 'sk-typed-in-the-form' }, priority: 2, dependsOn: ['a'], health: { pingTimeoutMs: 800 } }) };

    for (const query of ['?dryRun=1', '?dryRun=true']) {
      const dry = await app.request(`/actors${query}`, post(body));
      expect(await answer(dry)).toEqual({ status: 200, body: { valid: true } });
    }
    expect(supervisor.ids()).toEqual(['a']);
    expect(supervisor.has('added')).toBe(false);
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(events.filter((event) => event.type === 'server.added')).toEqual([]);
    // No process started for it: the only child is still `a`'s server.
    expect(descendantPids()).toEqual(pidsBefore);
    expect((await app.request('/actors/added')).status).toBe(404);

    // The same body without dryRun does all of that: the checks above can fail.
    const created = await app.request('/actors', post(body));
    expect(created.status).toBe(201);
    expect(supervisor.has('added')).toBe(true);
    expect(JSON.parse(await readFile(path, 'utf8')).mcpServers.added).toMatchObject({ priority: 2, env: { API_KEY: 'sk-typed-in-the-form' } });
    await waitUntil(() => descendantPids().length > pidsBefore.length || undefined, 10_000, () => 'the registered server never started');
    expect(events.filter((event) => event.type === 'server.added').map((event) => event.id)).toEqual(['added']);

    // dryRun=0 and =false are a real registration too.
    expect((await app.request('/actors?dryRun=0', post({ ...body, id: 'third' }))).status).toBe(201);
    expect(supervisor.has('third')).toBe(true);
  });

  it('answers a bad entry exactly as the registration does: 400 invalid_config, every issue by path', async () => {
    const { supervisor, app } = await service({ a: stdio(), off: stdio({ disabled: true }) });
    const before = await readFile(path, 'utf8');
    const bodies: unknown[] = [
      { id: 'x', command: '', priority: 'abc' },
      { id: 'x', ...stdio({ health: { pingTimeoutMs: -1, zombieAfter: 0, noSuchKey: 1 }, dependsOn: ['ghost'] }) },
      { id: 'x', ...stdio({ dependsOn: ['ghost', 'a'] }) },
      { id: 'bad id!', type: 'streamable-http', url: 'ftp://nope' },
      { id: 'x', type: 'sse', url: '', headers: { Authorization: 7 } },
      { id: 'x', type: 'websocket', url: 'http://127.0.0.1:1/mcp' },
      { id: 'x', ...stdio({ comand: 'typo' }) },
      { command: 'no id' },
      { id: 'a', ...stdio() },
      { id: 'off', ...stdio() },
    ];
    for (const body of bodies) {
      const dry = await answer(await app.request('/actors?dryRun=1', post(body)));
      const real = await answer(await app.request('/actors', post(body)));
      expect(dry, JSON.stringify(body)).toEqual(real);
      expect(dry.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
    }
    // The issues a form needs: each at its field.
    const issues = async (body: unknown) =>
      ((await (await app.request('/actors?dryRun=1', post(body))).json()) as { error: { code: string; issues: Array<{ path: string; message: string }> } }).error;
    const empty = await issues(bodies[0]);
    expect(empty.code).toBe('invalid_config');
    expect(empty.issues.map((issue) => issue.path).sort()).toEqual(['command', 'priority']);
    expect(empty.issues.find((issue) => issue.path === 'command')?.message).toMatch(/must not be empty/);
    expect((await issues(bodies[1])).issues.map((issue) => issue.path).sort()).toEqual(['health.noSuchKey', 'health.pingTimeoutMs', 'health.zombieAfter']);
    expect((await issues(bodies[2])).issues).toEqual([{ path: 'dependsOn.0', message: 'unknown server "ghost"' }]);
    expect((await issues({ id: 'a', ...stdio() })).code).toBe('conflict');
    expect((await issues({ id: 'off', ...stdio() })).code).toBe('conflict'); // a disabled server holds its id
    // A header value is never echoed back in an issue.
    const header = await app.request('/actors?dryRun=1', post({ id: 'x', url: 'http://127.0.0.1:1/mcp', headers: { Authorization: ['Bearer sk-never-echoed'] } }));
    expect(header.status).toBe(400);
    expect(await header.text()).not.toContain('sk-never-echoed');

    expect(supervisor.ids().sort()).toEqual(['a']);
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('answers 409 limit_reached as the registration does when the fleet is full', async () => {
    // One server (disabled: nothing runs) in a fleet of at most one.
    const supervisor = new Supervisor(parseConfigText(JSON.stringify({ mcpServers: { off: stdio({ disabled: true }) } }), path, {}));
    running.push(supervisor);
    const app = createApp({ supervisor, limits: { maxServers: 1 } });
    const dry = await answer(await app.request('/actors?dryRun=1', post({ id: 'x', ...stdio() })));
    expect(dry).toMatchObject({ status: 409, body: { error: { code: 'limit_reached' } } });
    expect(dry).toEqual(await answer(await app.request('/actors', post({ id: 'x', ...stdio() }))));
  });

  it('400 invalid_request for a dryRun that is not a flag', async () => {
    const { app } = await service({});
    const response = await app.request('/actors?dryRun=yes', post({ id: 'x', ...stdio() }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_request', issues: [{ path: 'dryRun' }] } });
  });

  it('in cluster mode writes nothing to the registry, and finds a taken id there', async () => {
    const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [] });
    running.push(supervisor);
    const registered: string[] = [];
    const cluster = {
      instance: 'one',
      status: 'connected',
      fleetIds: () => ['remote'],
      fleetStateOf: () => undefined,
      fleetViewsOf: () => [],
      ownerUrlOf: () => undefined,
      register: async (id: string) => Boolean(registered.push(id)),
      deregister: async () => false,
      isRegistered: (id: string) => id === 'elsewhere',
      subscribeRemote: () => () => undefined,
    } as unknown as ClusterInfo;
    const app = createApp({ supervisor, cluster });
    expect(await answer(await app.request('/actors?dryRun=1', post({ id: 'new', ...stdio() })))).toEqual({ status: 200, body: { valid: true } });
    for (const id of ['remote', 'elsewhere']) {
      expect((await answer(await app.request('/actors?dryRun=1', post({ id, ...stdio() })))).body).toMatchObject({ error: { code: 'conflict' } });
    }
    expect(registered).toEqual([]);
    expect(supervisor.ids()).toEqual([]);
  });

  it('is described in the OpenAPI document', async () => {
    const { app } = await service({});
    const document = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, { post: { description: string; parameters: Array<{ name: string; in: string }>; responses: Record<string, unknown> } }>;
    };
    const register = document.paths['/actors']!.post;
    expect(register.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'dryRun', in: 'query' })]));
    expect(Object.keys(register.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '409']));
    expect(register.description).toMatch(/dryRun=1/);
  });
});

describe('the create form', () => {
  it('offers exactly the health keys of the config schema', async () => {
    const script = await readFile(new URL('../../../src/http/dashboard/create-form.js', import.meta.url), 'utf8');
    const listed = /const HEALTH_KEYS = \[([^\]]*)\]/.exec(script)?.[1];
    expect(listed, 'create-form.js declares HEALTH_KEYS').toBeDefined();
    const keys = [...listed!.matchAll(/'([A-Za-z]+)'/g)].map((match) => match[1]);
    expect(keys).toEqual(HEALTH_KEYS);
  });
});
